using System.Globalization;
using System.Net;
using System.Text;
using Pcme.Data;

namespace Pcme.Interactive;

/// <summary>
/// A piece of HTML a notebook cell can return or <c>display</c>: the kit's formatter writes
/// <see cref="Markup"/> as it is (text/html). Build it with <see cref="NotebookHtml"/>, which escapes text.
/// </summary>
/// <param name="Markup">The HTML.</param>
public sealed record Html(string Markup)
{
    /// <inheritdoc />
    public override string ToString() => Markup;

    /// <summary>Several pieces one after another.</summary>
    public static Html Concat(params Html[] parts) => new(string.Concat(parts.Select(p => p.Markup)));
}

/// <summary>Small HTML builders for notebooks: tables, headings, images of <see cref="RgbImage"/>s. All text is HTML-escaped.</summary>
public static class NotebookHtml
{
    internal const string TableStyle = "border-collapse:collapse;margin:0.5em 0;font-variant-numeric:tabular-nums";
    internal const string CellStyle = "border:1px solid #ccc;padding:0.2em 0.6em;text-align:right";
    internal const string HeaderStyle = "border:1px solid #ccc;padding:0.2em 0.6em;background:#f0f3f8;text-align:center";

    /// <summary>A table with a header row; every row must have as many cells as the header.</summary>
    /// <param name="header">Column titles.</param>
    /// <param name="rows">Rows of plain-text cells.</param>
    /// <param name="caption">Optional caption above the table.</param>
    public static Html Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, string? caption = null)
    {
        var html = new StringBuilder($"<table class=\"pcme-table\" style=\"{TableStyle}\">");
        if (caption is not null) html.Append("<caption style=\"caption-side:top;text-align:left;font-weight:600\">").Append(Escape(caption)).Append("</caption>");
        html.Append("<thead><tr>");
        foreach (var h in header) html.Append($"<th style=\"{HeaderStyle}\">").Append(Escape(h)).Append("</th>");
        html.Append("</tr></thead><tbody>");
        int r = 0;
        foreach (var row in rows)
        {
            if (row.Count != header.Count)
                throw new ArgumentException($"Row {r} has {row.Count} cells but the header has {header.Count}.", nameof(rows));
            html.Append("<tr>");
            foreach (var cell in row) html.Append($"<td style=\"{CellStyle}\">").Append(Escape(cell)).Append("</td>");
            html.Append("</tr>");
            r++;
        }
        return new Html(html.Append("</tbody></table>").ToString());
    }

    /// <summary>A heading (level 1-6) of plain text.</summary>
    public static Html Heading(string text, int level = 3)
    {
        if (level is < 1 or > 6) throw new ArgumentOutOfRangeException(nameof(level), level, "HTML headings go from 1 to 6.");
        return new Html($"<h{level}>{Escape(text)}</h{level}>");
    }

    /// <summary>A paragraph of plain text.</summary>
    public static Html Paragraph(string text) => new("<p>" + Escape(text) + "</p>");

    /// <summary>
    /// <paramref name="image"/> as an inline PNG (<c>&lt;img src="data:image/png;base64,..."&gt;</c>), enlarged
    /// <paramref name="scale"/> times without smoothing, with an optional caption underneath.
    /// </summary>
    public static Html Image(RgbImage image, int scale = 2, string? caption = null)
    {
        string src = "data:image/png;base64," + Convert.ToBase64String(PngEncoder.EncodePng(image, scale));
        var html = new StringBuilder("<figure style=\"display:inline-block;margin:0.3em;vertical-align:top;max-width:")
            .Append((image.Width * scale + 20).ToString(CultureInfo.InvariantCulture)).Append("px\">")
            .Append($"<img src=\"{src}\" width=\"{image.Width * scale}\" height=\"{image.Height * scale}\" style=\"image-rendering:pixelated;border:1px solid #ddd\" alt=\"{Escape(caption ?? "image")}\">");
        if (caption is not null) html.Append("<figcaption style=\"font-size:85%\">").Append(Escape(caption)).Append("</figcaption>");
        return new Html(html.Append("</figure>").ToString());
    }

    /// <summary>Images side by side, each with its caption, under an optional title.</summary>
    public static Html Gallery(IEnumerable<(RgbImage Image, string Caption)> images, string? title = null, int scale = 2)
    {
        var html = new StringBuilder("<div class=\"pcme-gallery\">");
        if (title is not null) html.Append(Heading(title, 4).Markup);
        foreach (var (image, caption) in images) html.Append(Image(image, scale, caption).Markup);
        return new Html(html.Append("</div>").ToString());
    }

    /// <summary>Formats a number with the invariant culture (e.g. "0.00"); NaN and infinities as "-".</summary>
    public static string Number(double value, string format = "0.00") =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";

    internal static string Escape(string text) => WebUtility.HtmlEncode(text);
}
