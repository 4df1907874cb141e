using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>The regularisers of PCME (shared/DESIGN.md §1).</summary>
public static class Regularizers
{
    /// <summary>
    /// KL(N(mu, diag e^h) || N(0, I)) = -1/2 sum(1 + h - mu^2 - e^h), summed over items and
    /// dimensions (the official reduction). Zero exactly at mu = 0, h = 0.
    /// </summary>
    /// <remarks>The official PCME code plugs in the mean of the drawn samples for mu and its log-std
    /// as if it were a log-variance; we use the distribution's own mu and h.</remarks>
    public static Tensor KlToStandardNormal(GaussianEmbedding e) =>
        e.LogVariance.add(1).sub(e.Mean.pow(2)).sub(e.LogVariance.exp()).sum().mul(-0.5);

    /// <summary>
    /// KL(N(mu, diag e^h) || N(0, I)) averaged over items and dimensions instead of summed:
    /// -1/2 mean(1 + h - mu^2 - e^h), the reduction PCME++ (Chun, ICLR 2024) uses for its VIB term.
    /// Equals <see cref="KlToStandardNormal"/> / (N * D).
    /// </summary>
    /// <remarks>The official PCME++ code drops the term (returns 0) when it exceeds 10000; this does not.</remarks>
    public static Tensor KlToStandardNormalMean(GaussianEmbedding e) =>
        e.LogVariance.add(1).sub(e.Mean.pow(2)).sub(e.LogVariance.exp()).mean().mul(-0.5);

    /// <summary>
    /// Uniformity (Wang &amp; Isola 2020): log mean_{x != y} exp(-t ||x - y||^2) over the rows of
    /// <paramref name="points"/> [N, D] (N >= 2), all pairs from one GEMM, in log space.
    /// The official code subsamples 128 points; this uses all of them.
    /// </summary>
    public static Tensor Uniformity(Tensor points, double t = 2)
    {
        long n = points.shape[0];
        if (n < 2) throw new ArgumentException("Uniformity needs at least two points.");
        var sq = SampleDistances.Squared(points.unsqueeze(1), points.unsqueeze(1)).view(n, n);
        // Exclude x == y: -inf on the diagonal drops those terms from the log-sum-exp.
        var offDiagonal = sq.mul(-t).masked_fill(eye(n, dtype: ScalarType.Bool, device: points.device), double.NegativeInfinity);
        return offDiagonal.flatten().logsumexp(0, false).sub(Math.Log((double)n * (n - 1)));
    }
}
