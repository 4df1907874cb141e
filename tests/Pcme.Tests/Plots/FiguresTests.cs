using System.Text.Json;
using Pcme.Analysis;
using Pcme.Plots;

namespace Pcme.Tests.Plots;

public class FiguresTests
{
    [Fact]
    public void LossCurves_one_line_per_run_and_validation_on_a_second_axis()
    {
        var fig = FigureJson.Of(Figures.LossCurves(
        [
            new TrainingCurve("PCME", [3.0, 2.0, 1.5], Validation: [40, 55], ValidationEpochs: [1, 3]),
            new TrainingCurve("mu-only", [3.1, 2.4, 2.0]),
        ], title: "Losses", validationLabel: "R@1"));

        var traces = fig.Traces();
        Assert.Equal(3, traces.Length);
        Assert.Equal(["PCME", "mu-only", "PCME (R@1)"], traces.Select(t => t.Str("name")));
        Assert.Equal([1.0, 2, 3], traces[0].Doubles("x"));
        Assert.Equal([3.0, 2.0, 1.5], traces[0].Doubles("y"));
        Assert.Equal([3.1, 2.4, 2.0], traces[1].Doubles("y"));
        Assert.Equal([1.0, 3], traces[2].Doubles("x"));
        Assert.Equal([40.0, 55], traces[2].Doubles("y"));
        Assert.Equal("y2", traces[2].Str("yaxis"));
        Assert.NotEqual("y2", traces[0].Str("yaxis"));
        Assert.Equal("PCME", traces[2].Str("legendgroup"));

        Assert.Equal("Losses", fig.TitleText());
        Assert.Equal("epoch", fig.AxisTitle("xaxis"));
        Assert.Equal("training loss", fig.AxisTitle("yaxis"));
        Assert.Equal("R@1", fig.AxisTitle("yaxis2"));
        var y2 = fig.Layout().GetProperty("yaxis2");
        Assert.Equal("y", y2.Str("overlaying"));
        Assert.Equal("right", y2.Str("side"));
    }

    [Fact]
    public void LossCurves_can_put_validation_in_its_own_subplot()
    {
        var fig = FigureJson.Of(Figures.LossCurves([new TrainingCurve("PCME", [1.0, 0.5], Validation: [10, 20])],
            placement: ValidationPlacement.SeparatePlot, validationLabel: "RSUM"));
        var traces = fig.Traces();
        Assert.Equal(2, traces.Length);
        Assert.Equal("y2", traces[1].Str("yaxis"));
        Assert.Equal("x2", traces[1].Str("xaxis"));
        Assert.Equal("training loss", fig.AxisTitle("yaxis"));
        Assert.Equal("RSUM", fig.AxisTitle("yaxis2"));
        Assert.Equal("epoch", fig.AxisTitle("xaxis2"));
    }

    [Fact]
    public void LossCurves_rejects_mismatched_validation_epochs()
    {
        var e = Assert.Throws<ArgumentException>(() => Figures.LossCurves([new TrainingCurve("a", [1.0], [1, 2], [1])]));
        Assert.Contains("validation epochs", e.Message);
    }

    [Fact]
    public void MetricBars_groups_bars_by_direction_and_scorer_with_one_trace_per_model()
    {
        var fig = FigureJson.Of(Figures.MetricBars(
        [
            new MetricValue("PCME", "cosine", "i2t", 60.0),
            new MetricValue("PCME", "mc", "i2t", 62.5),
            new MetricValue("PCME", "cosine", "t2i", 50.0),
            new MetricValue("PCME", "mc", "t2i", 51.0),
            new MetricValue("mu-only", "cosine", "t2i", 49.0),
            new MetricValue("mu-only", "cosine", "i2t", 58.0),
        ], metricName: "R@1 (%)"));

        var traces = fig.Traces();
        Assert.Equal(2, traces.Length);
        Assert.All(traces, t => Assert.Equal("bar", t.Str("type")));
        Assert.Equal(["PCME", "mu-only"], traces.Select(t => t.Str("name")));
        Assert.Equal([60.0, 62.5, 50.0, 51.0], traces[0].Doubles("y"));
        var x0 = traces[0].GetProperty("x").EnumerateArray().Select(level => level.Strings()).ToArray();
        Assert.Equal(["i2t", "i2t", "t2i", "t2i"], x0[0]);
        Assert.Equal(["cosine", "mc", "cosine", "mc"], x0[1]);
        // mu-only's bars come in the same (direction, scorer) order, whatever the input order.
        Assert.Equal([58.0, 49.0], traces[1].Doubles("y"));
        Assert.Equal(["i2t", "t2i"], traces[1].GetProperty("x")[0].Strings());
        Assert.Equal(["60.0", "62.5", "50.0", "51.0"], traces[0].GetProperty("text").Strings());
        Assert.Equal("group", fig.Layout().Str("barmode"));
        Assert.Equal("R@1 (%)", fig.AxisTitle("yaxis"));
        Assert.Equal("R@1 (%)", fig.TitleText());
    }

