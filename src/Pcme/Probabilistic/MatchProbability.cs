using static TorchSharp.torch;

namespace Pcme.Probabilistic;

/// <summary>Log match probabilities for all pairs, each [N_a, N_b].</summary>
/// <param name="LogMatch">log p(m = 1 | x_a, x_b).</param>
/// <param name="LogMismatch">log p(m = 0 | x_a, x_b) = log(1 - p(m = 1)).</param>
public sealed record MatchLogProbabilities(Tensor LogMatch, Tensor LogMismatch);

/// <summary>
/// The Monte-Carlo match probability of PCME / HIB (paper Eq. 2-3, shared/DESIGN.md §1):
/// l_jk = -a ||z_a^j - z_b^k||_2 + b, p(m | x_a, x_b) ~= (1 / JK) sum_jk s(l_jk), s the standard
/// logistic sigmoid. Everything stays in log space (log-sigmoid, then log-sum-exp over the J x K
/// sample pairs), so neither p -> 0 nor p -> 1 underflows.
/// <para>The official code's e^x / (e^x + e^-x) is s(2x): the same model with (a, b) doubled.</para>
/// </summary>
public static class MatchProbability
{
    /// <summary>Logits l = -a d + b for distances d [N_a, J, N_b, K]; a, b are scalars or 1-element tensors.</summary>
    public static Tensor Logits(Tensor distances, Tensor negativeScale, Tensor shift) =>
        distances.mul(negativeScale.neg()).add(shift);

    /// <summary>Sample-pair logits [N_a, J, N_b, K] for samples [N_a, J, D] and [N_b, K, D].</summary>
    public static Tensor SampleLogits(Tensor za, Tensor zb, Tensor negativeScale, Tensor shift) =>
        Logits(SampleDistances.Euclidean(za, zb), negativeScale, shift);

    /// <summary>log p(m = 1) and log p(m = 0) for every pair, from sample-pair logits [N_a, J, N_b, K].</summary>
    public static MatchLogProbabilities FromLogits(Tensor logits)
    {
        double logCount = Math.Log(logits.shape[1] * logits.shape[3]);
        var logS = nn.functional.logsigmoid(logits);      // log s(l)
        var logNotS = logS.sub(logits);                    // log s(-l) = log s(l) - l
        return new(Mean(logS, logCount), Mean(logNotS, logCount));
    }

    /// <summary>log p(m = 1) alone for every pair, from sample-pair logits [N_a, J, N_b, K] (test time needs no log p(m = 0)).</summary>
    public static Tensor LogMatchFromLogits(Tensor logits) =>
        Mean(nn.functional.logsigmoid(logits), Math.Log(logits.shape[1] * logits.shape[3]));

    /// <summary>log p(m = 1) and log p(m = 0) for every pair of samples [N_a, J, D] x [N_b, K, D].</summary>
    public static MatchLogProbabilities FromSamples(Tensor za, Tensor zb, Tensor negativeScale, Tensor shift) =>
        FromLogits(SampleLogits(za, zb, negativeScale, shift));

    /// <summary>p(m = 1) for every pair of two Gaussian embedding sets, with J samples each from <paramref name="generator"/>.</summary>
    public static Tensor Estimate(GaussianEmbedding a, GaussianEmbedding b, int samples, Tensor negativeScale, Tensor shift, Generator? generator) =>
        FromSamples(a.Sample(samples, generator), b.Sample(samples, generator), negativeScale, shift).LogMatch.exp();

    // log((1/JK) sum_jk exp(x_jk)) over dims 1 and 3 of [N_a, J, N_b, K].
    static Tensor Mean(Tensor logValues, double logCount) => logValues.logsumexp(3, false).logsumexp(1, false).sub(logCount);
}
