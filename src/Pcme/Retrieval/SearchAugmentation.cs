using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>
/// The exact vector-search form of a separable scorer (shared/DESIGN.md §2): per-item vectors x_q, x_g such
/// that ranking a query's gallery by the engine's metric m(x_q, x_g) is ranking it by the scorer — no
/// approximation in the scoring function, only in the engine's search. Derivations (sigma^2 = v, per dimension, summed):
/// <list type="bullet">
/// <item>cosine: x = mu/|mu|, metric 1 - cos.</item>
/// <item>l2: x = mu, metric ||x_q - x_g||^2 = -score.</item>
/// <item>csd: x_q = [mu_q, 0], x_g = [mu_g, sqrt(sum v_g)]: ||x_q - x_g||^2 = ||mu_q - mu_g||^2 + sum v_g
///   = CSD - sum v_q, and sum v_q is the same for every gallery item.</item>
/// <item>wasserstein: x = [mu, sigma], metric ||x_q - x_g||^2 = W2^2 exactly.</item>
/// <item>kl, reverse-kl, js: no Euclidean form of their own; score = F_q . F_g + b_q + b_g (<see cref="SeparableScorer.SideFeatures"/>),
///   so x_q = [F_q, 1], x_g = [F_g, b_g] and x_q . x_g = score - b_q (width 2D + 1; 4D + 1 for js), served as Euclidean
///   search by one more column (<see cref="Gallery"/>): width 2D + 2 (4D + 2 for js).</item>
/// </list>
/// Every scorer also has the inner-product form (<see cref="InnerProductVectors"/>), which any inner-product engine
/// (FAISS, Qdrant, Milvus) can serve unchanged.
/// </summary>
public sealed class SearchAugmentation
{
    /// <summary>The scorers with an exact search form (the separable closed forms; <c>matmul</c> is separable but random).</summary>
    public static readonly IReadOnlyList<string> Names = ["cosine", "l2", "csd", "wasserstein", "kl", "reverse-kl", "js"];

    SearchAugmentation(string scorer, IndexMetric metric, int extra, int blocks) { ScorerName = scorer; Metric = metric; extraColumns = extra; this.blocks = blocks; }
    readonly int extraColumns, blocks;

    /// <summary>The scorer this form reproduces.</summary>
    public string ScorerName { get; }
    /// <summary>The engine metric the vectors are compared with.</summary>
    public IndexMetric Metric { get; }
    /// <summary>Width of the search vectors at embedding dimension <paramref name="dim"/>.</summary>
    public int Width(long dim) => (int)(blocks * dim + extraColumns);
    /// <summary>The scorer itself (for exact re-scoring of candidates).</summary>
    public Scorer CreateScorer() => Scorer.Create(ScorerName);

    /// <summary>The form of <paramref name="scorer"/>; an <see cref="ArgumentException"/> names the scorers that have one.</summary>
    public static SearchAugmentation For(string scorer) => scorer switch
    {
        "cosine" => new(scorer, IndexMetric.Cosine, 0, 1),
        "l2" => new(scorer, IndexMetric.SquaredL2, 0, 1),
        "csd" => new(scorer, IndexMetric.SquaredL2, 1, 1),
        "wasserstein" => new(scorer, IndexMetric.SquaredL2, 0, 2),
        "kl" or "reverse-kl" => new(scorer, IndexMetric.SquaredL2, 2, 2),
        "js" => new(scorer, IndexMetric.SquaredL2, 2, 4),
        _ => throw new ArgumentException($"Scorer '{scorer}' has no exact search form (it does not separate over items); index with one of " +
            $"{string.Join(", ", Names)} and re-rank its candidates with '{scorer}'."),
    };

