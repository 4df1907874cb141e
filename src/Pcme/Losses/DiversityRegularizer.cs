using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>
/// The diversity regulariser of PVSE (Song &amp; Soleymani, CVPR 2019, Sec. 3.3): pushes the K
/// attention maps (or embeddings) of one item apart by penalising the off-identity part of their Gram matrix.
/// </summary>
public static class DiversityRegularizer
{
    /// <summary>
    /// (1 / B) sum_b ||X_b X_b^T - I_K||_F^2 for <paramref name="x"/> [B, K, L], each of the K rows of X_b
    /// first L2-normalised (x / max(||x||, 1e-12)). With unit rows the diagonal of the Gram matrix is 1,
    /// so this is the sum of squared cosines over the K(K - 1) ordered pairs of distinct rows, averaged
    /// over the batch; 0 when the K rows are orthogonal, at most K(K - 1).
    /// </summary>
    /// <remarks>The official PVSE code uses the unsquared norm divided by K^2, (1 / B) sum_b ||X_b X_b^T - I||_F / K^2.</remarks>
    public static Tensor Compute(Tensor x)
    {
        if (x.dim() != 3)
            throw new ArgumentException($"The diversity regulariser takes [B, K, L]; got [{string.Join(", ", x.shape)}].");
        var unit = TripletLoss.Normalize(x);
        var gram = unit.bmm(unit.transpose(1, 2));
        var identity = eye(x.shape[1], dtype: x.dtype, device: x.device);
        return gram.sub(identity).pow(2).sum([1, 2]).mean();
    }
}
