using System.Globalization;
using System.Text;

namespace Pcme.Evaluation;

/// <summary>
/// Compact fixed-width text tables of <see cref="RetrievalMetrics"/> for the console: one row per result,
/// columns R@K and P@K (the first row's cut-offs), R-P, mAP@R, PMRP ("-" when absent), query and gallery counts.
/// Numbers use the invariant culture with two decimals.
/// <code>
/// direction    R@1    R@5   R@10    P@1    P@5   P@10   P@50  P@100    R-P  mAP@R   PMRP  queries  gallery
/// i2t        68.80  91.60  96.40  68.80  40.20  25.10   6.70   3.80  40.12  30.55  45.00     5000    25000
/// </code>
/// </summary>
public static class MetricsTable
{
    /// <summary>The table of <paramref name="rows"/> (label, metrics), ending with a newline.</summary>
    public static string Format(IEnumerable<(string Label, RetrievalMetrics Metrics)> rows)
    {
        var list = rows.ToList();
        var ks = list.Count == 0 ? [1, 5, 10] : list[0].Metrics.Recalls.Select(r => r.K).ToArray();
        var pks = list.Count == 0 ? [1, 5, 10, 50, 100] : list[0].Metrics.Precisions.Select(p => p.K).ToArray();
        int labelWidth = Math.Max("direction".Length, list.Select(r => r.Label.Length).DefaultIfEmpty(0).Max());
        var header = new List<string>();
        header.AddRange(ks.Select(k => $"R@{k}"));
        header.AddRange(pks.Select(k => $"P@{k}"));
        header.AddRange(["R-P", "mAP@R", "PMRP"]);
        var sb = new StringBuilder();
        sb.Append("direction".PadRight(labelWidth));
        foreach (var h in header) sb.Append(' ').Append(h.PadLeft(6));
        sb.Append(' ').Append("queries".PadLeft(8)).Append(' ').Append("gallery".PadLeft(8)).AppendLine();
        foreach (var (label, m) in list)
        {
            sb.Append(label.PadRight(labelWidth));
            foreach (var k in ks) sb.Append(' ').Append(Cell(m.HasRecallAt(k) ? m.RecallAt(k) : null));
            foreach (var k in pks) sb.Append(' ').Append(Cell(m.HasPrecisionAt(k) ? m.PrecisionAt(k) : null));
            sb.Append(' ').Append(Cell(m.RPrecision)).Append(' ').Append(Cell(m.MapAtR)).Append(' ').Append(Cell(m.Pmrp?.Mean));
            sb.Append(' ').Append(m.QueryCount.ToString(CultureInfo.InvariantCulture).PadLeft(8));
            sb.Append(' ').Append(m.GalleryCount.ToString(CultureInfo.InvariantCulture).PadLeft(8)).AppendLine();
        }
        return sb.ToString();
    }

    static string Cell(double? value) =>
        (value is { } v && double.IsFinite(v) ? v.ToString("F2", CultureInfo.InvariantCulture) : "-").PadLeft(6);
}
