using System.Text.RegularExpressions;
using Pcme.Plots;
using Plotly.NET;

namespace Pcme.Tests.Plots;

public class HtmlReportTests
{
    /// <summary>The banner at the top of the plotly.js that Plotly.NET embeds.</summary>
    static readonly string PlotlyBanner = "plotly.js v" + Globals.PLOTLYJS_VERSION;

    static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;

    internal static HtmlReport TwoChartReport() => new HtmlReport("PCME report")
        .Paragraph("Trained on the synthetic shapes data set; σ should grow with vagueness.")
        .Table(new ReportTable(["model", "R@1 i2t"], [["PCME", "68.8"], ["mu-only", "66.1"]]))
        .Chart("Loss", Figures.LossCurves([new TrainingCurve("PCME", [3.0, 2.0, 1.0], [10, 20, 30]), new TrainingCurve("mu-only", [3.0, 2.5, 2.0])]))
        .Chart("Sigma by specificity", Figures.SigmaBySpecificity([0, 0, 1, 2, 3, 4], [0.5, 0.6, 0.7, 0.9, 1.0, 1.4]));

    [Fact]
    public void Embeds_plotly_js_exactly_once_whatever_the_number_of_charts()
    {
        string none = new HtmlReport("empty").ToHtml();
        string two = TwoChartReport().ToHtml();
        var many = new HtmlReport("many");
        for (int i = 0; i < 5; i++) many.Chart($"chart {i}", Figures.Heatmap(new double[,] { { i, 1 }, { 2, 3 } }));
        string five = many.ToHtml();

        foreach (var html in new[] { none, two, five })
            Assert.Equal(1, Count(html, PlotlyBanner));
        Assert.True(none.Length > 2_000_000, "plotly.js (~3.5 MB) should be inlined even without charts");
        Assert.True(five.Length - none.Length < 500_000, "each chart must add only its div and script, not another plotly.js");
        Assert.Equal(2, Count(two, "Plotly.newPlot('pcme-chart-"));
        Assert.Equal(5, Count(five, "Plotly.newPlot('pcme-chart-"));
        // plotly.js is defined before the first chart script runs.
        Assert.True(two.IndexOf(PlotlyBanner, StringComparison.Ordinal) < two.IndexOf("Plotly.newPlot('pcme-chart-", StringComparison.Ordinal));
    }

    [Fact]
    public void Declares_utf8_within_the_first_1024_bytes()
    {
        // Plotly.NET's own meta tag comes after the 3.5 MB plotly.js, too late for a browser's charset sniffing.
        string html = TwoChartReport().ToHtml();
        int at = html.IndexOf("<meta charset=\"utf-8\">", StringComparison.OrdinalIgnoreCase);
        Assert.InRange(at, 0, 1000);
        Assert.True(at < html.IndexOf(PlotlyBanner, StringComparison.Ordinal));
    }

    [Fact]
    public void Needs_no_network()
    {
        string html = TwoChartReport().ToHtml();
        Assert.DoesNotMatch(new Regex(@"<script[^>]*\ssrc\s*=", RegexOptions.IgnoreCase), html);
        // Outside script bodies (plotly.js itself mentions URLs in strings), no attribute points to the network.
        string markup = Regex.Replace(html, @"(<script[^>]*>).*?(</script>)", "$1$2", RegexOptions.Singleline | RegexOptions.IgnoreCase);
        Assert.DoesNotMatch(new Regex(@"\b(src|href)\s*=\s*[""']?(https?:)?//", RegexOptions.IgnoreCase), markup);
        Assert.Equal(1 + 2, Regex.Matches(markup, "<script", RegexOptions.IgnoreCase).Count);   // plotly.js + one per chart
        Assert.DoesNotContain("require.js", html);
    }

    [Fact]
    public void Escapes_table_cells_paragraphs_and_headings()
    {
        string html = new HtmlReport("a <title> & more")
            .Paragraph("x < y & \"z\"")
            .Heading("<h3>")
            .Table(new ReportTable(["<b>col</b>"], [["<script>alert('x')</script>"], ["a & b"]]), caption: "<i>cap</i>")
            .ToHtml();
        Assert.Contains("<h1>a &lt;title&gt; &amp; more</h1>", html);
        Assert.Contains("<p>x &lt; y &amp; &quot;z&quot;</p>", html);
        Assert.Contains("<h2>&lt;h3&gt;</h2>", html);
        Assert.Contains("<th>&lt;b&gt;col&lt;/b&gt;</th>", html);
        Assert.Contains("<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</td>", html);
        Assert.Contains("<td>a &amp; b</td>", html);
        Assert.Contains("<caption>&lt;i&gt;cap&lt;/i&gt;</caption>", html);
        Assert.DoesNotContain("<b>col</b>", html);
        Assert.DoesNotContain("alert('x')", html);
    }

    [Fact]
    public void Text_inside_chart_data_cannot_close_the_script()
    {
        const string evil = "</script><script>window.pwned = 1</script>";
        string html = new HtmlReport("r").Chart("c", Figures.LossCurves([new TrainingCurve(evil, [1.0, 2.0])])).ToHtml();
        Assert.DoesNotContain(evil, html);
        Assert.Contains("<\\/script><script>window.pwned = 1<\\/script>", html);
    }

    [Fact]
    public void Charts_get_stable_ids_in_order()
    {
        var report = TwoChartReport();
        string html = report.ToHtml();
        Assert.Equal(2, report.ChartCount);
        Assert.Contains("<section class=\"pcme-chart\" id=\"pcme-chart-1\"><h2>Loss</h2>", html);
        Assert.Contains("<section class=\"pcme-chart\" id=\"pcme-chart-2\"><h2>Sigma by specificity</h2>", html);
        Assert.Contains("Plotly.newPlot('pcme-chart-1-plot'", html);
        Assert.Contains("<div id=\"pcme-chart-2-plot\">", html);
        Assert.Equal(html, TwoChartReport().ToHtml());
    }

    [Fact]
    public void Rejects_ragged_tables()
    {
        var e = Assert.Throws<ArgumentException>(() => new HtmlReport("r").Table(new ReportTable(["a", "b"], [["1"]])));
        Assert.Contains("Row 0 has 1 cells", e.Message);
    }

    [Fact]
    public void Write_replaces_the_file_atomically_and_leaves_no_temporaries()
    {
        string dir = Directory.CreateTempSubdirectory("pcme-report-").FullName;
        try
        {
            string path = Path.Combine(dir, "sub", "report.html");
            new HtmlReport("first").Write(path);
            string written = new HtmlReport("second").Paragraph("p").Write(path);
            Assert.Equal(Path.GetFullPath(path), written);
            Assert.Contains("<h1>second</h1>", File.ReadAllText(path));
            Assert.Equal(["report.html"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
