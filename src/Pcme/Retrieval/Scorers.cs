using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>
/// One side of a retrieval problem, with the per-item quantities scorers reuse computed once:
/// mu, h, sigma^2, sigma, (for sampling scorers) J samples per item and (once a scorer has prepared
/// the side) that scorer's per-item features.
/// </summary>
public sealed record ScoringSet(Tensor Mean, Tensor LogVariance, Tensor Variance, Tensor Sigma, Tensor? Samples, ItemFeatures? Features = null)
{
    /// <summary>Number of items.</summary>
    public long Count => Mean.shape[0];

    /// <summary>Rows [start, start + length).</summary>
    public ScoringSet Slice(long start, long length) => new(
        Mean.narrow(0, start, length), LogVariance.narrow(0, start, length), Variance.narrow(0, start, length),
        Sigma.narrow(0, start, length), Samples?.narrow(0, start, length), Features?.Slice(start, length));

    /// <summary>Builds the set; draws <paramref name="samples"/> per item from <paramref name="generator"/> when J > 0.</summary>
    public static ScoringSet From(GaussianEmbedding e, int samples = 0, Generator? generator = null) =>
        new(e.Mean, e.LogVariance, e.LogVariance.exp(), e.LogVariance.mul(0.5).exp_(), samples > 0 ? e.Sample(samples, generator) : null);
}

/// <summary>
/// Per-item features of a scorer that separates over items: score(q, g) = F_q . F_g + b_q + b_g.
/// Computed once per side (<see cref="Scorer.PrepareQueries"/>), so every tile is one GEMM.
/// </summary>
/// <param name="Features">F, [N, F].</param>
/// <param name="Bias">b, [N].</param>
/// <param name="Owner">The scorer that made them; another scorer recomputes its own.</param>
/// <param name="QuerySide">Whether these are the query side's features (separable scorers need not be symmetric).</param>
public sealed record ItemFeatures(Tensor Features, Tensor Bias, Scorer Owner, bool QuerySide)
{
    /// <summary>Rows [start, start + length).</summary>
    public ItemFeatures Slice(long start, long length) => this with { Features = Features.narrow(0, start, length), Bias = Bias.narrow(0, start, length) };
}

/// <summary>
/// A test-time variant (paper Sec. 3.2.3; shared/DESIGN.md §2): scores every query of a block against
/// every gallery item of a block, [Q_b, G_b], higher = better match. Closed forms that separate over
/// items are one GEMM over concatenated per-item features (<see cref="SeparableScorer"/>); ELK and
/// Bhattacharyya do not separate (<see cref="DenominatorPairSums"/>).
/// </summary>
public abstract class Scorer
{
    /// <summary>The name used on the command line and in reports.</summary>
    public abstract string Name { get; }
    /// <summary>Samples per item this scorer needs (0 for closed forms).</summary>
    public virtual int Samples => 0;
    /// <summary>
    /// Whether score(a, b) = score(b, a) (given the same samples), so the other retrieval direction is the
    /// transpose; false for the KL divergences.
    /// </summary>
    public virtual bool IsSymmetric => true;
    /// <summary>Approximate bytes of temporaries per (query, gallery) pair at dimension <paramref name="dim"/>, for choosing block sizes.</summary>
    public virtual long BytesPerPair(long dim) => 16;
    /// <summary>Scores a query block against a gallery block.</summary>
    public abstract Tensor Score(ScoringSet queries, ScoringSet gallery);
    /// <summary>Per-side work done once before tiling (the retrieval engine calls it); by default nothing.</summary>
    public virtual ScoringSet PrepareQueries(ScoringSet queries) => queries;
    /// <summary>Per-side work done once before tiling (the retrieval engine calls it); by default nothing.</summary>
    public virtual ScoringSet PrepareGallery(ScoringSet gallery) => gallery;

