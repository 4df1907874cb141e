using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>
/// PVSE's set similarity (Song &amp; Soleymani, CVPR 2019, Eq. 5): each item is K unit embeddings concatenated in its mean
/// ([N, K D]); s(q, g) = max over the K x K pairs of cos(q^k, g^l). One GEMM over all (Q K) x (G K) normalised
/// embeddings, then a max over each pair's K x K block. With K = 1 it is <see cref="CosineScorer"/>.
/// </summary>
public sealed class MaxCosineScorer : Scorer
{
    /// <summary>Creates the scorer for <paramref name="embeddingsPerItem"/> embeddings per item.</summary>
    public MaxCosineScorer(int embeddingsPerItem)
    {
        if (embeddingsPerItem < 1) throw new ArgumentOutOfRangeException(nameof(embeddingsPerItem), "K must be at least 1.");
        K = embeddingsPerItem;
    }

    /// <summary>Embeddings per item.</summary>
    public int K { get; }
    /// <inheritdoc />
    public override string Name => "max-cosine";
    /// <inheritdoc />
    public override long BytesPerPair(long dim) => 4L * K * K + 8;

    /// <inheritdoc />
    public override Tensor Score(ScoringSet queries, ScoringSet gallery)
    {
        long q = queries.Count, g = gallery.Count, width = queries.Mean.shape[1];
        if (width % K != 0 || gallery.Mean.shape[1] != width)
            throw new ArgumentException($"max-cosine with K = {K} needs means of width K x D on both sides; got {width} and {gallery.Mean.shape[1]}.");
        long d = width / K;
        var a = nn.functional.normalize(queries.Mean.reshape(q * K, d), p: 2, dim: 1);
        var b = nn.functional.normalize(gallery.Mean.reshape(g * K, d), p: 2, dim: 1);
        return a.matmul(b.t()).view(q, K, g, K).amax([1, 3]);
    }
}
