using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Giraffe.ViewEngine;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using Plotly.NET;
using XmlNode = Giraffe.ViewEngine.HtmlElements.XmlNode;
using Pcme.Runtime;

namespace Pcme.Plots;

/// <summary>A table for <see cref="HtmlReport.Table"/>; every cell is plain text (HTML-escaped when written).</summary>
/// <param name="Header">Column titles.</param>
/// <param name="Rows">Rows, each with one cell per column.</param>
public sealed record ReportTable(string[] Header, string[][] Rows);

/// <summary>
/// Builds one self-contained, offline HTML page: a title, then paragraphs, headings, tables and
/// Plotly charts in the order they were added.
/// <para>plotly.js is embedded exactly once, by Plotly.NET itself: the page is made with
/// <c>Plotly.NET.HTML.Doc</c> and <c>PlotlyJSReference.Full</c>, which inlines the plotly.js that
/// Plotly.NET carries as a manifest resource (plotly-2.28.0.min.js in Plotly.NET 6.0.0) in a
/// head script. Each chart is the library's <c>GenericChart.toChartHTML</c> (a div plus a
/// <c>Plotly.newPlot</c> script) with no plotly.js reference of its own, so nothing is fetched
/// when the page is viewed.</para>
/// <para>Each chart sits in <c>&lt;section class="pcme-chart" id="pcme-chart-N"&gt;</c> (N = 1, 2, ...)
/// and its plot div gets the id <c>pcme-chart-N-plot</c> instead of Plotly.NET's random GUID, so
/// the same report data gives the same file.</para>
/// </summary>
/// <param name="title">Page title (the &lt;title&gt; and a top-level heading).</param>
public sealed class HtmlReport(string title)
{
    const string Style = """
        <style>
          body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
          table.pcme-table { border-collapse: collapse; margin: 1em 0; }
          table.pcme-table th, table.pcme-table td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
          table.pcme-table th { background: #f0f3f8; }
          table.pcme-table caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.3em; }
          section.pcme-chart { margin: 1.5em 0; }
        </style>
        """;

    static readonly Regex ChartDivId = new("<div id=\"([0-9a-fA-F-]{36})\">", RegexOptions.CultureInvariant);

    readonly List<string> _blocks = [];
    int _charts;

    /// <summary>The page title.</summary>
    public string Title { get; } = title;

    /// <summary>Number of charts added so far.</summary>
    public int ChartCount => _charts;

    /// <summary>Adds a paragraph of plain text (escaped; line breaks kept).</summary>
    public HtmlReport Paragraph(string text)
    {
        _blocks.Add("<p>" + Escape(text).Replace("\n", "<br>") + "</p>");
        return this;
    }

    /// <summary>Adds a section heading (plain text, escaped).</summary>
    public HtmlReport Heading(string text)
    {
        _blocks.Add("<h2>" + Escape(text) + "</h2>");
        return this;
    }

    /// <summary>Adds a table; every row must have as many cells as the header.</summary>
    /// <param name="table">Header and rows, plain text.</param>
    /// <param name="caption">Optional caption above the table.</param>
    public HtmlReport Table(ReportTable table, string? caption = null)
    {
        for (int r = 0; r < table.Rows.Length; r++)
            if (table.Rows[r].Length != table.Header.Length)
                throw new ArgumentException($"Row {r} has {table.Rows[r].Length} cells but the header has {table.Header.Length}.", nameof(table));
        var html = new StringBuilder("<table class=\"pcme-table\">");
        if (caption is not null) html.Append("<caption>").Append(Escape(caption)).Append("</caption>");
        html.Append("<thead><tr>");
        foreach (var h in table.Header) html.Append("<th>").Append(Escape(h)).Append("</th>");
        html.Append("</tr></thead><tbody>");
        foreach (var row in table.Rows)
        {
            html.Append("<tr>");
            foreach (var cell in row) html.Append("<td>").Append(Escape(cell)).Append("</td>");
            html.Append("</tr>");
        }
        _blocks.Add(html.Append("</tbody></table>").ToString());
        return this;
    }

