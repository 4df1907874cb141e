using System.Globalization;
using Plotly.NET;
using Plotly.NET.CSharp;
using CsChart = Plotly.NET.CSharp.Chart;

namespace Pcme.Plots;

/// <summary>One number of a results table: a metric of one model, scored one way, in one direction.</summary>
/// <param name="Model">The trained model, e.g. "PCME" or "mu-only" (one bar colour each).</param>
/// <param name="Scorer">The test-time variant, e.g. "cosine", "mc", "elk" (shared/DESIGN.md §2).</param>
/// <param name="Direction">"i2t" (image to text) or "t2i" (text to image); any label works.</param>
/// <param name="Value">The metric, e.g. R@1 or R-Precision in percent.</param>
public sealed record MetricValue(string Model, string Scorer, string Direction, double Value);

public static partial class Figures
{
    /// <summary>
    /// Grouped bars of one metric: one trace (colour) per model; the x axis has two levels, direction
    /// (outer) and scorer (inner), so every (direction, scorer) group holds one bar per model. Each bar
    /// is labelled with its value. A model without a value for some group simply has no bar there.
    /// Directions, scorers and models keep the order in which they first appear in <paramref name="values"/>.
    /// </summary>
    /// <param name="values">The numbers; each (model, scorer, direction) at most once.</param>
    /// <param name="metricName">Y axis title, e.g. "R@1 (%)".</param>
    /// <param name="title">Figure title; null = <paramref name="metricName"/>.</param>
    /// <param name="valueFormat">.NET number format of the bar labels (invariant culture).</param>
    public static GenericChart MetricBars(IReadOnlyList<MetricValue> values, string metricName = "R@1", string? title = null, string valueFormat = "0.0")
    {
        Require(values.Count > 0, nameof(values), "Need at least one value.");
        RequireFinite(values.Select(v => v.Value), nameof(values));
        var duplicate = values.GroupBy(v => (v.Model, v.Scorer, v.Direction)).FirstOrDefault(g => g.Count() > 1);
        Require(duplicate is null, nameof(values),
            $"({duplicate?.Key.Model}, {duplicate?.Key.Scorer}, {duplicate?.Key.Direction}) appears more than once.");

        var directions = values.Select(v => v.Direction).Distinct().ToList();
        var scorers = values.Select(v => v.Scorer).Distinct().ToList();
        var models = values.Select(v => v.Model).Distinct().ToList();
        var traces = new List<GenericChart>();
        for (int m = 0; m < models.Count; m++)
        {
            // Bars in (direction, scorer) order, so every trace walks the groups the same way.
            var bars = values.Where(v => v.Model == models[m])
                .OrderBy(v => directions.IndexOf(v.Direction)).ThenBy(v => scorers.IndexOf(v.Scorer))
                .ToArray();
            string[][] keys = [[.. bars.Select(b => b.Direction)], [.. bars.Select(b => b.Scorer)]];
            traces.Add(CsChart.Column<double, string, string>(bars.Select(b => b.Value), MultiKeys: Many<IEnumerable<string>>(keys), Name: models[m],
                MarkerColor: PaletteColor(m), MultiText: Many(bars.Select(b => b.Value.ToString(valueFormat, CultureInfo.InvariantCulture))),
                TextPosition: StyleParam.TextPosition.Outside));
        }
        return CsChart.Combine(traces)
            .WithLayoutAttributes(("barmode", "group"))
            .WithAxisTitles("direction / scorer", metricName)
            .WithTitle(title ?? metricName)
            .WithSize(DefaultWidth, DefaultHeight);
    }
}
