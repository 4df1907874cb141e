using Plotly.NET;
using Plotly.NET.CSharp;
using CsChart = Plotly.NET.CSharp.Chart;

namespace Pcme.Plots;

public static partial class Figures
{
    /// <summary>
    /// A [rows x cols] matrix as a heatmap, e.g. the gradient weights w_jj' over sample pairs (j, j').
    /// Cell [r][c] is drawn at column c, row r; by default row 0 is at the top, as a matrix is printed.
    /// </summary>
    /// <param name="values">The matrix as rows; every row the same length, values finite.</param>
    /// <param name="columnLabels">X tick labels, one per column; null = 0, 1, ...</param>
    /// <param name="rowLabels">Y tick labels, one per row; null = 0, 1, ...</param>
    /// <param name="title">Figure title.</param>
    /// <param name="xTitle">X axis title (columns).</param>
    /// <param name="yTitle">Y axis title (rows).</param>
    /// <param name="firstRowAtTop">Row 0 at the top (default) or, as in a plot, at the bottom.</param>
    /// <param name="colorScale">Plotly colour scale; null = Viridis.</param>
    public static GenericChart Heatmap(IReadOnlyList<double[]> values, IReadOnlyList<string>? columnLabels = null, IReadOnlyList<string>? rowLabels = null,
        string title = "", string xTitle = "column", string yTitle = "row", bool firstRowAtTop = true, StyleParam.Colorscale? colorScale = null)
    {
        Require(values.Count > 0 && values[0].Length > 0, nameof(values), "The matrix must have at least one row and one column.");
        int cols = values[0].Length;
        Require(values.All(r => r.Length == cols), nameof(values), $"Every row must have {cols} entries like row 0.");
        RequireFinite(values.SelectMany(r => r), nameof(values));
        Require(columnLabels is null || columnLabels.Count == cols, nameof(columnLabels), $"Need {cols} column labels.");
        Require(rowLabels is null || rowLabels.Count == values.Count, nameof(rowLabels), $"Need {values.Count} row labels.");

        IEnumerable<string> Labels(IReadOnlyList<string>? given, int count) =>
            given ?? Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Labels are categories (strings) so that given and default labels draw the same way: one cell per tick.
        return CsChart.Heatmap<double, string, string, string>(values, X: Many(Labels(columnLabels, cols)), Y: Many(Labels(rowLabels, values.Count)),
                ColorScale: colorScale ?? StyleParam.Colorscale.Viridis, ReverseYAxis: firstRowAtTop)
            .WithAxisTitles(xTitle, yTitle)
            .WithTitle(title)
            .WithSize(600, 560);
    }

    /// <summary>The same heatmap from a rectangular array [rows, cols].</summary>
    /// <param name="values">The matrix.</param>
    /// <param name="columnLabels">X tick labels, one per column; null = 0, 1, ...</param>
    /// <param name="rowLabels">Y tick labels, one per row; null = 0, 1, ...</param>
    /// <param name="title">Figure title.</param>
    /// <param name="xTitle">X axis title (columns).</param>
    /// <param name="yTitle">Y axis title (rows).</param>
    /// <param name="firstRowAtTop">Row 0 at the top (default) or at the bottom.</param>
    /// <param name="colorScale">Plotly colour scale; null = Viridis.</param>
    public static GenericChart Heatmap(double[,] values, IReadOnlyList<string>? columnLabels = null, IReadOnlyList<string>? rowLabels = null,
        string title = "", string xTitle = "column", string yTitle = "row", bool firstRowAtTop = true, StyleParam.Colorscale? colorScale = null)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        var jagged = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, cols).Select(c => values[r, c]).ToArray()).ToArray();
        return Heatmap(jagged, columnLabels, rowLabels, title, xTitle, yTitle, firstRowAtTop, colorScale);
    }
}
