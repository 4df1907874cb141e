using static TorchSharp.torch;

namespace Pcme.Evaluation;

/// <summary>
/// Scores of queries [<paramref name="firstQuery"/>, <paramref name="firstQuery"/> + <paramref name="count"/>)
/// against the whole gallery: a float tensor [count, G], higher = better match, on any device. The
/// evaluator asks for one query block at a time, so only a block of scores exists at once.
/// </summary>
public delegate Tensor QueryBlockScorer(int firstQuery, int count);

/// <summary>Settings of PMRP.</summary>
public sealed record PmrpOptions
{
    /// <summary>The Hamming thresholds zeta averaged into PMRP (paper: 0, 1, 2; official <c>max_thres=3</c>).</summary>
    public IReadOnlyList<int> Zetas { get; init; } = [0, 1, 2];

    /// <summary>
    /// Follow the official script: items without any category (COCO images with no instance annotation)
    /// are neither queries nor gallery items. Unlabelled queries are skipped and counted; unlabelled
    /// gallery items are removed from every ranking before the top R is taken. When false, an empty label
    /// vector is an ordinary one (all unlabelled items are then plausible matches of each other).
    /// </summary>
    public bool ExcludeUnlabelled { get; init; } = true;
}

/// <summary>Settings of an evaluation.</summary>
public sealed record EvaluationOptions
{
    /// <summary>The cut-offs of Recall@K (default 1, 5, 10; any positive K).</summary>
    public IReadOnlyList<int> RecallKs { get; init; } = [1, 5, 10];

    /// <summary>
    /// The cut-offs of Precision@K (default 1, 5, 10, 50, 100: the official CUB evaluator's 5, 10, 50, 100, plus 1;
    /// any positive K, or none). P@K = |relevant in the top K| / K, also when K exceeds the gallery.
    /// </summary>
    public IReadOnlyList<int> PrecisionKs { get; init; } = [1, 5, 10, 50, 100];

    /// <summary>
    /// Queries ranked at once. Peak memory is about 24 bytes x block x gallery (scores, sort indices,
    /// positions); 128 x 25,000 captions is ~80 MB. Results do not depend on it.
    /// </summary>
    public int QueryBlockSize { get; init; } = 128;

    /// <summary>PMRP settings, used when multi-hot labels are given.</summary>
    public PmrpOptions Pmrp { get; init; } = new();

    /// <summary>How relevant items are located; every method gives identical results (tests pin sort against count).</summary>
    internal RankingMethod Ranking { get; init; } = RankingMethod.Auto;

    internal EvaluationOptions Validated()
    {
        if (RecallKs.Count == 0 || RecallKs.Any(k => k < 1)) throw new ArgumentException($"Recall cut-offs must be positive; got [{string.Join(", ", RecallKs)}].");
        if (PrecisionKs.Any(k => k < 1)) throw new ArgumentException($"Precision cut-offs must be positive; got [{string.Join(", ", PrecisionKs)}].");
        if (QueryBlockSize < 1) throw new ArgumentOutOfRangeException(nameof(QueryBlockSize), QueryBlockSize, "The query block size must be at least 1.");
        if (Pmrp.Zetas.Count == 0 || Pmrp.Zetas.Any(z => z < 0 || z > 250)) throw new ArgumentException($"PMRP thresholds must lie in [0, 250]; got [{string.Join(", ", Pmrp.Zetas)}].");
        return this;
    }
}

/// <summary>How the engine finds the positions of relevant items in a ranking (identical results either way).</summary>
enum RankingMethod
{
    /// <summary>Counting when no query of a block has more than a few relevant items and PMRP is off; otherwise sorting.</summary>
    Auto,
    /// <summary>Always a full stable sort of each block.</summary>
    Sort,
    /// <summary>Always counting (ignored when PMRP needs the full ranking).</summary>
    Count,
}

/// <summary>The multi-hot labels PMRP compares: one set for the queries (rows), one for the gallery (columns).</summary>
/// <param name="Queries">Labels of the queries, [Q, C].</param>
/// <param name="Gallery">Labels of the gallery items, [G, C] with the same C.</param>
public sealed record PlausibleMatchLabels(MultiHotLabels Queries, MultiHotLabels Gallery);