    [Fact]
    public void MetricBars_rejects_duplicates()
    {
        var e = Assert.Throws<ArgumentException>(() => Figures.MetricBars([new("m", "s", "i2t", 1), new("m", "s", "i2t", 2)]));
        Assert.Contains("more than once", e.Message);
    }

    [Fact]
    public void SigmaBySpecificity_draws_mean_with_std_error_bars_per_level()
    {
        int[] level = [0, 0, 1, 1, 1, 4];
        double[] sigma = [1.0, 3.0, 2.0, 2.0, 5.0, 9.0];
        var fig = FigureJson.Of(Figures.SigmaBySpecificity(level, sigma));
        var trace = Assert.Single(fig.Traces());
        Assert.Equal([0.0, 1, 4], trace.Doubles("x"));
        Assert.Equal([2.0, 3.0, 9.0], trace.Doubles("y"));
        var error = trace.GetProperty("error_y");
        Assert.Equal("data", error.Str("type"));
        double[] std = [.. error.GetProperty("array").EnumerateArray().Select(e => e.GetDouble())];
        Assert.Equal(1.0, std[0], 12);
        Assert.Equal(Math.Sqrt(2.0), std[1], 12);
        Assert.Equal(0.0, std[2], 12);
        Assert.Equal(["n = 2", "n = 3", "n = 1"], trace.GetProperty("text").Strings());
        Assert.Contains("specificity", fig.AxisTitle("xaxis"));
        Assert.Equal(1, fig.Layout().GetProperty("xaxis").GetProperty("dtick").GetInt32());
    }

    [Fact]
    public void SigmaVsRelevantCount_puts_spearman_in_the_title_and_uses_a_log_axis()
    {
        int[] count = [1, 2, 4, 8, 16];
        double[] sigma = [0.1, 0.3, 0.2, 0.5, 0.9];   // ranks 1 3 2 4 5 vs 1 2 3 4 5: rho = 1 - 6*2/(5*24) = 0.9
        var fig = FigureJson.Of(Figures.SigmaVsRelevantCount(count, sigma, title: "sigma vs count"));
        var trace = Assert.Single(fig.Traces());
        Assert.Equal("markers", trace.Str("mode"));
        Assert.Equal([1.0, 2, 4, 8, 16], trace.Doubles("x"));
        Assert.Equal(sigma, trace.Doubles("y"));
        Assert.Equal("sigma vs count (Spearman ρ = 0.900, n = 5)", fig.TitleText());
        Assert.Equal("log", fig.Layout().GetProperty("xaxis").Str("type"));

        var linear = FigureJson.Of(Figures.SigmaVsRelevantCount([0, 1], [0.1, 0.2], logX: false));
        Assert.Equal("linear", linear.Layout().GetProperty("xaxis").Str("type"));
        Assert.Throws<ArgumentException>(() => Figures.SigmaVsRelevantCount([0, 1], [0.1, 0.2]));
    }

    [Fact]
    public void RecallByUncertaintyBin_one_series_per_trace_with_bin_means_on_x()
    {
        var series = new[]
        {
            new UncertaintyBinSeries("i2t", [new(0.1, 80, 10), new(0.2, 60, 10), new(0.3, 40, 10)]),
            new UncertaintyBinSeries("t2i", [new(0.15, 70, 5), new(0.25, 50, 5)]),
        };
        var lines = FigureJson.Of(Figures.RecallByUncertaintyBin(series));
        var traces = lines.Traces();
        Assert.Equal(2, traces.Length);
        Assert.Equal([0.1, 0.2, 0.3], traces[0].Doubles("x"));
        Assert.Equal([80.0, 60, 40], traces[0].Doubles("y"));
        Assert.Equal("t2i", traces[1].Str("name"));
        Assert.Equal("lines+markers", traces[0].Str("mode"));

        var bars = FigureJson.Of(Figures.RecallByUncertaintyBin(series, asBars: true)).Traces();
        Assert.All(bars, t => Assert.Equal("bar", t.Str("type")));
        Assert.Equal([0.15, 0.25], bars[1].Doubles("x"));
        Assert.Equal([70.0, 50], bars[1].Doubles("y"));
    }

    [Fact]
    public void Heatmap_keeps_rows_and_labels()
    {
        double[,] w = { { 0.1, 0.2, 0.3 }, { 0.4, 0.5, 0.6 } };
        var fig = FigureJson.Of(Figures.Heatmap(w, rowLabels: ["j=0", "j=1"], title: "w", xTitle: "j'", yTitle: "j"));
        var trace = Assert.Single(fig.Traces());
        Assert.Equal("heatmap", trace.Str("type"));
        var z = trace.GetProperty("z").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
        Assert.Equal([0.1, 0.2, 0.3], z[0]);
        Assert.Equal([0.4, 0.5, 0.6], z[1]);
        Assert.Equal(["0", "1", "2"], trace.GetProperty("x").Strings());
        Assert.Equal(["j=0", "j=1"], trace.GetProperty("y").Strings());
        Assert.Equal("j'", fig.AxisTitle("xaxis"));
        Assert.Equal("j", fig.AxisTitle("yaxis"));
        Assert.Equal("reversed", fig.Layout().GetProperty("yaxis").Str("autorange"));
        Assert.Throws<ArgumentException>(() => Figures.Heatmap([[1.0, 2.0], [3.0]]));
    }

