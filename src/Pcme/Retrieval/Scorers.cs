using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>
/// One side of a retrieval problem, with the per-item quantities scorers reuse computed once:
/// mu, h, sigma^2, sigma and (for sampling scorers) J samples per item.
/// </summary>
public sealed record ScoringSet(Tensor Mean, Tensor LogVariance, Tensor Variance, Tensor Sigma, Tensor? Samples)
{
    /// <summary>Number of items.</summary>
    public long Count => Mean.shape[0];

    /// <summary>Rows [start, start + length).</summary>
    public ScoringSet Slice(long start, long length) => new(
        Mean.narrow(0, start, length), LogVariance.narrow(0, start, length), Variance.narrow(0, start, length),
        Sigma.narrow(0, start, length), Samples?.narrow(0, start, length));

    /// <summary>Builds the set; draws <paramref name="samples"/> per item from <paramref name="generator"/> when J > 0.</summary>
    public static ScoringSet From(GaussianEmbedding e, int samples = 0, Generator? generator = null) =>
        new(e.Mean, e.LogVariance, e.LogVariance.exp(), e.LogVariance.mul(0.5).exp(), samples > 0 ? e.Sample(samples, generator) : null);
}

/// <summary>
/// A test-time variant (paper Sec. 3.2.3; shared/DESIGN.md §2): scores every query of a block against
/// every gallery item of a block, [Q_b, G_b], higher = better match. Closed forms that separate over
/// items are one GEMM over concatenated per-item features; the others broadcast within the block.
/// </summary>
public abstract class Scorer
{
    /// <summary>The name used on the command line and in reports.</summary>
    public abstract string Name { get; }
    /// <summary>Samples per item this scorer needs (0 for closed forms).</summary>
    public virtual int Samples => 0;
    /// <summary>Approximate bytes of temporaries per (query, gallery) pair at dimension <paramref name="dim"/>, for choosing block sizes.</summary>
    public virtual long BytesPerPair(long dim) => 16;
    /// <summary>Scores a query block against a gallery block.</summary>
    public abstract Tensor Score(ScoringSet queries, ScoringSet gallery);

    /// <summary>The names of every scorer <see cref="Create"/> knows.</summary>
    public static readonly IReadOnlyList<string> Names =
        ["cosine", "l2", "mc", "matmul", "elk", "wasserstein", "kl", "reverse-kl", "js", "bhattacharyya", "csd"];

    /// <summary>
    /// Creates a scorer by name. <paramref name="samples"/> is J for <c>mc</c>/<c>matmul</c>;
    /// <paramref name="negativeScale"/> and <paramref name="shift"/> are the trained (a, b) for <c>mc</c>.
    /// </summary>
    public static Scorer Create(string name, int samples = 7, double negativeScale = 10, double shift = 10) => name switch
    {
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
        _ => throw new ArgumentException($"Unknown scorer '{name}'. Choose one of: {string.Join(", ", Names)}, all."),
    };

    /// <summary>||a_i - b_j||^2 for rows of a [Q, F] and b [G, F], one GEMM, clamped at 0.</summary>
    protected static Tensor SquaredDistances(Tensor a, Tensor b) =>
        a.pow(2).sum(1, keepdim: true).add(b.pow(2).sum(1).unsqueeze(0)).addmm(a, b.t(), beta: 1, alpha: -2).clamp_min(0);
}

/// <summary>mu-only: cosine similarity of the L2-normalised means.</summary>
public sealed class CosineScorer : Scorer
{
    /// <inheritdoc />
    public override string Name => "cosine";
    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g) =>
        nn.functional.normalize(q.Mean, dim: 1).matmul(nn.functional.normalize(g.Mean, dim: 1).t());
}

/// <summary>mu-only: -||mu_q - mu_g||^2.</summary>
public sealed class NegativeSquaredL2Scorer : Scorer
{
    /// <inheritdoc />
    public override string Name => "l2";
    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g) => SquaredDistances(q.Mean, g.Mean).neg();
}

/// <summary>
/// PCME++'s closed-form sampled distance, negated: -(||mu_q - mu_g||^2 + sum sigma_q^2 + sum sigma_g^2)
/// = -E||z_q - z_g||^2. One GEMM plus per-item sums.
/// </summary>
public sealed class CsdScorer : Scorer
{
    /// <inheritdoc />
    public override string Name => "csd";
    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g) =>
        SquaredDistances(q.Mean, g.Mean).add(q.Variance.sum(1, keepdim: true)).add(g.Variance.sum(1).unsqueeze(0)).neg();
}