/// <summary>Per-query PMRP outcomes, one array per threshold (index as in <see cref="Zetas"/>).</summary>
/// <param name="Zetas">The thresholds.</param>
/// <param name="RPrecision">[zeta][query] fraction of the top R that are plausible; NaN when the query was skipped (unlabelled, or R = 0).</param>
/// <param name="TopIsPlausible">[zeta][query] 1 when the top-ranked item is plausible, 0 when not, NaN when skipped.</param>
/// <param name="Unlabelled">[query] true when the query was skipped for having no category.</param>
public sealed record PlausibleMatchOutcomes(IReadOnlyList<int> Zetas, IReadOnlyList<IReadOnlyList<double>> RPrecision, IReadOnlyList<IReadOnlyList<double>> TopIsPlausible, IReadOnlyList<bool> Unlabelled);

/// <summary>
/// What happened to each query: the per-query numbers behind <see cref="RetrievalMetrics"/>, for analyses
/// such as recall per uncertainty bin.
/// </summary>
/// <param name="RelevantCount">R per query (0 = nothing relevant; such queries are in no mean).</param>
/// <param name="FirstRelevantRank">0-based position of the best-ranked relevant item; -1 when R = 0.</param>
/// <param name="RPrecision">Fraction of the top R that are relevant; NaN when R = 0.</param>
/// <param name="AveragePrecisionAtR">(1/R) sum_{i &lt;= R} P(i) rel(i); NaN when R = 0.</param>
/// <param name="Plausible">PMRP outcomes when labels were given; otherwise null.</param>
/// <param name="PrecisionKs">The cut-offs of <paramref name="RelevantInTop"/>, ascending and distinct (null = none).</param>
/// <param name="RelevantInTop">[cut-off index][query] the number of relevant items among the query's top K (0 when R = 0); null = none.</param>
public sealed record QueryOutcomes(
    IReadOnlyList<int> RelevantCount,
    IReadOnlyList<int> FirstRelevantRank,
    IReadOnlyList<double> RPrecision,
    IReadOnlyList<double> AveragePrecisionAtR,
    PlausibleMatchOutcomes? Plausible,
    IReadOnlyList<int>? PrecisionKs = null,
    IReadOnlyList<IReadOnlyList<int>>? RelevantInTop = null)
{
    /// <summary>Number of queries.</summary>
    public int Count => RelevantCount.Count;

    /// <summary>Whether any gallery item is relevant to <paramref name="query"/>.</summary>
    public bool HasRelevant(int query) => RelevantCount[query] > 0;

    /// <summary>Whether a relevant item of <paramref name="query"/> is among its top <paramref name="k"/>.</summary>
    public bool IsHitAt(int query, int k) => FirstRelevantRank[query] >= 0 && FirstRelevantRank[query] < k;

    /// <summary>
    /// Precision@<paramref name="k"/> of <paramref name="query"/>: |relevant in its top K| / K, a fraction in [0, 1]
    /// (0 when nothing is relevant); K must be one of <see cref="PrecisionKs"/>.
    /// </summary>
    public double PrecisionAt(int query, int k)
    {
        int index = -1;
        for (int c = 0; c < (PrecisionKs?.Count ?? 0) && index < 0; c++) if (PrecisionKs![c] == k) index = c;
        if (index < 0) throw new KeyNotFoundException($"Precision was computed at K = {string.Join(", ", PrecisionKs ?? [])}, not {k}.");
        return (double)RelevantInTop![index][query] / k;
    }
}

/// <summary>The metrics of one direction and the per-query outcomes they were averaged from.</summary>
/// <param name="Metrics">The averaged metrics.</param>
/// <param name="Queries">Per-query outcomes.</param>
public sealed record RetrievalEvaluation(RetrievalMetrics Metrics, QueryOutcomes Queries);