    /// <summary>
    /// The names of every scorer <see cref="Create"/> knows. The <c>official-*</c> ones reproduce the official
    /// code's CUB evaluation exactly where it differs from the correct form (<see cref="OfficialKlScorer"/>,
    /// <see cref="OfficialCoordinateExtremeScorer"/>); the official code's other variants are the kit's own names.
    /// </summary>
    public static readonly IReadOnlyList<string> Names =
        ["cosine", "l2", "mc", "matmul", "elk", "wasserstein", "kl", "reverse-kl", "js", "bhattacharyya", "csd",
         "official-kl", "official-reverse-kl", "official-min", "official-max", "max-cosine"];

    /// <summary>
    /// Creates a scorer by name. <paramref name="samples"/> is J for <c>mc</c>/<c>matmul</c>;
    /// <paramref name="negativeScale"/> and <paramref name="shift"/> are the trained (a, b) for <c>mc</c>;
    /// <paramref name="embeddingsPerItem"/> is K for <c>max-cosine</c> (PVSE's K embeddings per item).
    /// </summary>
    public static Scorer Create(string name, int samples = 7, double negativeScale = 10, double shift = 10, int embeddingsPerItem = 1) => name switch
    {
        "max-cosine" => new MaxCosineScorer(embeddingsPerItem),
        "cosine" => new CosineScorer(),
        "l2" => new NegativeSquaredL2Scorer(),
        "mc" => new MonteCarloMatchScorer(samples, negativeScale, shift),
        "matmul" => new SampleMatmulScorer(samples),
        "elk" => new ElkScorer(),
        "wasserstein" => new WassersteinScorer(),
        "kl" => new KlScorer(reverse: false),
        "reverse-kl" => new KlScorer(reverse: true),
        "js" => new SymmetricKlScorer(),
        "bhattacharyya" => new BhattacharyyaScorer(),
        "csd" => new CsdScorer(),
        "official-kl" => new OfficialKlScorer(reverse: false),
        "official-reverse-kl" => new OfficialKlScorer(reverse: true),
        "official-min" => new OfficialCoordinateExtremeScorer(largest: false),
        "official-max" => new OfficialCoordinateExtremeScorer(largest: true),
        _ => throw new ArgumentException($"Unknown scorer '{name}'. Choose one of: {string.Join(", ", Names)}, all."),
    };
}

/// <summary>
/// A scorer of the form score(q, g) = F_q . F_g + b_q + b_g: per-item features computed once per side,
/// then one GEMM per tile — the GEMM the closed forms are measured against.
/// </summary>
public abstract class SeparableScorer : Scorer
{
    /// <summary>(F_q, b_q) for every query.</summary>
    protected abstract (Tensor Features, Tensor Bias) QuerySide(ScoringSet queries);
    /// <summary>(F_g, b_g) for every gallery item.</summary>
    protected abstract (Tensor Features, Tensor Bias) GallerySide(ScoringSet gallery);
    /// <summary>An upper bound the exact score cannot exceed (0 for negated squared distances), applied against rounding.</summary>
    protected virtual double? UpperBound => null;

