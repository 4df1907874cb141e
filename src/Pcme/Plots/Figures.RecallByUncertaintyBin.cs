using Plotly.NET;
using Plotly.NET.CSharp;
using CsChart = Plotly.NET.CSharp.Chart;

namespace Pcme.Plots;

/// <summary>One bin of queries sorted by uncertainty (paper Fig. 6).</summary>
/// <param name="MeanUncertainty">Mean uncertainty of the bin's queries (the x position).</param>
/// <param name="RecallAt1">R@1 of the bin's queries (e.g. in percent).</param>
/// <param name="Count">Queries in the bin (shown on hover).</param>
public sealed record RecallBinPoint(double MeanUncertainty, double RecallAt1, int Count);

/// <summary>The bins of one query set, e.g. "PCME i2t".</summary>
/// <param name="Name">Legend name.</param>
/// <param name="Bins">Bins in increasing uncertainty.</param>
public sealed record UncertaintyBinSeries(string Name, RecallBinPoint[] Bins);

public static partial class Figures
{
    /// <summary>
    /// R@1 per uncertainty bin, one line (or bar trace) per series, x = each bin's mean uncertainty.
    /// In the paper R@1 falls as uncertainty grows: the model knows which queries are hard.
    /// </summary>
    /// <param name="series">The series, in legend order.</param>
    /// <param name="asBars">Bars instead of lines with markers.</param>
    /// <param name="title">Figure title.</param>
    /// <param name="recallLabel">Y axis title.</param>
    /// <param name="uncertaintyLabel">X axis title.</param>
    public static GenericChart RecallByUncertaintyBin(IReadOnlyList<UncertaintyBinSeries> series, bool asBars = false,
        string title = "R@1 by uncertainty bin", string recallLabel = "R@1", string uncertaintyLabel = "mean uncertainty of the bin")
    {
        Require(series.Count > 0, nameof(series), "Need at least one series.");
        var traces = new List<GenericChart>();
        for (int s = 0; s < series.Count; s++)
        {
            var bins = series[s].Bins;
            Require(bins.Length > 0, nameof(series), $"Series '{series[s].Name}' has no bins.");
            RequireFinite(bins.SelectMany(b => new[] { b.MeanUncertainty, b.RecallAt1 }), nameof(series));
            var x = bins.Select(b => b.MeanUncertainty);
            var y = bins.Select(b => b.RecallAt1);
            var hover = bins.Select(b => Invariant($"n = {b.Count}"));
            traces.Add(asBars
                ? CsChart.Column<double, double, string>(y, Keys: Many(x), Name: series[s].Name, MarkerColor: PaletteColor(s), MultiText: Many(hover),
                    TextPosition: StyleParam.TextPosition.None)
                : CsChart.Line<double, double, string>(x, y, ShowMarkers: true, Name: series[s].Name,
                    LineColor: PaletteColor(s), MarkerColor: PaletteColor(s), MultiText: Many(hover)));
        }
        var chart = CsChart.Combine(traces);
        if (asBars) chart = chart.WithLayoutAttributes(("barmode", "group"));
        return chart
            .WithAxisTitles(uncertaintyLabel, recallLabel)
            .WithTitle(title)
            .WithSize(DefaultWidth, DefaultHeight);
    }
}
