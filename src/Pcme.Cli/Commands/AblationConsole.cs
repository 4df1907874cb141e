using Pcme.Plots;
using Pcme.Training;
using Spectre.Console;

namespace Pcme.Cli.Commands;

/// <summary>The terminal tables of an <see cref="AblationResult"/> (the rows come from <see cref="AblationReport"/>).</summary>
public static class AblationConsole
{
    static Table Render(ReportTable t, string title)
    {
        var table = new Table().Title(title);
        foreach (var h in t.Header) table.AddColumn(Markup.Escape(h));
        foreach (var row in t.Rows) table.AddRow(row.Select(Markup.Escape).ToArray());
        return table;
    }

    /// <summary>The summary.</summary>
    public static Table Summary(AblationResult r) => Render(AblationReport.Summary(r), "test split, each method's own scorer: mean ± sd over seeds (%)");
    /// <summary>The paired differences, or null.</summary>
    public static Table? Paired(AblationResult r) => AblationReport.Paired(r) is { } p ? Render(p, "probabilistic minus mu-only twin, same seed and batches: mean ± sd (per seed)") : null;
    /// <summary>The per-level diagnostics.</summary>
    public static Table Levels(AblationResult r) => Render(AblationReport.Levels(r), "caption sigma and match mass per specificity level (mean over seeds)");
    /// <summary>The claims.</summary>
    public static Table Claims(IReadOnlyList<AblationClaim> claims)
    {
        var t = new Table().Title("the paper's claims, as measured here").AddColumn("claim").AddColumn("verdict").AddColumn("evidence");
        foreach (var c in claims) t.AddRow(Markup.Escape(c.Claim), Markup.Escape(c.Verdict), Markup.Escape(c.Evidence));
        return t;
    }
}
