using Pcme.Data;
using Pcme.Evaluation;
using Pcme.Interactive;
using Pcme.Plots;
using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Tests.Interactive;

/// <summary>The notebook helpers outside a kernel (the formatters' registration is checked by the notebook runs).</summary>
public class PcmeInteractiveTests
{
    [Theory]
    [InlineData(null, ProblemSize.Full)]
    [InlineData("", ProblemSize.Full)]
    [InlineData("full", ProblemSize.Full)]
    [InlineData(" Small ", ProblemSize.Small)]
    public void Problem_size_comes_from_the_variable_with_full_as_default(string? value, ProblemSize expected) =>
        Assert.Equal(expected, NotebookSize.Parse(value));

    [Fact]
    public void Unknown_problem_size_names_the_choices()
    {
        var e = Assert.Throws<ArgumentException>(() => NotebookSize.Parse("huge"));
        Assert.Contains("PCME_NOTEBOOK_SIZE", e.Message);
        Assert.Contains("small", e.Message);
    }

    [Fact]
    public void First_chart_of_a_session_embeds_plotly_js_once_and_every_chart_draws_with_newPlot()
    {
        ChartHtml.Source = PlotlyJsSource.EmbedOnce;
        ChartHtml.ResetSession();
        var chart = Figures.Heatmap(new double[,] { { 1, 2 }, { 3, 4 } }, title: "a </script> title");
        string first = ChartHtml.Render(chart), second = ChartHtml.Render(chart);
        Assert.Contains("Plotly.newPlot(", first);
        Assert.Contains("Plotly.newPlot(", second);
        Assert.Contains($"plotly.js {ChartHtml.PlotlyJsVersion}", first);
        Assert.True(first.Length > 1_000_000, "the first chart carries plotly.js");
        Assert.True(second.Length < 100_000, "later charts do not");
        Assert.DoesNotContain("</script> title", second);              // escaped inside the script
        Assert.Contains($"https://cdn.plot.ly/plotly-{ChartHtml.PlotlyJsVersion}.min.js", second); // fallback only
        Assert.Contains("pcmeDraw", second);
        // The script element carries exactly one renderPlotly call, inside the waiter.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(second, @"renderPlotly_[0-9a-f]+\(\)"));
    }