/// <summary>Negated squared 2-Wasserstein distance: -(||mu_q - mu_g||^2 + ||sigma_q - sigma_g||^2), one GEMM over [mu | sigma].</summary>
public sealed class WassersteinScorer : Scorer
{
    /// <inheritdoc />
    public override string Name => "wasserstein";
    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g) =>
        SquaredDistances(cat([q.Mean, q.Sigma], 1), cat([g.Mean, g.Sigma], 1)).neg();
}

/// <summary>
/// Negated KL(N_q || N_g) = -1/2 sum_d [v_q/v_g + (mu_q - mu_g)^2/v_g - 1 + log v_g - log v_q]
/// (or KL(N_g || N_q) when reversed). It separates over items: one GEMM of [v_q + mu_q^2 | mu_q]
/// against [1/v_g | -2 mu_g/v_g] plus per-item sums.
/// </summary>
public sealed class KlScorer(bool reverse) : Scorer
{
    /// <inheritdoc />
    public override string Name => reverse ? "reverse-kl" : "kl";

    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g)
    {
        var kl = reverse ? Kl(g, q).t() : Kl(q, g);
        return kl.neg();
    }

    /// <summary>KL(N_p || N_r) for all rows of p against all rows of r, [P, R].</summary>
    internal static Tensor Kl(ScoringSet p, ScoringSet r)
    {
        long d = p.Mean.shape[1];
        var left = cat([p.Variance.add(p.Mean.pow(2)), p.Mean], 1);
        var inv = r.Variance.reciprocal();
        var right = cat([inv, r.Mean.mul(inv).mul(-2)], 1);
        var perR = r.Mean.pow(2).mul(inv).sum(1).add(r.LogVariance.sum(1)).sub(d).unsqueeze(0);   // sum mu_r^2/v_r + log v_r - 1
        var perP = p.LogVariance.sum(1, keepdim: true);                                           // sum log v_p
        return left.matmul(right.t()).add(perR).sub(perP).mul(0.5);
    }
}

/// <summary>
/// The official code's "JS" variant, a symmetric KL: -sum_d [(d + v_q)/v_g + (d + v_g)/v_q],
/// d = (mu_q - mu_g)^2; equals -(2 KL(q||g) + 2 KL(g||q) + 2D). One GEMM of width 4D.
/// </summary>
public sealed class SymmetricKlScorer : Scorer
{
    /// <inheritdoc />
    public override string Name => "js";

    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g)
    {
        var invQ = q.Variance.reciprocal(); var invG = g.Variance.reciprocal();
        var left = cat([q.Mean.pow(2).add(q.Variance), q.Mean, invQ, q.Mean.mul(invQ)], 1);
        var right = cat([invG, g.Mean.mul(invG).mul(-2), g.Mean.pow(2).add(g.Variance), g.Mean.mul(-2)], 1);
        var perQ = q.Mean.pow(2).mul(invQ).sum(1, keepdim: true);
        var perG = g.Mean.pow(2).mul(invG).sum(1).unsqueeze(0);
        return left.matmul(right.t()).add(perQ).add(perG).neg();
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
/// ranking, no underflow): all J^2 sample distances of a block from one GEMM.
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
    public override Tensor Score(ScoringSet q, ScoringSet g)
    {
        using var a = tensor(negativeScale, q.Mean.dtype, q.Mean.device);
        using var b = tensor(shift, q.Mean.dtype, q.Mean.device);
        return MatchProbability.FromSamples(q.Samples!, g.Samples!, a, b).LogMatch;
    }
}

/// <summary>
/// The official "matmul" variant: the sum over all J^2 sample pairs of z_q^j . z_g^k. It equals
/// (sum_j z_q^j) . (sum_k z_g^k), so it is one GEMM of the per-item sample sums.
/// </summary>
public sealed class SampleMatmulScorer(int samples) : Scorer
{
    /// <inheritdoc />
    public override string Name => "matmul";
    /// <inheritdoc />
    public override int Samples => samples;
    /// <inheritdoc />
    public override Tensor Score(ScoringSet q, ScoringSet g) => q.Samples!.sum(1).matmul(g.Samples!.sum(1).t());
}