    /// <summary>
    /// The gallery's search vectors as the engine stores them, [N, Width] float64 on the CPU, and the per-column
    /// scales applied to them (<see cref="Queries"/> needs them). Scaling keeps every ranking: one scale for all
    /// columns of the Euclidean and cosine forms (distances scale by its square); for the inner-product forms a
    /// scale per column, undone on the query side (x_q,j / s_j times x_g,j s_j is the same product), chosen so every
    /// column spans [-1, 1] (8-bit storage maps [-1, 1] onto [-127, 127]; 16-bit floats overflow past 65,504 —
    /// 1/sigma^2 of a sigma of 1e-3 is 1e6). The inner-product forms are then served as Euclidean search
    /// (Bachrach et al. 2014): rows divided by the largest row norm M and completed with sqrt(1 - |x_g|^2 / M^2), so every
    /// gallery vector has norm 1 and ||x_q - x_g||^2 = |x_q|^2 + 1 - 2 x_q . x_g ranks like the inner product —
    /// a metric, which HNSW's graph needs (it ranked KL's raw inner products wrongly even when searching every node).
    /// </summary>
    public (Tensor Vectors, Tensor Scale) Gallery(GaussianEmbedding gallery)
    {
        using var scope = NewDisposeScope();
        var raw = Vectors(gallery, query: false);
        int width = Width(gallery.Dimension);
        if (raw.shape[0] == 0)
            return (zeros([0, width], float64).MoveToOuterDisposeScope(), ones(width, float64).MoveToOuterDisposeScope());
        var colMax = raw.abs().amax([0]);
        Tensor scale, vectors;
        if (ScorerName == "cosine") { scale = ones(width, float64); vectors = raw; }
        else if (!InnerProductForm)
        {
            double m = colMax.max().item<double>();
            scale = full(width, m > 0 ? 1 / m : 1.0, float64);
            vectors = raw.mul(scale.unsqueeze(0));
        }
        else
        {
            var perColumn = colMax.where(colMax.gt(0), ones_like(colMax)).reciprocal();
            var x = raw.mul(perColumn.unsqueeze(0));
            var norms = linalg.vector_norm(x, dims: [1]);
            double radius = Math.Max(norms.max().item<double>(), double.Epsilon);
            x.div_(radius);
            var completion = norms.div(radius).pow_(2).neg_().add_(1).clamp_min_(0).sqrt_().unsqueeze(1);
            vectors = cat([x, completion], 1);
            scale = cat([perColumn.div(radius), ones(1, float64)]);
        }
        return (vectors.MoveToOuterDisposeScope(), scale.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The queries' search vectors, [Q, Width] float64 on the CPU, with the gallery's <paramref name="scale"/> applied
    /// (the same scale for Euclidean forms; its inverse per column for inner-product forms, each query then divided
    /// by its largest magnitude — a positive factor that keeps its ranking — and completed with 0).
    /// </summary>
    public Tensor Queries(GaussianEmbedding queries, Tensor scale)
    {
        using var scope = NewDisposeScope();
        var raw = Vectors(queries, query: true);
        if (!InnerProductForm) return raw.mul(scale.unsqueeze(0)).MoveToOuterDisposeScope();
        var q = raw.div(scale.narrow(0, 0, raw.shape[1]).unsqueeze(0));
        var m = q.abs().amax([1], keepdim: true);
        q.div_(m.where(m.gt(0), ones_like(m)));
        return cat([q, zeros([q.shape[0], 1], float64)], 1).MoveToOuterDisposeScope();
    }

    bool InnerProductForm => ScorerName is "kl" or "reverse-kl" or "js";

    Tensor Vectors(GaussianEmbedding e, bool query)
    {
        using var scope = NewDisposeScope();
        var x = e.To(CPU, float64);
        var set = ScoringSet.From(x);
        Tensor result = ScorerName switch
        {
            "cosine" => nn.functional.normalize(x.Mean, dim: 1),
            "l2" => x.Mean.clone(),
            "csd" => cat([x.Mean, query ? zeros([x.Count, 1], float64) : set.Variance.sum(1, keepdim: true).sqrt_()], 1),
            "wasserstein" => cat([x.Mean, set.Sigma], 1),
            _ => InnerProductSide((SeparableScorer)CreateScorer(), set, query),
        };
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The inner-product form of any separable scorer: [F_q, 1] for queries and [F_g, b_g] for the gallery, so
    /// x_q . x_g = score(q, g) - b_q, where b_q does not depend on the gallery item. float64 on the CPU.
    /// </summary>
    public static (Tensor Queries, Tensor Gallery) InnerProductVectors(SeparableScorer scorer, GaussianEmbedding queries, GaussianEmbedding gallery)
    {
        using var scope = NewDisposeScope();
        var q = InnerProductSide(scorer, ScoringSet.From(queries.To(CPU, float64)), query: true);
        var g = InnerProductSide(scorer, ScoringSet.From(gallery.To(CPU, float64)), query: false);
        return (q.MoveToOuterDisposeScope(), g.MoveToOuterDisposeScope());
    }

    static Tensor InnerProductSide(SeparableScorer scorer, ScoringSet set, bool query)
    {
        var f = scorer.SideFeatures(set, query);
        return cat([f.Features, query ? ones([set.Count, 1], float64) : f.Bias.unsqueeze(1)], 1);
    }
}