    [Pcme.Tests.Plots.BrowserTheory]
    [InlineData(false, false)]
    [InlineData(true, false)]   // notebook front ends load RequireJS: plotly.js must still set window.Plotly
    [InlineData(false, true)]   // an output without plotly.js shown before the one that carries it
    public void Chart_outputs_draw_in_a_browser_offline(bool amdLoaderPresent, bool laterOutputFirst)
    {
        string chromium = Pcme.Tests.Plots.BrowserRenderTests.Chromium;
        if (!Pcme.Tests.Plots.BrowserRenderTests.Available) Assert.Fail(Pcme.Tests.Plots.BrowserRenderTests.InstallHint);
        ChartHtml.Source = PlotlyJsSource.EmbedOnce;
        ChartHtml.ResetSession();
        string first = ChartHtml.Render(Figures.Heatmap(new double[,] { { 1, 2 }, { 3, 4 } }, title: "first"));
        string second = ChartHtml.Render(Figures.Lines([new LineSeries("s", [1, 2], [3, 4])], "second", "x", "y"));
        string amd = amdLoaderPresent ? "<script>window.define = function () { throw new Error('plotly registered as an AMD module'); }; window.define.amd = {};</script>" : "";
        string body = laterOutputFirst ? $"<section id=\"b\">{second}</section><section id=\"a\">{first}</section>" : $"<section id=\"a\">{first}</section><section id=\"b\">{second}</section>";
        string dir = Directory.CreateTempSubdirectory("pcme-notebook-browser-").FullName;
        try
        {
            string page = Path.Combine(dir, "outputs.html");
            File.WriteAllText(page, $"<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>{amd}{body}</body></html>");
            string dom = Pcme.Tests.Plots.BrowserRenderTests.DumpDom(page, Path.Combine(dir, "profile"));
            foreach (var id in new[] { "a", "b" })
            {
                int start = dom.IndexOf($"<section id=\"{id}\">", StringComparison.Ordinal);
                int end = dom.IndexOf("</section>", start, StringComparison.Ordinal);
                Assert.True(start >= 0 && end > start, $"section {id} missing");
                Assert.True(dom[start..end].Contains("class=\"main-svg\""), $"plotly drew no SVG in section {id}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            ChartHtml.ResetSession();
        }
    }

    [Fact]
    public void Cdn_source_never_embeds_plotly_js()
    {
        try
        {
            ChartHtml.Source = PlotlyJsSource.Cdn;
            ChartHtml.ResetSession();
            string html = ChartHtml.Render(Figures.Heatmap(new double[,] { { 1 } }));
            Assert.True(html.Length < 100_000);
            Assert.Contains("})(0);", html);
        }
        finally { ChartHtml.Source = PlotlyJsSource.EmbedOnce; ChartHtml.ResetSession(); }
    }

    [Fact]
    public void Tables_escape_text_and_check_row_widths()
    {
        var html = NotebookHtml.Table(["a<b", "c"], [["<x>", "&"]], caption: "cap & co").Markup;
        Assert.Contains("a&lt;b", html);
        Assert.Contains("&lt;x&gt;", html);
        Assert.Contains("&amp;", html);
        Assert.Contains("cap &amp; co", html);
        Assert.Throws<ArgumentException>(() => NotebookHtml.Table(["a", "b"], [["1"]]));
    }

    [Fact]
    public void Images_become_inline_pngs_with_their_caption()
    {
        var image = new RgbImage(2, 2, Enumerable.Repeat((byte)200, 12).ToArray());
        var html = NotebookHtml.Gallery([(image, "a <red> circle")], title: "top", scale: 4).Markup;
        Assert.Contains("src=\"data:image/png;base64,iVBOR", html);
        Assert.Contains("width=\"8\"", html);
        Assert.Contains("a &lt;red&gt; circle", html);
        Assert.Contains("<h4>top</h4>", html);
    }

    [Fact]
    public void Gaussian_summary_shows_count_dimension_sigma_and_device()
    {
        using var scope = NewDisposeScope();
        // Item sigmas: exp(mean(h)/2) = exp(0) = 1 and exp(ln 4 / 2) = 2.
        var e = new GaussianEmbedding(zeros([2, 3]), tensor(new float[] { 0, 0, 0, MathF.Log(4), MathF.Log(4), MathF.Log(4) }, [2, 3]));
        var html = PcmeFormatters.GaussianSummary(e).Markup;
        foreach (var cell in new[] { ">2<", ">3<", ">1.5000<", ">1.0000<", ">2.0000<", ">cpu<", ">Float32<" }) Assert.Contains(cell, html);
    }

    [Fact]
    public void Metric_tables_have_one_row_per_direction_or_scorer()
    {
        static RetrievalMetrics M(double r1) => new([new RecallAtK(1, r1), new RecallAtK(5, 90), new RecallAtK(10, 95)], [new PrecisionAtK(1, r1), new PrecisionAtK(5, 17.25)], 40, 30, null, 1, 2, 10, 0, 50);
        var metrics = new CrossModalMetrics(M(50), M(60));
        var html = PcmeFormatters.MetricsHtml(metrics).Markup;
        Assert.Contains(">i2t<", html);
        Assert.Contains(">60.00<", html);
        Assert.Contains(">P@5<", html);
        Assert.Contains(">17.25<", html);
        Assert.Contains($"RSUM {metrics.Rsum:0.0}", html);
        Assert.DoesNotContain("PMRP", html);
        var scorers = PcmeFormatters.ScorerTable([new ScorerResult("mc", metrics, 0.25), new ScorerResult("elk", metrics, 0.5)]).Markup;
        Assert.Contains(">mc<", scorers);
        Assert.Contains(">elk<", scorers);
        Assert.Contains(">0.250<", scorers);
    }

    [Fact]
    public void Registering_outside_a_kernel_is_a_harmless_no_op() => Assert.False(PcmeFormatters.Register());
}
