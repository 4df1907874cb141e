using static TorchSharp.torch;

namespace Pcme.Losses.Reference;

/// <summary>
/// An in-repo reference that follows the official naver-ai/pcme formulation step by step, for
/// parity tests and the <c>pcme bench loss</c> baseline: it indexes out every one of the B^2 pairs,
/// materialises the B^2 x J x J x D sample differences, uses the official sigmoid
/// e^x / (e^x + e^-x), and adds the i2t and t2i sums. Slow and memory-hungry on purpose; do not train with it.
/// </summary>
public static class PairwiseExpansionLoss
{
    /// <summary>
    /// The official loss value (i2t sum + t2i sum of the soft contrastive NLL) for samples
    /// [B, J, D], a match matrix [B, B] and the official (negative_scale, shift).
    /// </summary>
    public static Tensor Compute(Tensor imageSamples, Tensor captionSamples, Tensor match, Tensor officialNegativeScale, Tensor officialShift)
    {
        var m = MatchMatrix.Check(match, imageSamples.shape[0], captionSamples.shape[0]);
        var i2t = Direction(imageSamples, captionSamples, m, officialNegativeScale, officialShift);
        var t2i = Direction(captionSamples, imageSamples, m.t(), officialNegativeScale, officialShift);
        return i2t.add(t2i);
    }

    static Tensor Direction(Tensor anchors, Tensor candidates, Tensor match, Tensor a, Tensor b)
    {
        long n = anchors.shape[0], k = candidates.shape[0], j = anchors.shape[1];
        var anchorIdx = arange(n, device: anchors.device).repeat_interleave(k);
        var selectedIdx = arange(k, device: anchors.device).repeat(n);
        var matched = match.flatten().to(anchors.dtype).mul(2).sub(1);          // +1 / -1
        var x = anchors.index_select(0, anchorIdx).unsqueeze(1);               // [N, 1, J, D]
        var y = candidates.index_select(0, selectedIdx).unsqueeze(2);          // [N, J, 1, D]
        var distance = x.sub(y).pow(2).sum(-1).add(1e-6).sqrt().view(n * k, j * j);
        var logits = distance.mul(a.neg()).add(b);
        // NLL = log J^2 - logsumexp(l m - logsumexp(l, -l)), the official soft_contrastive_nll.
        var norm = stack([logits, logits.neg()], 2).logsumexp(2, false);
        var nll = logits.mul(matched.unsqueeze(1)).sub(norm).logsumexp(1, false).neg().add(Math.Log(j * j));
        return nll.sum();
    }
}
