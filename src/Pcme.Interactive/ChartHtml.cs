using System.Text;
using System.Text.RegularExpressions;
using Microsoft.FSharp.Core;
using Plotly.NET;

namespace Pcme.Interactive;

/// <summary>Where a notebook's charts get plotly.js from.</summary>
public enum PlotlyJsSource
{
    /// <summary>
    /// The first chart of a kernel session carries plotly.js inline (the copy inside Plotly.NET, so no
    /// network is needed); later charts use it. Every chart waits for it and, if it never appears (an
    /// output shown without the first one), loads the same version from the plotly CDN.
    /// </summary>
    EmbedOnce,
    /// <summary>Every chart loads plotly.js from the plotly CDN (small outputs, needs the network).</summary>
    Cdn,
}

/// <summary>
/// Plotly.NET charts as notebook HTML: Plotly.NET's own chart markup (a div and a script calling
/// <c>Plotly.newPlot</c>) plus plotly.js as chosen by <see cref="Source"/>. Works in VS Code's
/// Polyglot Notebooks, Jupyter and in outputs written headless by dotnet-repl.
/// </summary>
public static class ChartHtml
{
    static readonly Regex RenderCall = new(@"\n(renderPlotly_[0-9a-fA-F]+)\(\);\s*\n?</script>", RegexOptions.CultureInvariant);
    static readonly Lazy<(string Version, string Script)> PlotlyJs = new(ReadPlotlyJs);
    static int embedded;

    /// <summary>Where charts get plotly.js from (default <see cref="PlotlyJsSource.EmbedOnce"/>).</summary>
    public static PlotlyJsSource Source { get; set; } = PlotlyJsSource.EmbedOnce;

    /// <summary>The plotly.js version Plotly.NET carries (and the CDN fallback loads).</summary>
    public static string PlotlyJsVersion => PlotlyJs.Value.Version;

    /// <summary>Forgets that plotly.js was embedded, so the next chart embeds it again (e.g. after clearing outputs).</summary>
    public static void ResetSession() => Interlocked.Exchange(ref embedded, 0);

    /// <summary>The HTML of <paramref name="chart"/> for a notebook output.</summary>
    public static string Render(GenericChart chart)
    {
        var withoutReference = Plotly.NET.Chart.withDisplayOptionsStyle(null, null, null, null, null, null,
            FSharpOption<PlotlyJSReference>.Some(PlotlyJSReference.NoReference)).Invoke(chart);
        string html = EscapeScript(GenericChart.toChartHTML(withoutReference));
        string cdn = $"https://cdn.plot.ly/plotly-{PlotlyJsVersion}.min.js";
        // Draw now if plotly.js is there, else wait for the embedded copy (up to 5 s), else fetch it.
        html = RenderCall.Replace(html, m =>
            "\n(function pcmeDraw(tries) {\n" +
            $"    if (typeof window.Plotly !== 'undefined') {{ {m.Groups[1].Value}(); return; }}\n" +
            "    if (tries > 0) { setTimeout(function () { pcmeDraw(tries - 1); }, 100); return; }\n" +
            $"    var s = document.createElement('script'); s.src = '{cdn}'; s.onload = {m.Groups[1].Value}; document.head.appendChild(s);\n" +
            $"}})({(Source == PlotlyJsSource.EmbedOnce ? 50 : 0)});\n</script>", 1);
        if (Source == PlotlyJsSource.EmbedOnce && Interlocked.Exchange(ref embedded, 1) == 0)
            html = InlinePlotlyJs() + html;
        return html;
    }

    /// <summary>
    /// plotly.js in a script element, wrapped so that it always sets <c>window.Plotly</c>: notebook front
    /// ends load RequireJS, and plotly's UMD header would otherwise register an anonymous AMD module instead.
    /// </summary>
    internal static string InlinePlotlyJs()
    {
        var (version, script) = PlotlyJs.Value;
        return new StringBuilder("<script type=\"text/javascript\">/* plotly.js ")
            .Append(version).Append(", embedded once per kernel session by Pcme.Interactive */\n")
            .Append("(function (define, exports, module) {\n").Append(script).Append("\n}).call(window);\n</script>").ToString();
    }

    static (string, string) ReadPlotlyJs()
    {
        var assembly = typeof(GenericChart).Assembly;
        string name = assembly.GetManifestResourceNames().Single(n => n.StartsWith("Plotly.NET.plotly-", StringComparison.Ordinal) && n.EndsWith(".min.js", StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(name)!;
        string script = new StreamReader(stream).ReadToEnd();
        if (script.Contains("</script", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{name} contains '</script' and cannot be inlined.");
        return (name["Plotly.NET.plotly-".Length..^".min.js".Length], script);
    }

    /// <summary>"&lt;/" inside the chart's script written "&lt;\/" (the same JavaScript string), so a title or caption holding "&lt;/script&gt;" cannot end it.</summary>
    static string EscapeScript(string html)
    {
        const string open = "<script type=\"text/javascript\">", close = "</script>";
        int start = html.IndexOf(open, StringComparison.Ordinal), end = html.LastIndexOf(close, StringComparison.Ordinal);
        if (start < 0 || end < start) return html;
        start += open.Length;
        return html[..start] + html[start..end].Replace("</", "<\\/").Replace("<!--", "<\\!--") + html[end..];
    }
}
