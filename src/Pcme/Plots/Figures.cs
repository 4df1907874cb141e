using System.Globalization;
using Microsoft.FSharp.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using Plotly.NET.TraceObjects;
using FsChart = Plotly.NET.Chart;

namespace Pcme.Plots;

/// <summary>
/// Figure builders for the kit's standard plots. Each takes plain .NET data (arrays, records; never
/// tensors) and returns a Plotly.NET <see cref="GenericChart"/> that a notebook displays, a caller
/// saves, or <see cref="HtmlReport"/> embeds. The builders only arrange data: statistics they show
/// (means, standard deviations, Spearman's rho) come from <see cref="PlotStatistics"/>.
/// <para>Traces are made with the Plotly.NET C# API (<c>Plotly.NET.CSharp.Chart</c>); the few layout
/// settings it lacks (titles, error bars, second axes, bar mode) go through Plotly.NET's own
/// <c>Chart.with*</c> functions and dynamic properties, with the plotly.js attribute names.</para>
/// </summary>
public static partial class Figures
{
    /// <summary>Plotly's default qualitative colours (D3 category10), used so that traces of one series share a colour.</summary>
    public static readonly IReadOnlyList<string> Palette =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>Width used for non-square figures, in pixels.</summary>
    public const int DefaultWidth = 760;
    /// <summary>Height used for non-square figures, in pixels.</summary>
    public const int DefaultHeight = 480;

    static Color PaletteColor(int index) => Color.fromHex(Palette[index % Palette.Count]);

    /// <summary>A sequence argument of the C# chart API (its implicit conversion does not apply to interfaces).</summary>
    static Optional<IEnumerable<T>> Many<T>(IEnumerable<T> values) => new(values, true);

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    static GenericChart Apply(this GenericChart chart, FSharpFunc<GenericChart, GenericChart> style) => style.Invoke(chart);

    static GenericChart WithTitle(this GenericChart chart, string title) => chart.Apply(FsChart.withTitle(title, null));

    /// <summary>Symmetric data error bars on y (plotly.js <c>error_y</c>: type "data", array).</summary>
    static GenericChart WithYErrorBars(this GenericChart chart, IEnumerable<double> halfWidths)
    {
        var error = new Error();
        error.SetProperty("type", "data");
        error.SetProperty("symmetric", true);
        error.SetProperty("array", halfWidths.ToArray());
        error.SetProperty("visible", true);
        return chart.Apply(FsChart.withYError(error));
    }

    /// <summary>Sets top-level layout attributes by their plotly.js names (merged into the chart's layout).</summary>
    static GenericChart WithLayoutAttributes(this GenericChart chart, params (string Name, object Value)[] attributes)
    {
        var layout = new Layout();
        foreach (var (name, value) in attributes) layout.SetProperty(name, value);
        return chart.Apply(FsChart.withLayout(layout));
    }

    /// <summary>Moves every trace of the chart onto y axis <paramref name="yAxis"/> (1 = the default axis).</summary>
    static GenericChart OnYAxis(this GenericChart chart, int yAxis) =>
        chart.Apply(FsChart.withAxisAnchor(null, FSharpOption<int>.Some(yAxis)));

    /// <summary>Titles of x axis <paramref name="axis"/> and y axis <paramref name="axis"/> (1 = the default axes).</summary>
    static GenericChart WithAxisTitles(this GenericChart chart, string x, string y, int axis = 1) => chart
        .WithXAxisStyle<double, double, string>(TitleText: x, Id: StyleParam.SubPlotId.NewXAxis(axis))
        .WithYAxisStyle<double, double, string>(TitleText: y, Id: StyleParam.SubPlotId.NewYAxis(axis));

    static void Require(bool condition, string parameter, string message)
    {
        if (!condition) throw new ArgumentException(message, parameter);
    }

    static void RequireFinite(IEnumerable<double> values, string parameter)
    {
        foreach (double v in values)
            if (!double.IsFinite(v)) throw new ArgumentException($"All values must be finite; found {v.ToString(CultureInfo.InvariantCulture)}.", parameter);
    }
}
