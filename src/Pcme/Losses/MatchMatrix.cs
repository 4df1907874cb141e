using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>
/// Which cross-modal pairs of a batch are positives: a boolean matrix [B_a, B_b] (row = item of
/// the first modality, column = item of the second). Built from image ids (duplicated images in a
/// batch are positives of each other's captions) or from class labels (CUB).
/// </summary>
public static class MatchMatrix
{
    /// <summary>Only the diagonal: pair i matches pair i (the official code's assumption).</summary>
    public static Tensor Diagonal(long batch, Device? device = null) => eye(batch, dtype: ScalarType.Bool, device: device);

    /// <summary>m[i, j] = (a[i] == b[j]) for integer ids or labels.</summary>
    public static Tensor FromLabels(ReadOnlySpan<long> a, ReadOnlySpan<long> b, Device? device = null)
    {
        var ta = tensor(a.ToArray(), device: device);
        var tb = tensor(b.ToArray(), device: device);
        return FromLabels(ta, tb);
    }

    /// <summary>m[i, j] = (a[i] == b[j]) for int64 tensors [B_a] and [B_b].</summary>
    public static Tensor FromLabels(Tensor a, Tensor b) => a.unsqueeze(1).eq(b.unsqueeze(0));

    /// <summary>Throws unless <paramref name="match"/> is a [rows, cols] matrix; returns it as bool.</summary>
    internal static Tensor Check(Tensor match, long rows, long cols)
    {
        if (match.dim() != 2 || match.shape[0] != rows || match.shape[1] != cols)
            throw new ArgumentException($"The match matrix must be [{rows}, {cols}] (rows: first modality, columns: second); got [{string.Join(", ", match.shape)}].");
        return match.dtype == ScalarType.Bool ? match : match.ne(0);
    }

    /// <summary>
    /// <see cref="Check"/> for a given matrix; when <paramref name="match"/> is null, the diagonal
    /// (the official codes' default), which needs <paramref name="rows"/> == <paramref name="cols"/>.
    /// </summary>
    internal static Tensor CheckOrDiagonal(Tensor? match, long rows, long cols, Device device)
    {
        if (match is not null) return Check(match, rows, cols);
        if (rows != cols)
            throw new ArgumentException($"Without a match matrix the positives are the diagonal, which needs as many rows as columns; got {rows} x {cols}.");
        return Diagonal(rows, device);
    }
}

/// <summary>How per-pair losses are combined.</summary>
public enum PairReduction
{
    /// <summary>Mean over all B_a x B_b pairs (the kit's default: the scale does not grow with the batch).</summary>
    Mean,
    /// <summary>Sum over all pairs.</summary>
    Sum,
    /// <summary>
    /// The official naver-ai/pcme number: its i2t and t2i losses are the same sum over pairs
    /// computed twice and added, i.e. 2 x <see cref="Sum"/>.
    /// </summary>
    OfficialSum,
}
