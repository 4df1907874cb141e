using static TorchSharp.torch;

namespace Pcme.Probabilistic;

/// <summary>
/// Euclidean distances between every sample of every item of one set and every sample of every
/// item of another, from one GEMM over the stacked samples (shared/DESIGN.md §1, "Efficient form"):
/// ||z_a - z_b||^2 = ||z_a||^2 + ||z_b||^2 - 2 z_a.z_b, clamped at 0, then sqrt(. + eps) so the
/// gradient stays finite at zero distance. Nothing of size N_a x N_b x J x K x D is ever built.
/// </summary>
public static class SampleDistances
{
    /// <summary>The eps inside the square root (the official code's value).</summary>
    public const double Epsilon = 1e-6;

    /// <summary>
    /// Squared distances, shape [N_a, J, N_b, K] for samples <paramref name="za"/> [N_a, J, D] and
    /// <paramref name="zb"/> [N_b, K, D].
    /// </summary>
    public static Tensor Squared(Tensor za, Tensor zb)
    {
        if (za.dim() != 3 || zb.dim() != 3 || za.shape[2] != zb.shape[2])
            throw new ArgumentException($"Samples must be [N, J, D] with one D; got [{string.Join(", ", za.shape)}] and [{string.Join(", ", zb.shape)}].");
        long na = za.shape[0], j = za.shape[1], nb = zb.shape[0], k = zb.shape[1], d = za.shape[2];
        var a = za.reshape(na * j, d);
        var b = zb.reshape(nb * k, d);
        var norms = a.pow(2).sum(1, keepdim: true).add(b.pow(2).sum(1).unsqueeze(0));
        // norms - 2 a b^T in one addmm; cancellation can make it slightly negative: clamp.
        return norms.addmm(a, b.t(), beta: 1, alpha: -2).clamp_min(0).view(na, j, nb, k);
    }

    /// <summary>sqrt(||z_a - z_b||^2 + eps), shape [N_a, J, N_b, K].</summary>
    public static Tensor Euclidean(Tensor za, Tensor zb, double eps = Epsilon) => Squared(za, zb).add(eps).sqrt();
}