    /// <summary>Adds a chart under a heading.</summary>
    /// <param name="heading">Heading shown above the chart (plain text, escaped).</param>
    /// <param name="chart">The figure, e.g. from <see cref="Figures"/>.</param>
    public HtmlReport Chart(string heading, GenericChart chart)
    {
        string id = $"pcme-chart-{++_charts}";
        _blocks.Add($"<section class=\"pcme-chart\" id=\"{id}\"><h2>{Escape(heading)}</h2>{ChartHtml(chart, id + "-plot")}</section>");
        return this;
    }

    /// <summary>The whole page as a string.</summary>
    public string ToHtml()
    {
        var body = new List<XmlNode>
        {
            HtmlElements.rawText("<h1>" + Escape(Title) + "</h1>"),
            HtmlElements.rawText(string.Concat(_blocks)),
        };
        var head = FSharpList<XmlNode>.Cons(HtmlElements.rawText(Style), FSharpList<XmlNode>.Empty);
        var document = HTML.Doc(body, Title, "UTF-8", Title, HtmlElements.rawText(""), PlotlyJSReference.Full,
            FSharpOption<FSharpList<XmlNode>>.Some(head), FSharpOption<FSharpList<XmlNode>>.None);
        return DeclareCharsetFirst(RenderView.AsString.htmlDocument(document));
    }

    /// <summary>
    /// Browsers look for the charset declaration only in the first 1024 bytes; Plotly.NET's document
    /// puts its meta tag after the inlined plotly.js (3.5 MB), so without this a page read from disk
    /// is decoded as windows-1252 and every non-ASCII character (σ, ρ, plotly's own minus sign) is garbled.
    /// </summary>
    static string DeclareCharsetFirst(string html)
    {
        const string head = "<head>";
        int at = html.IndexOf(head, StringComparison.OrdinalIgnoreCase);
        return at < 0
            ? "<meta charset=\"utf-8\">" + html
            : html.Insert(at + head.Length, "<meta charset=\"utf-8\">");
    }

    /// <summary>Writes the page to <paramref name="path"/> atomically (a temporary file in the same folder, then a rename); returns the full path.</summary>
    public string Write(string path)
    {
        string full = Path.GetFullPath(path);
        AtomicFile.WriteAllText(full, ToHtml());
        return full;
    }

    /// <summary>
    /// Plotly.NET's div + script for <paramref name="chart"/> with no plotly.js reference, its div id
    /// replaced by <paramref name="id"/>, and "&lt;/" inside the script written "&lt;\/" (the same
    /// string in JavaScript) so that text such as a caption containing "&lt;/script&gt;" cannot end the script.
    /// </summary>
    static string ChartHtml(GenericChart chart, string id)
    {
        var withoutReference = Plotly.NET.Chart.withDisplayOptionsStyle(null, null, null, null, null, null,
            FSharpOption<PlotlyJSReference>.Some(PlotlyJSReference.NoReference)).Invoke(chart);
        string html = GenericChart.toChartHTML(withoutReference);
        var match = ChartDivId.Match(html);
        if (match.Success)
        {
            string guid = match.Groups[1].Value;
            html = html.Replace(guid, id).Replace(guid.Replace("-", ""), id.Replace("-", "_"));
        }
        const string open = "<script type=\"text/javascript\">", close = "</script>";
        int start = html.IndexOf(open, StringComparison.Ordinal), end = html.LastIndexOf(close, StringComparison.Ordinal);
        if (start < 0 || end < start) return html;
        start += open.Length;
        string script = html[start..end].Replace("</", "<\\/").Replace("<!--", "<\\!--");
        return html[..start] + script + html[end..];
    }

    static string Escape(string text) => WebUtility.HtmlEncode(text);
}
