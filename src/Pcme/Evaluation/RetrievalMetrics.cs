using System.Globalization;
using System.Text.Json.Nodes;

namespace Pcme.Evaluation;

/// <summary>Recall@K of one direction: the percentage of queries with at least one relevant item in their top K.</summary>
/// <param name="K">The cut-off.</param>
/// <param name="Percent">Hit rate in percent, [0, 100].</param>
public sealed record RecallAtK(int K, double Percent);

/// <summary>
/// Precision@K of one direction: the mean over queries of |relevant in the top K| / K, in percent (the official
/// CUB evaluator's <c>precision_at_k</c>, which reports a fraction). K past the gallery still divides by K, as there.
/// </summary>
/// <param name="K">The cut-off.</param>
/// <param name="Percent">Mean precision in percent, [0, 100].</param>
public sealed record PrecisionAtK(int K, double Percent);

/// <summary>PMRP at one Hamming threshold zeta.</summary>
/// <param name="Zeta">Gallery item j is a plausible match for query q when Hamming(labels(q), labels(j)) &lt;= zeta.</param>
/// <param name="RPrecision">Mean over queries of the fraction of the top R that are plausible (R = number of plausible matches), percent.</param>
/// <param name="RecallAt1">Percentage of queries whose top-ranked item is plausible (the official script's "PM R@1").</param>
/// <param name="QueryCount">Queries averaged (labelled queries with at least one plausible match).</param>
public sealed record PmrpAtZeta(int Zeta, double RPrecision, double RecallAt1, int QueryCount);

/// <summary>
/// Plausible-Match R-Precision (PCME paper Sec. 4.1; official <c>evaluate_pmrp_coco.py</c>) of one direction.
/// </summary>
/// <param name="PerZeta">One entry per threshold (default zeta = 0, 1, 2).</param>
/// <param name="QueryCount">Queries evaluated at one or more thresholds.</param>
/// <param name="UnlabelledQueries">Queries skipped because they carry no category (when <see cref="PmrpOptions.ExcludeUnlabelled"/>).</param>
/// <param name="GalleryCount">Gallery items ranked (unlabelled ones excluded when <see cref="PmrpOptions.ExcludeUnlabelled"/>).</param>
/// <param name="FoldCount">How many evaluations were averaged into this record (1 unless it is a fold mean; counts are totals).</param>
public sealed record PmrpMetrics(IReadOnlyList<PmrpAtZeta> PerZeta, int QueryCount, int UnlabelledQueries, int GalleryCount, int FoldCount = 1)
{
    /// <summary>
    /// PMRP: the mean of <see cref="PmrpAtZeta.RPrecision"/> over the thresholds, percent. Equals the official
    /// mean over all (threshold, query) pairs whenever every threshold averages the same queries, which
    /// holds for COCO (a labelled query's own pair always has Hamming distance 0).
    /// </summary>
    public double Mean => PerZeta.Average(z => z.RPrecision);

    /// <summary>The entry for <paramref name="zeta"/>; throws when it was not computed.</summary>
    public PmrpAtZeta At(int zeta) => PerZeta.FirstOrDefault(z => z.Zeta == zeta)
        ?? throw new KeyNotFoundException($"PMRP was computed for zeta = {string.Join(", ", PerZeta.Select(z => z.Zeta))}, not {zeta}.");

    /// <summary>The unweighted mean of several evaluations (e.g. the five COCO 1K folds); counts are summed.</summary>
    public static PmrpMetrics Average(IReadOnlyList<PmrpMetrics> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("Nothing to average.", nameof(parts));
        var zetas = parts[0].PerZeta.Select(z => z.Zeta).ToArray();
        if (parts.Any(p => !p.PerZeta.Select(z => z.Zeta).SequenceEqual(zetas)))
            throw new ArgumentException("PMRP results to average must share their thresholds.", nameof(parts));
        var perZeta = zetas.Select((zeta, i) => new PmrpAtZeta(zeta,
            parts.Average(p => p.PerZeta[i].RPrecision), parts.Average(p => p.PerZeta[i].RecallAt1), parts.Sum(p => p.PerZeta[i].QueryCount))).ToArray();
        return new PmrpMetrics(perZeta, parts.Sum(p => p.QueryCount), parts.Sum(p => p.UnlabelledQueries), parts.Sum(p => p.GalleryCount), parts.Sum(p => p.FoldCount));
    }

    /// <summary>As JSON: <c>{"mean", "per_zeta": [{"zeta", "r_precision", "recall_at_1", "queries"}], "queries", "unlabelled_queries", "gallery", "folds"}</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["mean"] = MetricsJson.Number(Mean),
        ["per_zeta"] = new JsonArray(PerZeta.Select(z => (JsonNode)new JsonObject
        {
            ["zeta"] = z.Zeta,
            ["r_precision"] = MetricsJson.Number(z.RPrecision),
            ["recall_at_1"] = MetricsJson.Number(z.RecallAt1),
            ["queries"] = z.QueryCount,
        }).ToArray()),
        ["queries"] = QueryCount,
        ["unlabelled_queries"] = UnlabelledQueries,
        ["gallery"] = GalleryCount,
        ["folds"] = FoldCount,
    };
}