    /// <inheritdoc />
    public override long BytesPerPair(long dim) => 8;
    /// <inheritdoc />
    public override ScoringSet PrepareQueries(ScoringSet queries) => queries with { Features = Features(queries, query: true) };
    /// <inheritdoc />
    public override ScoringSet PrepareGallery(ScoringSet gallery) => gallery with { Features = Features(gallery, query: false) };

    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g)
    {
        var fq = Features(q, query: true); var fg = Features(g, query: false);
        var scores = fq.Features.matmul(fg.Features.t()).add_(fq.Bias.unsqueeze(1)).add_(fg.Bias.unsqueeze(0));
        return UpperBound is { } bound ? scores.clamp_max(bound) : scores;
    }

    /// <summary>
    /// (F, b) of one side's items: score(q, g) = F_q . F_g + b_q + b_g. <see cref="SearchAugmentation"/> turns
    /// them into inner-product search vectors ([F_q, 1] against [F_g, b_g]; b_q does not change a query's ranking).
    /// </summary>
    public ItemFeatures SideFeatures(ScoringSet set, bool querySide) => Features(set, querySide);

    ItemFeatures Features(ScoringSet s, bool query)
    {
        if (s.Features is { } f && ReferenceEquals(f.Owner, this) && f.QuerySide == query) return f;
        var (features, bias) = query ? QuerySide(s) : GallerySide(s);
        return new ItemFeatures(features, bias, this, query);
    }

    /// <summary>Squared row norms, [N].</summary>
    protected static Tensor SquaredNorms(Tensor x) => linalg.vector_norm(x, dims: [1]).pow_(2);   // no [N, F] temporary

    /// <summary>An uninitialised [N, blocks x D] feature tensor like the set's means.</summary>
    protected static Tensor Features(ScoringSet s, int blocks) =>
        empty([s.Count, blocks * s.Mean.shape[1]], dtype: s.Mean.dtype, device: s.Mean.device);
}

/// <summary>mu-only: cosine similarity of the L2-normalised means.</summary>
public sealed class CosineScorer : SeparableScorer
{
    /// <inheritdoc />
    public override string Name => "cosine";
    /// <inheritdoc />
    protected override (Tensor, Tensor) QuerySide(ScoringSet q) => (nn.functional.normalize(q.Mean, dim: 1), zeros(q.Count, dtype: q.Mean.dtype, device: q.Mean.device));
    /// <inheritdoc />
    protected override (Tensor, Tensor) GallerySide(ScoringSet g) => QuerySide(g);
}

/// <summary>mu-only: -||mu_q - mu_g||^2 = 2 mu_q . mu_g - ||mu_q||^2 - ||mu_g||^2.</summary>
public sealed class NegativeSquaredL2Scorer : SeparableScorer
{
    /// <inheritdoc />
    public override string Name => "l2";
    /// <inheritdoc />
    protected override double? UpperBound => 0;
    /// <inheritdoc />
    protected override (Tensor, Tensor) QuerySide(ScoringSet q) => (q.Mean.mul(2), SquaredNorms(q.Mean).neg());
    /// <inheritdoc />
    protected override (Tensor, Tensor) GallerySide(ScoringSet g) => (g.Mean, SquaredNorms(g.Mean).neg());
}

/// <summary>
/// PCME++'s closed-form sampled distance, negated: -(||mu_q - mu_g||^2 + sum sigma_q^2 + sum sigma_g^2)
/// = -E||z_q - z_g||^2. One GEMM plus per-item sums.
/// </summary>
public sealed class CsdScorer : SeparableScorer
{
    /// <inheritdoc />
    public override string Name => "csd";
    /// <inheritdoc />
    protected override double? UpperBound => 0;
    /// <inheritdoc />
    protected override (Tensor, Tensor) QuerySide(ScoringSet q) => (q.Mean.mul(2), SquaredNorms(q.Mean).add(q.Variance.sum(1)).neg());
    /// <inheritdoc />
    protected override (Tensor, Tensor) GallerySide(ScoringSet g) => (g.Mean, SquaredNorms(g.Mean).add(g.Variance.sum(1)).neg());
}

/// <summary>Negated squared 2-Wasserstein distance: -(||mu_q - mu_g||^2 + ||sigma_q - sigma_g||^2), one GEMM over [mu | sigma].</summary>
public sealed class WassersteinScorer : SeparableScorer
{
    /// <inheritdoc />
    public override string Name => "wasserstein";
    /// <inheritdoc />
    protected override double? UpperBound => 0;
    /// <inheritdoc />
    protected override (Tensor, Tensor) QuerySide(ScoringSet q)
    {
        var x = cat([q.Mean, q.Sigma], 1);
        var bias = SquaredNorms(x).neg_();
        return (x.mul_(2), bias);
    }
    /// <inheritdoc />
    protected override (Tensor, Tensor) GallerySide(ScoringSet g)
    {
        var x = cat([g.Mean, g.Sigma], 1);
        return (x, SquaredNorms(x).neg_());
    }
}

