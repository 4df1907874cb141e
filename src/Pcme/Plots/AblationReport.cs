using System.Globalization;
using Pcme.Training;

namespace Pcme.Plots;

/// <summary>The tables, charts and offline HTML report of an <see cref="AblationResult"/> (pcme ablate, pcme demo, notebook 06).</summary>
public static class AblationReport
{
    static readonly (string Key, string Title)[] Columns =
    [
        ("i2t_r1", "R@1 i2t"), ("t2i_r1", "R@1 t2i"), ("i2t_r5", "R@5 i2t"), ("t2i_r5", "R@5 t2i"), ("i2t_r10", "R@10 i2t"), ("t2i_r10", "R@10 t2i"),
        ("i2t_rp", "R-P i2t"), ("t2i_rp", "R-P t2i"), ("i2t_map_at_r", "mAP@R i2t"), ("t2i_map_at_r", "mAP@R t2i"), ("i2t_pmrp", "PMRP i2t"), ("t2i_pmrp", "PMRP t2i"),
        ("spearman_sigma_relevant", "ρ(σ, #rel)"), ("spearman_sigma_length", "ρ(σ, length)"), ("ms_per_step", "ms/step"),
    ];

    static string Cell(AblationSummaryRow row, string key) =>
        row.Metrics.TryGetValue(key, out var v) ? v.Format(key.StartsWith("spearman", StringComparison.Ordinal) ? "F3" : key == "ms_per_step" ? "F0" : "F1") : "–";

    static (string Key, string Title)[] Present(AblationResult r) => [.. Columns.Where(c => r.Summary.Any(s => s.Metrics.ContainsKey(c.Key)))];

    /// <summary>The summary as rows of text: method, regime, seeds, then every metric present as mean ± sd.</summary>
    public static ReportTable Summary(AblationResult r)
    {
        var cols = Present(r);
        return new ReportTable(["method", "positives", "seeds", .. cols.Select(c => c.Title)],
            [.. r.Summary.Select(s => (string[])[s.Method, s.Positives, s.Seeds.ToString(CultureInfo.InvariantCulture), .. cols.Select(c => Cell(s, c.Key))])]);
    }

    /// <summary>Paired differences (method minus its mu-only twin, per seed), or null when no twin was trained.</summary>
    public static ReportTable? Paired(AblationResult r)
    {
        if (r.Paired.Count == 0) return null;
        var keys = Columns.Where(c => r.Paired.Any(p => p.Metric == c.Key)).ToArray();
        var rows = r.Paired.GroupBy(p => (p.Method, p.Twin, p.Positives)).Select(g => (string[])[$"{g.Key.Method} − {g.Key.Twin}", g.Key.Positives,
            .. keys.Select(k => g.FirstOrDefault(p => p.Metric == k.Key) is { } d ? $"{d.Difference.Format(k.Key == "ms_per_step" ? "F0" : "F2")} ({string.Join(", ", d.PerSeed.Select(x => x.ToString("+0.0;-0.0", CultureInfo.InvariantCulture)))})" : "–")]);
        return new ReportTable(["paired difference", "positives", .. keys.Select(k => "Δ " + k.Title)], [.. rows]);
    }

    /// <summary>Per method, regime and specificity level: mean sigma, labelled and predicted match mass (mean over seeds).</summary>
    public static ReportTable Levels(AblationResult r)
    {
        var rows = r.Runs.GroupBy(x => (x.Method, x.Positives)).SelectMany(g => g.SelectMany(x => x.Levels).GroupBy(l => l.Level).OrderBy(l => l.Key ?? int.MaxValue).Select(l => (string[])
        [
            g.Key.Method, g.Key.Positives, l.Key?.ToString(CultureInfo.InvariantCulture) ?? "all", l.First().Captions.ToString(CultureInfo.InvariantCulture),
            l.Any(x => x.MeanSigma is null) ? "–" : l.Average(x => x.MeanSigma!.Value).ToString("0.00000", CultureInfo.InvariantCulture),
            l.Average(x => x.MeanRelevantImages).ToString("0.0", CultureInfo.InvariantCulture),
            l.Any(x => x.MeanPredictedMatches is null) ? "–" : l.Average(x => x.MeanPredictedMatches!.Value).ToString("0.0", CultureInfo.InvariantCulture),
        ]));
        return new ReportTable(["method", "positives", "level", "captions", "mean σ", "labelled matches", "predicted matches"], [.. rows]);
    }

