using static TorchSharp.torch;

namespace Pcme.Evaluation;

/// <summary>
/// Multi-hot category labels of N items over C categories (COCO: the instance categories present in an
/// image; a caption carries its image's labels), the input of PMRP. Item i is "unlabelled" when it has
/// no category at all (COCO images without instance annotations), which PMRP treats specially
/// (<see cref="PmrpOptions.ExcludeUnlabelled"/>).
/// </summary>
public sealed class MultiHotLabels
{
    readonly bool[] present;   // row-major [Count, ClassCount]

    MultiHotLabels(bool[] present, int count, int classCount)
    {
        this.present = present;
        Count = count;
        ClassCount = classCount;
    }

    /// <summary>Number of items N.</summary>
    public int Count { get; }

    /// <summary>Number of categories C.</summary>
    public int ClassCount { get; }

    /// <summary>Whether item <paramref name="item"/> has category <paramref name="category"/>.</summary>
    public bool Has(int item, int category) => present[item * ClassCount + category];

    /// <summary>Whether item <paramref name="item"/> has at least one category.</summary>
    public bool IsLabelled(int item) => Array.IndexOf(present, true, item * ClassCount, ClassCount) >= 0;

    /// <summary>From a matrix [N, C] of any dtype (bool, integer or floating): nonzero = category present.</summary>
    public static MultiHotLabels FromTensor(Tensor labels)
    {
        if (labels.dim() != 2)
            throw new ArgumentException($"Multi-hot labels must be [N, C]; got [{string.Join(", ", labels.shape)}].", nameof(labels));
        var flags = labels.ne(0).cpu().contiguous().data<bool>().ToArray();
        return new MultiHotLabels(flags, (int)labels.shape[0], (int)labels.shape[1]);
    }

    /// <summary>From a matrix [N, C]: true = category present.</summary>
    public static MultiHotLabels FromMatrix(bool[,] labels)
    {
        int n = labels.GetLength(0), c = labels.GetLength(1);
        var flags = new bool[n * c];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < c; k++) flags[i * c + k] = labels[i, k];
        return new MultiHotLabels(flags, n, c);
    }

    /// <summary>
    /// From category index lists (the form of <see cref="Data.ImageItem.Labels"/>); a null or empty entry is
    /// an unlabelled item.
    /// </summary>
    /// <param name="labels">Per item, the indices of its categories.</param>
    /// <param name="classCount">C; null = one more than the largest index (Hamming distances do not depend on it).</param>
    public static MultiHotLabels FromIndices(IReadOnlyList<IReadOnlyList<int>?> labels, int? classCount = null)
    {
        int c = classCount ?? labels.Select(l => l is { Count: > 0 } ? l.Max() + 1 : 0).DefaultIfEmpty(0).Max();
        var flags = new bool[labels.Count * c];
        for (int i = 0; i < labels.Count; i++)
            foreach (var k in labels[i] ?? [])
            {
                if (k < 0 || k >= c) throw new ArgumentOutOfRangeException(nameof(labels), $"Item {i} has category {k}, outside [0, {c}).");
                flags[i * c + k] = true;
            }
        return new MultiHotLabels(flags, labels.Count, c);
    }

    /// <summary>
    /// The labels of items <paramref name="rows"/>, in that order (repeats allowed): a subset for a fold,
    /// or captions' labels from their images' (<c>imageLabels.Select(captionImageIndex)</c>).
    /// </summary>
    public MultiHotLabels Select(IReadOnlyList<int> rows)
    {
        var flags = new bool[rows.Count * ClassCount];
        for (int r = 0; r < rows.Count; r++)
        {
            if (rows[r] < 0 || rows[r] >= Count) throw new ArgumentOutOfRangeException(nameof(rows), $"Row {rows[r]} is outside [0, {Count}).");
            Array.Copy(present, rows[r] * ClassCount, flags, r * ClassCount, ClassCount);
        }
        return new MultiHotLabels(flags, rows.Count, ClassCount);
    }

    /// <summary>The labels as a float32 0/1 matrix [N, C] on <paramref name="device"/> (for Hamming distances by GEMM).</summary>
    internal Tensor ToFloat(Device device)
    {
        var t = tensor(present, [Count, ClassCount]);
        return t.to(ScalarType.Float32, device);
    }
}