/// <summary>
/// Negated KL(N_q || N_g) = -1/2 sum_d [v_q/v_g + (mu_q - mu_g)^2/v_g - 1 + log v_g - log v_q]
/// (or KL(N_g || N_q) when reversed). It separates over items: one GEMM of [v_q + mu_q^2 | mu_q]
/// against [1/v_g | -2 mu_g/v_g] plus per-item sums.
/// </summary>
public sealed class KlScorer(bool reverse) : SeparableScorer
{
    /// <inheritdoc />
    public override string Name => reverse ? "reverse-kl" : "kl";
    /// <inheritdoc />
    public override bool IsSymmetric => false;
    /// <inheritdoc />
    protected override (Tensor, Tensor) QuerySide(ScoringSet q) => reverse ? Reference(q) : Point(q);
    /// <inheritdoc />
    protected override (Tensor, Tensor) GallerySide(ScoringSet g) => reverse ? Point(g) : Reference(g);

    // -KL(p || r) = -1/2 [v_p + mu_p^2 | mu_p] . [1/v_r | -2 mu_r/v_r] + 1/2 sum log v_p - 1/2 (sum mu_r^2/v_r + log v_r - 1).
    // Features are written into slices of one tensor with in-place ops: fewer fresh [N, D] temporaries.
    static (Tensor, Tensor) Point(ScoringSet p)
    {
        var (f, d) = (Features(p, 2), p.Mean.shape[1]);
        f.narrow(1, 0, d).copy_(p.Mean).pow_(2).add_(p.Variance).mul_(-0.5);
        f.narrow(1, d, d).copy_(p.Mean).mul_(-0.5);
        return (f, p.LogVariance.sum(1).mul_(0.5));
    }

    static (Tensor, Tensor) Reference(ScoringSet r)
    {
        var (f, d) = (Features(r, 2), r.Mean.shape[1]);
        var inv = f.narrow(1, 0, d).copy_(r.Variance).reciprocal_();
        var scaledMean = f.narrow(1, d, d).copy_(r.Mean).mul_(inv).mul_(-2);                  // -2 mu / v
        var bias = r.Mean.mul(scaledMean).mul_(-0.5).add_(r.LogVariance).sub_(1).sum(1).mul_(-0.5);   // mu^2/v + log v - 1
        return (f, bias);
    }
}

/// <summary>
/// The official code's "JS" variant, a symmetric KL: -sum_d [(d + v_q)/v_g + (d + v_g)/v_q],
/// d = (mu_q - mu_g)^2; equals -(2 KL(q||g) + 2 KL(g||q) + 2D). One GEMM of width 4D (the bilinear
/// form has rank 4 per dimension, so no narrower GEMM computes it).
/// </summary>
public sealed class SymmetricKlScorer : SeparableScorer
{
    /// <inheritdoc />
    public override string Name => "js";
    /// <inheritdoc />
    protected override (Tensor, Tensor) QuerySide(ScoringSet q)
    {
        var (f, d) = (Features(q, 4), q.Mean.shape[1]);
        f.narrow(1, 0, d).copy_(q.Mean).pow_(2).add_(q.Variance);                  // mu^2 + v
        f.narrow(1, d, d).copy_(q.Mean);
        var inv = f.narrow(1, 2 * d, d).copy_(q.Variance).reciprocal_();
        var meanOverV = f.narrow(1, 3 * d, d).copy_(q.Mean).mul_(inv);
        var bias = q.Mean.mul(meanOverV).sum(1).neg_();                              // -sum mu^2/v
        return (f.neg_(), bias);
    }
    /// <inheritdoc />
    protected override (Tensor, Tensor) GallerySide(ScoringSet g)
    {
        var (f, d) = (Features(g, 4), g.Mean.shape[1]);
        var inv = f.narrow(1, 0, d).copy_(g.Variance).reciprocal_();
        var scaledMean = f.narrow(1, d, d).copy_(g.Mean).mul_(inv).mul_(-2);      // -2 mu / v
        f.narrow(1, 2 * d, d).copy_(g.Mean).pow_(2).add_(g.Variance);
        f.narrow(1, 3 * d, d).copy_(g.Mean).mul_(-2);
        var bias = g.Mean.mul(scaledMean).sum(1).mul_(0.5);                         // -sum mu^2/v
        return (f, bias);
    }
}

