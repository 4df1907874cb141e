using Plotly.NET;
using Plotly.NET.CSharp;
using Pcme.Analysis;
using CsChart = Plotly.NET.CSharp.Chart;

namespace Pcme.Plots;

public static partial class Figures
{
    /// <summary>
    /// 2-D Gaussians as their k-sigma contours: for each Gaussian and each k in <paramref name="sigmaMultiples"/>,
    /// the axis-aligned ellipse (x - mu_x)²/(k sigma_x)² + (y - mu_y)²/(k sigma_y)² = 1 as a closed line
    /// (the smallest k lightly filled), plus one trace of all means with their labels. All traces of a
    /// Gaussian share its colour and legend group. The axes have equal scale so circles look round.
    /// Trace order: Gaussian 0 with every k, Gaussian 1 with every k, ..., then the means.
    /// </summary>
    /// <param name="gaussians">The Gaussians.</param>
    /// <param name="sigmaMultiples">Contours to draw, in units of sigma; null = 1 and 2.</param>
    /// <param name="pointsPerEllipse">Points on each contour (the first is repeated at the end to close it).</param>
    /// <param name="title">Figure title.</param>
    public static GenericChart Ellipses2D(IReadOnlyList<Gaussian2D> gaussians, IReadOnlyList<double>? sigmaMultiples = null,
        int pointsPerEllipse = 72, string title = "Gaussian embeddings (k-sigma contours)")
    {
        Require(gaussians.Count > 0, nameof(gaussians), "Need at least one Gaussian.");
        sigmaMultiples ??= [1.0, 2.0];
        Require(sigmaMultiples.Count > 0 && sigmaMultiples.All(k => double.IsFinite(k) && k > 0), nameof(sigmaMultiples), "Sigma multiples must be positive.");
        Require(pointsPerEllipse >= 8, nameof(pointsPerEllipse), "Use at least 8 points per ellipse.");
        foreach (var g in gaussians)
        {
            RequireFinite([g.MeanX, g.MeanY, g.SigmaX, g.SigmaY], nameof(gaussians));
            Require(g.SigmaX > 0 && g.SigmaY > 0, nameof(gaussians), $"'{g.Label}' needs positive sigmas.");
        }

        double smallest = sigmaMultiples.Min();
        var traces = new List<GenericChart>();
        for (int i = 0; i < gaussians.Count; i++)
        {
            var g = gaussians[i];
            var color = PaletteColor(i);
            foreach (double k in sigmaMultiples)
            {
                var (x, y) = EllipsePoints(g, k, pointsPerEllipse);
                bool filled = k == smallest;
                var contour = filled
                    ? CsChart.Line<double, double, string>(x, y, Name: g.Label, LineColor: color, Fill: StyleParam.Fill.ToSelf,
                        FillColor: Color.fromString(HexWithAlpha(Palette[i % Palette.Count], 0.15)))
                    : CsChart.Line<double, double, string>(x, y, Name: g.Label, LineColor: color, LineDash: StyleParam.DrawingStyle.Dash);
                traces.Add(contour.WithTraceInfo(ShowLegend: filled, LegendGroup: g.Label));
            }
        }
        traces.Add(CsChart.Scatter<double, double, string>(gaussians.Select(g => g.MeanX), gaussians.Select(g => g.MeanY),
                StyleParam.Mode.Markers_Text, Name: "means", MultiText: Many(gaussians.Select(g => g.Label)),
                TextPosition: StyleParam.TextPosition.TopCenter,
                MarkerColor: Color.fromColors(gaussians.Select((_, i) => PaletteColor(i)))));

        return CsChart.Combine(traces)
            .WithAxisTitles("dimension 1", "dimension 2")
            .WithLayoutAttributes(("yaxis", EqualScaleAxis()))
            .WithTitle(title)
            .WithSize(640, 600);
    }

    /// <summary>The k-sigma contour of <paramref name="g"/> as <paramref name="points"/> points plus the closing repeat.</summary>
    internal static (double[] X, double[] Y) EllipsePoints(Gaussian2D g, double k, int points)
    {
        var x = new double[points + 1];
        var y = new double[points + 1];
        for (int p = 0; p <= points; p++)
        {
            double t = 2 * Math.PI * (p % points) / points;
            x[p] = g.MeanX + k * g.SigmaX * Math.Cos(t);
            y[p] = g.MeanY + k * g.SigmaY * Math.Sin(t);
        }
        return (x, y);
    }

    static string HexWithAlpha(string hex, double alpha)
    {
        int rgb = Convert.ToInt32(hex.TrimStart('#'), 16);
        return Invariant($"rgba({(rgb >> 16) & 255}, {(rgb >> 8) & 255}, {rgb & 255}, {alpha})");
    }

    static Plotly.NET.LayoutObjects.LinearAxis EqualScaleAxis()
    {
        var axis = new Plotly.NET.LayoutObjects.LinearAxis();
        axis.SetProperty("scaleanchor", "x");
        axis.SetProperty("scaleratio", 1);
        return axis;
    }
}
