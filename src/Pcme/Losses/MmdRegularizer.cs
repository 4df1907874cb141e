using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>
/// The domain-discrepancy regulariser of PVSE (Song &amp; Soleymani, CVPR 2019, Sec. 3.3): the squared
/// maximum mean discrepancy between the image and the caption embeddings under a Gaussian RBF kernel.
/// </summary>
public static class MmdRegularizer
{
    /// <summary>
    /// Biased squared MMD, mean_{x,x'} k(x, x') + mean_{y,y'} k(y, y') - 2 mean_{x,y} k(x, y), with
    /// k(x, y) = exp(-gamma ||x - y||^2), for point sets <paramref name="x"/> [N, D] and <paramref name="y"/> [M, D].
    /// Each mean runs over all pairs, the diagonal included; every squared distance comes from the GEMM form.
    /// </summary>
    /// <param name="x">First set [N, D].</param>
    /// <param name="y">Second set [M, D].</param>
    /// <param name="gamma">Kernel width (PVSE passes 0.5).</param>
    /// <remarks>The official PVSE code's kernel is exp(-gamma ||x - y||), the unsquared distance.</remarks>
    public static Tensor Compute(Tensor x, Tensor y, double gamma = 0.5)
    {
        if (x.dim() != 2 || y.dim() != 2 || x.shape[1] != y.shape[1])
            throw new ArgumentException($"MMD takes point sets [N, D] and [M, D] with one D; got [{string.Join(", ", x.shape)}] and [{string.Join(", ", y.shape)}].");
        return Kernel(x, x, gamma).mean().add(Kernel(y, y, gamma).mean()).sub(Kernel(x, y, gamma).mean().mul(2));
    }

    /// <summary>k(a_i, b_j) = exp(-gamma ||a_i - b_j||^2) for all pairs, shape [N, M].</summary>
    public static Tensor Kernel(Tensor a, Tensor b, double gamma) =>
        SampleDistances.Squared(a.unsqueeze(1), b.unsqueeze(1)).view(a.shape[0], b.shape[0]).mul(-gamma).exp();
}