    [Fact]
    public void Ellipses2D_draws_each_k_sigma_contour_and_the_labelled_means()
    {
        var g = new[] { new Gaussian2D("a red boot", 1, 2, 0.5, 0.25), new Gaussian2D("a garment", -1, 0, 2, 1) };
        var fig = FigureJson.Of(Figures.Ellipses2D(g, sigmaMultiples: [1, 3], pointsPerEllipse: 16));
        var traces = fig.Traces();
        Assert.Equal(2 * 2 + 1, traces.Length);

        // Gaussian 0 at k = 3: every point on (x-1)^2/1.5^2 + (y-2)^2/0.75^2 = 1, closed.
        var x = traces[1].Doubles("x");
        var y = traces[1].Doubles("y");
        Assert.Equal(17, x.Length);
        Assert.Equal(x[0], x[^1]);
        Assert.Equal(y[0], y[^1]);
        for (int i = 0; i < x.Length; i++)
            Assert.Equal(1.0, Math.Pow((x[i] - 1) / 1.5, 2) + Math.Pow((y[i] - 2) / 0.75, 2), 9);
        Assert.Equal(2.5, x.Max(), 9);
        Assert.Equal(2.75, y.Max(), 9);

        Assert.Equal("toself", traces[0].Str("fill"));
        Assert.Equal("a red boot", traces[0].Str("legendgroup"));
        Assert.True(traces[0].GetProperty("showlegend").GetBoolean());
        Assert.False(traces[1].GetProperty("showlegend").GetBoolean());
        Assert.Equal("a garment", traces[2].Str("name"));

        var means = traces[^1];
        Assert.Equal("markers+text", means.Str("mode"));
        Assert.Equal([1.0, -1], means.Doubles("x"));
        Assert.Equal([2.0, 0], means.Doubles("y"));
        Assert.Equal(["a red boot", "a garment"], means.GetProperty("text").Strings());
        Assert.Equal("x", fig.Layout().GetProperty("yaxis").Str("scaleanchor"));
        Assert.Equal("dimension 2", fig.AxisTitle("yaxis"));
    }

    [Fact]
    public void Builders_reject_non_finite_values()
    {
        Assert.Throws<ArgumentException>(() => Figures.LossCurves([new TrainingCurve("a", [1.0, double.NaN])]));
        Assert.Throws<ArgumentException>(() => Figures.SigmaBySpecificity([0], [double.PositiveInfinity]));
        Assert.Throws<ArgumentException>(() => Figures.Ellipses2D([new Gaussian2D("a", 0, 0, 0, 1)]));
    }

    [Fact]
    public void Figures_serialize_to_valid_json_with_non_ascii_titles()
    {
        var chart = Figures.SigmaBySpecificity([0, 1], [1.0, 2.0], title: "σ by level — ünïcode");
        Assert.Equal("σ by level — ünïcode", FigureJson.Of(chart).TitleText());
        Assert.Equal(JsonValueKind.Array, FigureJson.Of(chart).GetProperty("data").ValueKind);
    }

    [Fact]
    public void Lines_draws_one_trace_per_series_with_optional_error_bars_and_log_x()
    {
        var fig = FigureJson.Of(Figures.Lines(
        [
            new LineSeries("estimate", [1, 2, 4], [0.5, 0.6, 0.55], Error: [0.2, 0.1, 0.05]),
            new LineSeries("exact", [1, 4], [0.56, 0.56]),
        ], "MC estimate", "J", "p", logX: true));
        var traces = fig.Traces();
        Assert.Equal(["estimate", "exact"], traces.Select(t => t.Str("name")));
        Assert.Equal([1.0, 2, 4], traces[0].Doubles("x"));
        Assert.Equal([0.2, 0.1, 0.05], traces[0].GetProperty("error_y").Doubles("array"));
        Assert.False(traces[1].TryGetProperty("error_y", out _));
        Assert.Equal("MC estimate", fig.TitleText());
        Assert.Equal("J", fig.AxisTitle("xaxis"));
        Assert.Equal("p", fig.AxisTitle("yaxis"));
        Assert.Equal("log", fig.Layout().GetProperty("xaxis").Str("type"));
        Assert.Throws<ArgumentException>(() => Figures.Lines([new LineSeries("bad", [1, 2], [1])], "t", "x", "y"));
        Assert.Throws<ArgumentException>(() => Figures.Lines([new LineSeries("zero", [0, 1], [1, 1])], "t", "x", "y", logX: true));
    }
}