/// <summary>
/// The metrics of one retrieval direction (all in percent, [0, 100]). Queries with no relevant gallery
/// item cannot be answered and are left out of every mean; <see cref="QueriesWithoutRelevant"/> counts them.
/// </summary>
/// <param name="Recalls">Recall@K for each requested K (default 1, 5, 10), ascending K.</param>
/// <param name="Precisions">
/// Precision@K for each requested K (default 1, 5, 10, 50, 100), ascending K. The official CUB evaluator averages
/// over every query; here, as for every metric, queries with nothing relevant are left out (CUB has none).
/// P@1 always equals R@1.
/// </param>
/// <param name="RPrecision">Mean over queries of |relevant in top R| / R, R = number of relevant items of the query.</param>
/// <param name="MapAtR">mAP@R (Musgrave et al. 2020): mean over queries of (1/R) sum_{i &lt;= R} P(i) rel(i).</param>
/// <param name="Pmrp">Plausible-Match R-Precision when multi-hot labels were given; otherwise null.</param>
/// <param name="MedianRank">The official <c>medr</c>: floor(median of the 0-based rank of the first relevant item) + 1.</param>
/// <param name="MeanRank">The official <c>meanr</c>: mean 1-based rank of the first relevant item.</param>
/// <param name="QueryCount">Queries averaged (those with at least one relevant item).</param>
/// <param name="QueriesWithoutRelevant">Queries left out because nothing in the gallery is relevant to them.</param>
/// <param name="GalleryCount">Gallery items ranked per query.</param>
/// <param name="FoldCount">How many evaluations were averaged into this record (1 unless it is a fold mean; counts are then totals over folds).</param>
public sealed record RetrievalMetrics(
    IReadOnlyList<RecallAtK> Recalls,
    IReadOnlyList<PrecisionAtK> Precisions,
    double RPrecision,
    double MapAtR,
    PmrpMetrics? Pmrp,
    double MedianRank,
    double MeanRank,
    int QueryCount,
    int QueriesWithoutRelevant,
    int GalleryCount,
    int FoldCount = 1)
{
    /// <summary>Recall@<paramref name="k"/> in percent; throws when K was not computed.</summary>
    public double RecallAt(int k) => Recalls.FirstOrDefault(r => r.K == k)?.Percent
        ?? throw new KeyNotFoundException($"Recall was computed at K = {string.Join(", ", Recalls.Select(r => r.K))}, not {k}.");

    /// <summary>Whether Recall@<paramref name="k"/> was computed.</summary>
    public bool HasRecallAt(int k) => Recalls.Any(r => r.K == k);

    /// <summary>Precision@<paramref name="k"/> in percent; throws when K was not computed.</summary>
    public double PrecisionAt(int k) => Precisions.FirstOrDefault(p => p.K == k)?.Percent
        ?? throw new KeyNotFoundException($"Precision was computed at K = {string.Join(", ", Precisions.Select(p => p.K))}, not {k}.");

    /// <summary>Whether Precision@<paramref name="k"/> was computed.</summary>
    public bool HasPrecisionAt(int k) => Precisions.Any(p => p.K == k);

    /// <summary>
    /// RSUM: R@1 + R@5 + R@10 of image-to-text plus the same of text-to-image (the COCO summary number,
    /// at most 600). Both results need K = 1, 5 and 10.
    /// </summary>
    public static double Rsum(RetrievalMetrics imageToText, RetrievalMetrics textToImage)
    {
        int[] ks = [1, 5, 10];
        if (!ks.All(k => imageToText.HasRecallAt(k) && textToImage.HasRecallAt(k)))
            throw new ArgumentException("RSUM needs Recall@1, @5 and @10 in both directions; add them to EvaluationOptions.RecallKs.");
        return ks.Sum(k => imageToText.RecallAt(k) + textToImage.RecallAt(k));
    }

    /// <summary>
    /// The unweighted mean of several evaluations, metric by metric (the official 1K protocol averages
    /// the five folds' numbers this way, medr and meanr included); counts are summed.
    /// </summary>
    public static RetrievalMetrics Average(IReadOnlyList<RetrievalMetrics> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("Nothing to average.", nameof(parts));
        var ks = parts[0].Recalls.Select(r => r.K).ToArray();
        if (parts.Any(p => !p.Recalls.Select(r => r.K).SequenceEqual(ks)))
            throw new ArgumentException("Results to average must share their recall cut-offs.", nameof(parts));
        var pks = parts[0].Precisions.Select(p => p.K).ToArray();
        if (parts.Any(p => !p.Precisions.Select(x => x.K).SequenceEqual(pks)))
            throw new ArgumentException("Results to average must share their precision cut-offs.", nameof(parts));
        if (parts.Any(p => (p.Pmrp is null) != (parts[0].Pmrp is null)))
            throw new ArgumentException("Either every result to average has PMRP or none has.", nameof(parts));
        return new RetrievalMetrics(
            ks.Select((k, i) => new RecallAtK(k, parts.Average(p => p.Recalls[i].Percent))).ToArray(),
            pks.Select((k, i) => new PrecisionAtK(k, parts.Average(p => p.Precisions[i].Percent))).ToArray(),
            parts.Average(p => p.RPrecision),
            parts.Average(p => p.MapAtR),
            parts[0].Pmrp is null ? null : PmrpMetrics.Average(parts.Select(p => p.Pmrp!).ToArray()),
            parts.Average(p => p.MedianRank),
            parts.Average(p => p.MeanRank),
            parts.Sum(p => p.QueryCount),
            parts.Sum(p => p.QueriesWithoutRelevant),
            parts.Sum(p => p.GalleryCount),
            parts.Sum(p => p.FoldCount));
    }

    /// <summary>
    /// As JSON: <c>{"recall": {"1": .., "5": .., "10": ..}, "precision": {"1": .., "5": .., "10": .., "50": .., "100": ..},
    /// "r_precision", "map_at_r", "pmrp" (object or null),
    /// "median_rank", "mean_rank", "queries", "queries_without_relevant", "gallery", "folds"}</c>.
    /// </summary>
    public JsonObject ToJson()
    {
        var recall = new JsonObject();
        foreach (var r in Recalls) recall[r.K.ToString(CultureInfo.InvariantCulture)] = MetricsJson.Number(r.Percent);
        var precision = new JsonObject();
        foreach (var p in Precisions) precision[p.K.ToString(CultureInfo.InvariantCulture)] = MetricsJson.Number(p.Percent);
        return new JsonObject
        {
            ["recall"] = recall,
            ["precision"] = precision,
            ["r_precision"] = MetricsJson.Number(RPrecision),
            ["map_at_r"] = MetricsJson.Number(MapAtR),
            ["pmrp"] = Pmrp?.ToJson(),
            ["median_rank"] = MetricsJson.Number(MedianRank),
            ["mean_rank"] = MetricsJson.Number(MeanRank),
            ["queries"] = QueryCount,
            ["queries_without_relevant"] = QueriesWithoutRelevant,
            ["gallery"] = GalleryCount,
            ["folds"] = FoldCount,
        };
    }
}

