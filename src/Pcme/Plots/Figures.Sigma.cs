using Plotly.NET;
using Plotly.NET.CSharp;
using CsChart = Plotly.NET.CSharp.Chart;

namespace Pcme.Plots;

public static partial class Figures
{
    /// <summary>
    /// Mean sigma per caption specificity level with error bars of one standard deviation: if PCME
    /// learned what it should, the line rises from level 0 (most specific) to level 4 (vaguest).
    /// Each point's hover text gives the number of captions at that level.
    /// </summary>
    /// <param name="specificity">Each caption's specificity level (0 = most specific .. 4 = vaguest).</param>
    /// <param name="sigma">Each caption's sigma, e.g. the instance uncertainty exp(mean(h)/2); same length.</param>
    /// <param name="title">Figure title.</param>
    /// <param name="sigmaLabel">Y axis title.</param>
    public static GenericChart SigmaBySpecificity(IReadOnlyList<int> specificity, IReadOnlyList<double> sigma,
        string title = "Caption sigma by specificity", string sigmaLabel = "sigma (mean ± std)")
    {
        Require(sigma.Count > 0, nameof(sigma), "Need at least one caption.");
        RequireFinite(sigma, nameof(sigma));
        return SigmaBySpecificity(PlotStatistics.SigmaBySpecificity(specificity, sigma), title, sigmaLabel);
    }

    /// <summary>The same figure from per-level statistics computed elsewhere (see <see cref="PlotStatistics.SigmaBySpecificity"/>).</summary>
    /// <param name="levels">One entry per level, in the order to draw.</param>
    /// <param name="title">Figure title.</param>
    /// <param name="sigmaLabel">Y axis title.</param>
    public static GenericChart SigmaBySpecificity(IReadOnlyList<LevelSigma> levels,
        string title = "Caption sigma by specificity", string sigmaLabel = "sigma (mean ± std)")
    {
        Require(levels.Count > 0, nameof(levels), "Need at least one level.");
        RequireFinite(levels.SelectMany(l => new[] { l.Mean, l.Std }), nameof(levels));
        return CsChart.Line<int, double, string>(levels.Select(l => l.Level), levels.Select(l => l.Mean), ShowMarkers: true,
                Name: "mean sigma", MultiText: Many(levels.Select(l => Invariant($"n = {l.Count}"))), LineColor: PaletteColor(0), MarkerColor: PaletteColor(0))
            .WithYErrorBars(levels.Select(l => l.Std))
            .WithXAxisStyle<double, double, string>(TitleText: "specificity level (0 = most specific, 4 = vaguest)")
            .WithLayoutAttributes(("xaxis", LinearTicks()))
            .WithYAxisStyle<double, double, string>(TitleText: sigmaLabel)
            .WithTitle(title)
            .WithSize(DefaultWidth, DefaultHeight);
    }

    /// <summary>
    /// One point per caption: its number of relevant images (x) against its sigma (y), with Spearman's
    /// rho of the two in the title. Vague captions match many images, so a positive rho is what a
    /// well-calibrated PCME shows.
    /// </summary>
    /// <param name="relevantCount">Each caption's number of relevant images (all must be ≥ 1 on a log axis).</param>
    /// <param name="sigma">Each caption's sigma; same length.</param>
    /// <param name="logX">Draw x on a log scale (default).</param>
    /// <param name="title">Title; " (Spearman ρ = …, n = …)" is appended.</param>
    /// <param name="labels">Optional hover text per caption (e.g. the caption itself).</param>
    public static GenericChart SigmaVsRelevantCount(IReadOnlyList<int> relevantCount, IReadOnlyList<double> sigma, bool logX = true,
        string title = "Caption sigma vs number of relevant images", IReadOnlyList<string>? labels = null)
    {
        Require(relevantCount.Count == sigma.Count, nameof(sigma), $"relevantCount has {relevantCount.Count} entries but sigma has {sigma.Count}.");
        Require(sigma.Count > 0, nameof(sigma), "Need at least one caption.");
        Require(labels is null || labels.Count == sigma.Count, nameof(labels), "Need one label per caption.");
        RequireFinite(sigma, nameof(sigma));
        Require(!logX || relevantCount.All(c => c >= 1), nameof(relevantCount),
            "A log x axis needs every relevant count ≥ 1; pass logX: false to draw zeros.");
        double rho = PlotStatistics.Spearman(relevantCount.Select(c => (double)c).ToArray(), sigma);
        string fullTitle = Invariant($"{title} (Spearman ρ = {rho:0.000}, n = {sigma.Count})");
        var chart = labels is null
            ? CsChart.Point<int, double, string>(relevantCount, sigma, Name: "captions", Opacity: 0.6, MarkerColor: PaletteColor(0))
            : CsChart.Point<int, double, string>(relevantCount, sigma, Name: "captions", Opacity: 0.6, MarkerColor: PaletteColor(0), MultiText: Many(labels));
        return chart
            .WithXAxisStyle<double, double, string>(TitleText: "relevant images", AxisType: logX ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear)
            .WithYAxisStyle<double, double, string>(TitleText: "sigma")
            .WithTitle(fullTitle)
            .WithSize(DefaultWidth, DefaultHeight);
    }

    /// <summary>Ticks at every integer (levels are small integers).</summary>
    static Plotly.NET.LayoutObjects.LinearAxis LinearTicks()
    {
        var axis = new Plotly.NET.LayoutObjects.LinearAxis();
        axis.SetProperty("dtick", 1);
        return axis;
    }
}
