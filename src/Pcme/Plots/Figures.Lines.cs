using Plotly.NET;
using Plotly.NET.CSharp;
using CsChart = Plotly.NET.CSharp.Chart;

namespace Pcme.Plots;

/// <summary>One line of <see cref="Figures.Lines"/>: y against x, with optional symmetric error bars.</summary>
/// <param name="Name">Legend name.</param>
/// <param name="X">X values.</param>
/// <param name="Y">Y values, one per x.</param>
/// <param name="Error">Optional half-widths of error bars, one per x (e.g. one standard deviation).</param>
public sealed record LineSeries(string Name, double[] X, double[] Y, double[]? Error = null);

public static partial class Figures
{
    /// <summary>
    /// Any y-against-x lines with markers, one colour per series, e.g. a Monte-Carlo estimate against the
    /// number of samples J, a loss per step, or time against J. Error bars are drawn where given.
    /// </summary>
    /// <param name="series">The lines, in legend order.</param>
    /// <param name="title">Figure title.</param>
    /// <param name="xTitle">X axis title.</param>
    /// <param name="yTitle">Y axis title.</param>
    /// <param name="logX">Draw x on a log scale (every x must then be positive).</param>
    /// <param name="showMarkers">Markers on the points; null = only when every series has at most 50 points.</param>
    public static GenericChart Lines(IReadOnlyList<LineSeries> series, string title, string xTitle, string yTitle, bool logX = false, bool? showMarkers = null)
    {
        Require(series.Count > 0, nameof(series), "Need at least one series.");
        foreach (var s in series)
        {
            Require(s.X.Length > 0 && s.X.Length == s.Y.Length, nameof(series), $"Series '{s.Name}' needs as many y values as x values (at least one); got {s.X.Length} and {s.Y.Length}.");
            Require(s.Error is null || s.Error.Length == s.X.Length, nameof(series), $"Series '{s.Name}' needs one error bar per point.");
            RequireFinite(s.X.Concat(s.Y).Concat(s.Error ?? []), nameof(series));
            Require(!logX || s.X.All(x => x > 0), nameof(series), $"A log x axis needs positive x values (series '{s.Name}').");
        }
        bool markers = showMarkers ?? series.All(s => s.X.Length <= 50);
        var traces = series.Select((s, i) =>
        {
            var line = CsChart.Line<double, double, string>(s.X, s.Y, ShowMarkers: markers, Name: s.Name, LineColor: PaletteColor(i), MarkerColor: PaletteColor(i));
            return s.Error is null ? line : line.WithYErrorBars(s.Error);
        }).ToArray();
        return CsChart.Combine(traces)
            .WithXAxisStyle<double, double, string>(TitleText: xTitle, AxisType: logX ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear)
            .WithYAxisStyle<double, double, string>(TitleText: yTitle)
            .WithTitle(title)
            .WithSize(DefaultWidth, DefaultHeight);
    }
}
