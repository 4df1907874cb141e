using static TorchSharp.torch;

namespace Pcme.Interactive;

/// <summary>Tensors as plain arrays for tables and <see cref="Pcme.Plots.Figures"/> (which never take tensors).</summary>
public static class NotebookData
{
    /// <summary>Every element of <paramref name="t"/> (any shape, flattened row-major) as doubles.</summary>
    public static double[] Values(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().to(ScalarType.Float64).cpu().contiguous().reshape(-1).data<double>().ToArray();
    }

    /// <summary>A matrix [rows, cols] as rows of doubles (e.g. for <see cref="Pcme.Plots.Figures.Heatmap(IReadOnlyList{double[]}, IReadOnlyList{string}?, IReadOnlyList{string}?, string, string, string, bool, Plotly.NET.StyleParam.Colorscale?)"/>).</summary>
    public static double[][] Rows(Tensor t)
    {
        if (t.dim() != 2) throw new ArgumentException($"Rows needs a matrix [rows, cols]; got [{string.Join(", ", t.shape)}].", nameof(t));
        var flat = Values(t);
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        return Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * cols, cols).ToArray()).ToArray();
    }
}