/// <summary>
/// Ranking metrics of a score matrix [Q, G] (queries x gallery, higher = better): Recall@K, Precision@K, R-Precision,
/// mAP@R, and PMRP when multi-hot labels are given (shared/DESIGN.md §3).
/// <para>
/// <b>How it works.</b> Queries are processed in blocks of <see cref="EvaluationOptions.QueryBlockSize"/> on the
/// scores' device. When PMRP is requested, or a query of the block has more than a few relevant items, the
/// block is fully sorted (PMRP needs whole rankings, not a top-K); otherwise the position of each relevant
/// item is counted directly (#{higher scores} + #{equal scores at lower indices}), which gives the same
/// positions as the sort at a fraction of its cost. Only those positions and the ranked Hamming distances
/// are copied to the CPU, where the metrics are computed from plain arrays. Results do not depend on the
/// block size.
/// </para>
/// <para>
/// <b>Ties.</b> Gallery items with equal scores are ranked by ascending gallery index (a stable descending
/// sort): a relevant item tied with an irrelevant one is ranked first only when its index is lower. This
/// makes results deterministic, independent of the block size and the same on every device. (The official
/// code uses an unstable sort, whose order among ties is unspecified.)
/// NaN scores are rejected; +/-infinity are ordinary values.
/// </para>
/// </summary>
public static class RetrievalEvaluator
{
    /// <summary>Evaluates a full score matrix [Q, G] (sliced into query blocks here).</summary>
    /// <param name="scores">[Q, G], higher = better match, any floating dtype and device.</param>
    /// <param name="relevance">Relevant gallery items per query (Q queries, G gallery items).</param>
    /// <param name="options">Cut-offs, block size, PMRP settings.</param>
    /// <param name="plausible">Multi-hot labels for PMRP; null = no PMRP.</param>
    public static RetrievalEvaluation Evaluate(Tensor scores, GalleryRelevance relevance, EvaluationOptions? options = null, PlausibleMatchLabels? plausible = null)
    {
        CheckMatrix(scores);
        return Evaluate((start, count) => scores.narrow(0, start, count), (int)scores.shape[0], (int)scores.shape[1], relevance, options, plausible);
    }

    /// <summary>Evaluates scores produced one query block at a time (so the full [Q, G] matrix never exists).</summary>
    /// <param name="scores">Returns the [count, G] scores of a block of queries.</param>
    /// <param name="queryCount">Q.</param>
    /// <param name="galleryCount">G.</param>
    /// <param name="relevance">Relevant gallery items per query.</param>
    /// <param name="options">Cut-offs, block size, PMRP settings.</param>
    /// <param name="plausible">Multi-hot labels for PMRP; null = no PMRP.</param>
    public static RetrievalEvaluation Evaluate(QueryBlockScorer scores, int queryCount, int galleryCount, GalleryRelevance relevance, EvaluationOptions? options = null, PlausibleMatchLabels? plausible = null)
    {
        options = (options ?? new EvaluationOptions()).Validated();
        if (relevance.QueryCount != queryCount || relevance.GalleryCount != galleryCount)
            throw new ArgumentException($"The relevance is for {relevance.QueryCount} queries x {relevance.GalleryCount} gallery items, the scores are {queryCount} x {galleryCount}.", nameof(relevance));
        var outcomes = RankingEngine.Run(scores, queryCount, galleryCount, relevance, plausible, options);
        return new RetrievalEvaluation(Summarise(outcomes, options, galleryCount, plausible), outcomes);
    }

    /// <summary>Averages per-query outcomes into metrics (percent).</summary>
    internal static RetrievalMetrics Summarise(QueryOutcomes outcomes, EvaluationOptions options, int galleryCount, PlausibleMatchLabels? plausible)
    {
        var answerable = Enumerable.Range(0, outcomes.Count).Where(outcomes.HasRelevant).ToArray();
        if (answerable.Length == 0)
            throw new ArgumentException($"None of the {outcomes.Count} queries has a relevant gallery item; check the relevance (ids, folds).");
        var recalls = options.RecallKs.Distinct().Order()
            .Select(k => new RecallAtK(k, 100.0 * answerable.Count(q => outcomes.IsHitAt(q, k)) / answerable.Length)).ToArray();
        var precisions = (outcomes.PrecisionKs ?? []).Select(k => new PrecisionAtK(k, 100.0 * answerable.Average(q => outcomes.PrecisionAt(q, k)))).ToArray();
        var firstRanks = answerable.Select(q => (double)outcomes.FirstRelevantRank[q]).Order().ToArray();
        return new RetrievalMetrics(
            recalls,
            precisions,
            100.0 * answerable.Average(q => outcomes.RPrecision[q]),
            100.0 * answerable.Average(q => outcomes.AveragePrecisionAtR[q]),
            outcomes.Plausible is { } p ? SummarisePlausible(p, CountRankedGallery(plausible!, options.Pmrp)) : null,
            Math.Floor(Median(firstRanks)) + 1,
            firstRanks.Average() + 1,
            answerable.Length,
            outcomes.Count - answerable.Length,
            galleryCount);
    }