/// <summary>
/// Expected likelihood kernel, log form: -1/2 sum_d [(mu_q - mu_g)^2/(v_q + v_g) + log(v_q + v_g)]
/// (log of N(mu_q; mu_g, S_q + S_g) up to a constant). The per-pair denominator does not separate,
/// so it is not a GEMM: <see cref="DenominatorPairSums"/> computes it in one fused pass on the CPU.
/// </summary>
public sealed class ElkScorer : Scorer
{
    /// <inheritdoc />
    public override string Name => "elk";
    /// <inheritdoc />
    public override long BytesPerPair(long dim) => 4 * 4 * dim;
    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g) => DenominatorPairSums.Compute(q, g, alpha: -0.5, beta: -0.5);
}

/// <summary>
/// Negated Bhattacharyya distance: -sum_d [ (mu_q - mu_g)^2 / (4 (v_q + v_g)) + 1/2 log((v_q + v_g)/2)
/// - 1/4 (log v_q + log v_g) ]. The first two terms do not separate (<see cref="DenominatorPairSums"/>);
/// the last is per item.
/// </summary>
public sealed class BhattacharyyaScorer : Scorer
{
    /// <inheritdoc />
    public override string Name => "bhattacharyya";
    /// <inheritdoc />
    public override long BytesPerPair(long dim) => 4 * 4 * dim;
    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g)
    {
        long d = q.Mean.shape[1];
        var pairTerms = DenominatorPairSums.Compute(q, g, alpha: -0.25, beta: -0.5, gamma: 0.5 * d * Math.Log(2));
        var itemTerms = q.LogVariance.sum(1, keepdim: true).add(g.LogVariance.sum(1).unsqueeze(0)).mul(0.25);
        return pairTerms.add(itemTerms);
    }
}

/// <summary>
/// Monte-Carlo match probability (paper Eq. 2) with J samples per item, as log p(m = 1) (same
/// ranking, no underflow): all J^2 sample distances of a block from one GEMM, then
/// <see cref="MonteCarloLogMatch"/>'s fused pass.
/// </summary>
public sealed class MonteCarloMatchScorer(int samples, double negativeScale, double shift) : Scorer
{
    /// <inheritdoc />
    public override string Name => "mc";
    /// <inheritdoc />
    public override int Samples => samples;
    /// <inheritdoc />
    public override long BytesPerPair(long dim) => 4L * samples * samples * 4;
    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g) => MonteCarloLogMatch.Compute(q.Samples!, g.Samples!, negativeScale, shift);
}

/// <summary>
/// The official "matmul" variant: the sum over all J^2 sample pairs of z_q^j . z_g^k. It equals
/// (sum_j z_q^j) . (sum_k z_g^k), so it is one GEMM of the per-item sample sums.
/// </summary>
public sealed class SampleMatmulScorer(int samples) : SeparableScorer
{
    /// <inheritdoc />
    public override string Name => "matmul";
    /// <inheritdoc />
    public override int Samples => samples;
    /// <inheritdoc />
    protected override (Tensor, Tensor) QuerySide(ScoringSet q) => (q.Samples!.sum(1), zeros(q.Count, dtype: q.Samples!.dtype, device: q.Samples!.device));
    /// <inheritdoc />
    protected override (Tensor, Tensor) GallerySide(ScoringSet g) => QuerySide(g);
}