    /// <summary>Mean caption sigma per specificity level, one line per probabilistic (method, regime); null when no run has both.</summary>
    public static Plotly.NET.GenericChart? SigmaByLevel(AblationResult r)
    {
        var groups = r.Runs.Where(x => x.Levels.Count > 0 && x.Levels.All(l => l.MeanSigma is not null && l.Level is not null)).GroupBy(x => (x.Method, x.Positives)).ToArray();
        return groups.Length == 0 ? null : Figures.Lines([.. groups.Select(g =>
        {
            var levels = g.SelectMany(x => x.Levels).GroupBy(l => l.Level!.Value).OrderBy(l => l.Key).ToArray();
            return new LineSeries($"{g.Key.Method} ({g.Key.Positives})", [.. levels.Select(l => (double)l.Key)], [.. levels.Select(l => l.Average(x => x.MeanSigma!.Value))]);
        })], "Caption sigma by specificity (0 = most specific)", "specificity level", "mean sigma");
    }

    /// <summary>Labelled matches per caption against each model's predicted matches (sum of its match probabilities), per level; null without levels.</summary>
    public static Plotly.NET.GenericChart? MatchMass(AblationResult r)
    {
        var groups = r.Runs.Where(x => x.Levels.Count > 0 && x.Levels.All(l => l.MeanPredictedMatches is not null && l.Level is not null)).GroupBy(x => (x.Method, x.Positives)).ToArray();
        if (groups.Length == 0) return null;
        var labelled = groups[0].SelectMany(x => x.Levels).GroupBy(l => l.Level!.Value).OrderBy(l => l.Key).ToArray();
        return Figures.Lines([
            new LineSeries("labelled", [.. labelled.Select(l => (double)l.Key)], [.. labelled.Select(l => l.Average(x => x.MeanRelevantImages))]),
            .. groups.Select(g =>
            {
                var levels = g.SelectMany(x => x.Levels).GroupBy(l => l.Level!.Value).OrderBy(l => l.Key).ToArray();
                return new LineSeries($"{g.Key.Method} ({g.Key.Positives})", [.. levels.Select(l => (double)l.Key)], [.. levels.Select(l => l.Average(x => x.MeanPredictedMatches!.Value))]);
            })], "Matches per caption: labelled vs. the model's sum of match probabilities", "specificity level", "matching test images per caption");
    }

    /// <summary>Writes the offline HTML report (plotly.js embedded) and returns its full path.</summary>
    public static string Write(AblationResult r, string path)
    {
        var report = new HtmlReport("Pcme.NET ablation: methods on identical batches")
            .Paragraph($"{r.Runs.Count} runs. Every (method, label regime) trained on the same batches per seed and was evaluated on the test split with the full relevance; " +
                       "numbers are each method's own scorer (its validation scorer), mean ± sd over seeds. Paired differences subtract the mu-only twin of the same seed.")
            .Table(Summary(r), "Test split (percent; Spearman correlations of caption sigma).");
        if (Paired(r) is { } paired) report.Table(paired, "Probabilistic minus mu-only twin (per-seed values in brackets).");
        report.Table(Levels(r), "Per specificity level: mean caption sigma, labelled matches (relevant test images per caption) and the model's predicted matches (sum of its match probabilities).");
        if (SigmaByLevel(r) is { } sigma) report.Chart("Mean caption sigma per specificity level", sigma);
        if (MatchMass(r) is { } mass) report.Chart("Predicted vs. labelled match mass", mass);
        var bins = r.Runs.Where(x => x.RecallBySigma is { Count: > 0 }).GroupBy(x => (x.Method, x.Positives)).ToArray();
        if (bins.Length > 0)
            report.Chart("R@1 per caption-sigma bin", Figures.RecallByUncertaintyBin([.. bins.Select(g => new UncertaintyBinSeries($"{g.Key.Method} ({g.Key.Positives})",
                [.. g.First().RecallBySigma!.Select(b => new RecallBinPoint(b.MeanSigma, b.RecallAt1, b.Queries))]))]));
        report.Chart("Training loss", Figures.LossCurves([.. r.Runs.Select(x => new TrainingCurve($"{x.Method} {x.Positives} s{x.Seed}", [.. x.Loss], [], []))]));
        return report.Write(path);
    }
}
