using System.Text.Json;
using Plotly.NET;

namespace Pcme.Tests.Plots;

/// <summary>Reads a chart back as plotly.js JSON (data + layout) for assertions.</summary>
static class FigureJson
{
    public static JsonElement Of(GenericChart chart) => JsonDocument.Parse(GenericChart.toFigureJson(chart)).RootElement;

    public static JsonElement[] Traces(this JsonElement figure) => [.. figure.GetProperty("data").EnumerateArray()];

    public static JsonElement Layout(this JsonElement figure) => figure.GetProperty("layout");

    public static string TitleText(this JsonElement figure) => figure.Layout().GetProperty("title").GetProperty("text").GetString()!;

    public static string AxisTitle(this JsonElement figure, string axis) =>
        figure.Layout().GetProperty(axis).GetProperty("title").GetProperty("text").GetString()!;

    public static double[] Doubles(this JsonElement trace, string name) => [.. trace.GetProperty(name).EnumerateArray().Select(e => e.GetDouble())];

    public static string[] Strings(this JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    public static string? Str(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