    internal static PmrpMetrics SummarisePlausible(PlausibleMatchOutcomes outcomes, int rankedGallery)
    {
        var perZeta = outcomes.Zetas.Select((zeta, z) =>
        {
            var evaluated = Enumerable.Range(0, outcomes.Unlabelled.Count).Where(q => !double.IsNaN(outcomes.RPrecision[z][q])).ToArray();
            return evaluated.Length == 0
                ? new PmrpAtZeta(zeta, double.NaN, double.NaN, 0)
                : new PmrpAtZeta(zeta, 100.0 * evaluated.Average(q => outcomes.RPrecision[z][q]), 100.0 * evaluated.Average(q => outcomes.TopIsPlausible[z][q]), evaluated.Length);
        }).ToArray();
        int queries = Enumerable.Range(0, outcomes.Unlabelled.Count).Count(q => outcomes.Zetas.Select((_, z) => z).Any(z => !double.IsNaN(outcomes.RPrecision[z][q])));
        return new PmrpMetrics(perZeta, queries, outcomes.Unlabelled.Count(u => u), rankedGallery);
    }

    internal static int CountRankedGallery(PlausibleMatchLabels labels, PmrpOptions options) =>
        options.ExcludeUnlabelled ? Enumerable.Range(0, labels.Gallery.Count).Count(labels.Gallery.IsLabelled) : labels.Gallery.Count;

    internal static void CheckMatrix(Tensor scores)
    {
        if (scores.dim() != 2) throw new ArgumentException($"Scores must be a matrix [queries, gallery]; got [{string.Join(", ", scores.shape)}].", nameof(scores));
    }

    static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

/// <summary>
/// Plausible-Match R-Precision on its own (no instance relevance): the PCME paper's COCO metric, which
/// credits any gallery item whose multi-hot category vector is within Hamming distance zeta of the query's.
/// <para>
/// Definition (official <c>evaluate_pmrp_coco.py</c>): for each zeta, R = number of (ranked) gallery items
/// within distance zeta of the query; the score is the fraction of the top R that are within zeta. No
/// pair is special-cased: the query's own ground-truth pair counts because it shares the query's labels
/// (distance 0), not because it is the ground truth. With <see cref="PmrpOptions.ExcludeUnlabelled"/>
/// (default, as official) unlabelled queries are skipped and unlabelled gallery items removed from the
/// ranking. A query with R = 0 at some zeta (impossible for COCO's labelled queries) is left out of that
/// zeta's mean. PMRP = mean over zeta of the per-zeta means, percent.
/// </para>
/// </summary>
public static class PlausibleMatchRPrecision
{
    /// <summary>PMRP of a full score matrix [Q, G]; ties and blocks as in <see cref="RetrievalEvaluator"/>.</summary>
    /// <param name="scores">[Q, G], higher = better match.</param>
    /// <param name="labels">Query and gallery labels.</param>
    /// <param name="options">Thresholds and the unlabelled-item rule.</param>
    /// <param name="queryBlockSize">Queries ranked at once.</param>
    public static PmrpMetrics Evaluate(Tensor scores, PlausibleMatchLabels labels, PmrpOptions? options = null, int queryBlockSize = 128)
    {
        RetrievalEvaluator.CheckMatrix(scores);
        return Evaluate((start, count) => scores.narrow(0, start, count), (int)scores.shape[0], (int)scores.shape[1], labels, options, queryBlockSize);
    }

    /// <summary>PMRP of scores produced one query block at a time.</summary>
    /// <param name="scores">Returns the [count, G] scores of a block of queries.</param>
    /// <param name="queryCount">Q.</param>
    /// <param name="galleryCount">G.</param>
    /// <param name="labels">Query and gallery labels.</param>
    /// <param name="options">Thresholds and the unlabelled-item rule.</param>
    /// <param name="queryBlockSize">Queries ranked at once.</param>
    public static PmrpMetrics Evaluate(QueryBlockScorer scores, int queryCount, int galleryCount, PlausibleMatchLabels labels, PmrpOptions? options = null, int queryBlockSize = 128)
    {
        var all = new EvaluationOptions { Pmrp = options ?? new PmrpOptions(), QueryBlockSize = queryBlockSize }.Validated();
        var outcomes = RankingEngine.Run(scores, queryCount, galleryCount, relevance: null, labels, all);
        return RetrievalEvaluator.SummarisePlausible(outcomes.Plausible!, RetrievalEvaluator.CountRankedGallery(labels, all.Pmrp));
    }
}