/// <summary>Both directions of an image-caption evaluation.</summary>
/// <param name="ImageToText">i2t: image queries over the caption gallery.</param>
/// <param name="TextToImage">t2i: caption queries over the image gallery.</param>
public sealed record CrossModalMetrics(RetrievalMetrics ImageToText, RetrievalMetrics TextToImage)
{
    /// <summary>RSUM of the two directions (<see cref="RetrievalMetrics.Rsum"/>).</summary>
    public double Rsum => RetrievalMetrics.Rsum(ImageToText, TextToImage);

    /// <summary>Direction-wise <see cref="RetrievalMetrics.Average"/> of several evaluations.</summary>
    public static CrossModalMetrics Average(IReadOnlyList<CrossModalMetrics> parts) =>
        new(RetrievalMetrics.Average(parts.Select(p => p.ImageToText).ToArray()), RetrievalMetrics.Average(parts.Select(p => p.TextToImage).ToArray()));

    /// <summary>As JSON: <c>{"i2t": {...}, "t2i": {...}, "rsum"}</c> (rsum null when K = 1, 5, 10 were not all computed).</summary>
    public JsonObject ToJson() => new()
    {
        ["i2t"] = ImageToText.ToJson(),
        ["t2i"] = TextToImage.ToJson(),
        ["rsum"] = HasRsum ? MetricsJson.Number(Rsum) : null,
    };

    /// <summary>A compact text table, one row per direction, then RSUM (<see cref="MetricsTable"/>).</summary>
    public string ToTable() => MetricsTable.Format([("i2t", ImageToText), ("t2i", TextToImage)]) +
        (HasRsum ? $"RSUM {Rsum.ToString("F2", CultureInfo.InvariantCulture)}{Environment.NewLine}" : "");

    bool HasRsum => new[] { 1, 5, 10 }.All(k => ImageToText.HasRecallAt(k) && TextToImage.HasRecallAt(k));
}

/// <summary>JSON helpers shared by the result records.</summary>
static class MetricsJson
{
    /// <summary>A finite number, or JSON null (System.Text.Json refuses NaN and infinities).</summary>
    internal static JsonNode? Number(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;
}
