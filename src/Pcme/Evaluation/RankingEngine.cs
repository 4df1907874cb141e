using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Evaluation;

/// <summary>
/// The block loop behind <see cref="RetrievalEvaluator"/> and <see cref="PlausibleMatchRPrecision"/>: rank
/// each query block on the scores' device (a stable descending sort, or counting for few relevant items;
/// either way ties go to the lower gallery index), copy the few numbers the metrics need to the CPU, and
/// compute per-query outcomes there.
/// </summary>
static class RankingEngine
{
    /// <summary>Marks a gallery item PMRP must not rank (unlabelled, with <see cref="PmrpOptions.ExcludeUnlabelled"/>).</summary>
    const byte Excluded = byte.MaxValue;

    internal static QueryOutcomes Run(QueryBlockScorer scorer, int queryCount, int galleryCount, GalleryRelevance? relevance, PlausibleMatchLabels? labels, EvaluationOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(queryCount);
        if (galleryCount < 1) throw new ArgumentOutOfRangeException(nameof(galleryCount), galleryCount, "The gallery must have at least one item.");
        if (labels is not null) CheckLabels(labels, queryCount, galleryCount);

        var relevantCount = new int[queryCount];
        var firstRank = new int[queryCount];
        var rPrecision = new double[queryCount];
        var averagePrecision = new double[queryCount];
        var precisionKs = options.PrecisionKs.Distinct().Order().ToArray();
        var relevantInTop = precisionKs.Select(_ => new int[queryCount]).ToArray();
        Array.Fill(firstRank, -1);
        Array.Fill(rPrecision, double.NaN);
        Array.Fill(averagePrecision, double.NaN);
        using var outer = NewDisposeScope();
        using var noGrad = no_grad();
        var plausible = labels is null ? null : new PlausibleAccumulator(options.Pmrp, labels, queryCount);
        for (int start = 0; start < queryCount; start += options.QueryBlockSize)
        {
            int count = Math.Min(options.QueryBlockSize, queryCount - start);
            using var scope = NewDisposeScope();
            var block = scorer(start, count);
            CheckBlock(block, start, count, galleryCount);
            int maxRelevant = 0;
            for (int q = start; q < start + count && relevance is not null; q++) maxRelevant = Math.Max(maxRelevant, relevance.CountFor(q));
            bool byCounting = plausible is null && UseCounting(options.Ranking, maxRelevant);
            // Stable descending sort: equal scores keep ascending gallery order (documented tie rule).
            var order = byCounting ? null : block.sort(dim: 1, descending: true, stable: true).Indices;
            if (relevance is not null && maxRelevant > 0)
            {
                var padded = PaddedRelevant(relevance, start, count, maxRelevant, block.device);
                var positions = byCounting ? PositionsByCounting(block, padded) : PositionsFromOrder(order!, padded);
                Score(positions.cpu().data<long>().ToArray(), relevance, start, count, maxRelevant, relevantCount, firstRank, rPrecision, averagePrecision, precisionKs, relevantInTop);
            }
            if (plausible is not null) plausible.Add(order!, start, count);
        }
        return new QueryOutcomes(relevantCount, firstRank, rPrecision, averagePrecision, plausible?.Outcomes(), precisionKs, relevantInTop);
    }

    static void CheckLabels(PlausibleMatchLabels labels, int queryCount, int galleryCount)
    {
        if (labels.Queries.Count != queryCount || labels.Gallery.Count != galleryCount)
            throw new ArgumentException($"PMRP labels are for {labels.Queries.Count} queries x {labels.Gallery.Count} gallery items, the scores are {queryCount} x {galleryCount}.", nameof(labels));
        if (labels.Queries.ClassCount != labels.Gallery.ClassCount)
            throw new ArgumentException($"Query labels have {labels.Queries.ClassCount} categories, gallery labels {labels.Gallery.ClassCount}; they must share one category set.", nameof(labels));
    }

    static void CheckBlock(Tensor block, int start, int count, int galleryCount)
    {
        if (block.dim() != 2 || block.shape[0] != count || block.shape[1] != galleryCount)
            throw new ArgumentException($"The scores of queries [{start}, {start + count}) must be [{count}, {galleryCount}]; got [{string.Join(", ", block.shape)}].");
        if (!is_floating_point(block))
            throw new ArgumentException($"Scores must be floating point; got {block.dtype}.");
        if (block.isnan().any().item<bool>())
            throw new ArgumentException($"The scores of queries [{start}, {start + count}) contain NaN; a NaN has no rank. Fix the scorer (e.g. a log of 0 or 0/0).");
    }

    /// <summary>
    /// Whether to find the relevant items' positions by counting instead of sorting. A full sort costs about
    /// G log G per query; counting costs a few passes over the G scores per relevant item, so it wins when
    /// queries have few relevant items (COCO: 1 or 5) and nothing needs the whole ranking (PMRP does).
    /// </summary>
    static bool UseCounting(RankingMethod method, int maxRelevant) => method switch
    {
        RankingMethod.Sort => false,
        RankingMethod.Count => true,
        _ => maxRelevant <= CountingMaxRelevant,
    };

    /// <summary>The largest R for which <see cref="RankingMethod.Auto"/> counts instead of sorting.</summary>
    internal const int CountingMaxRelevant = 8;

    /// <summary>[count, maxR] int64 relevant gallery indices per query; padding repeats the query's first item (or 0).</summary>
    static Tensor PaddedRelevant(GalleryRelevance relevance, int start, int count, int maxRelevant, Device device)
    {
        var padded = new long[count * maxRelevant];
        for (int b = 0; b < count; b++)
        {
            var items = relevance.For(start + b);
            for (int i = 0; i < maxRelevant; i++) padded[b * maxRelevant + i] = items.Count == 0 ? 0 : items[Math.Min(i, items.Count - 1)];
        }
        return tensor(padded, [count, maxRelevant]).to(device);
    }

    /// <summary>Positions of the relevant items from a full ranking: the inverse permutation of <paramref name="order"/>, gathered.</summary>
    static Tensor PositionsFromOrder(Tensor order, Tensor padded)
    {
        long count = order.shape[0], galleryCount = order.shape[1];
        // position[q, g] = where gallery item g landed in query q's ranking.
        var ranks = arange(galleryCount, dtype: ScalarType.Int64, device: order.device).unsqueeze(0).expand(count, galleryCount);
        var position = empty_like(order).scatter_(1, order, ranks);
        return position.gather(1, padded);
    }

    /// <summary>
    /// Positions of the relevant items without sorting, with the same tie rule as the stable descending sort:
    /// position of item j = #{g : s_g &gt; s_j} + #{g &lt; j : s_g = s_j}. One relevant column at a time, so
    /// memory stays [count, G].
    /// </summary>
    static Tensor PositionsByCounting(Tensor block, Tensor padded)
    {
        var galleryIndex = arange(block.shape[1], dtype: ScalarType.Int64, device: block.device).unsqueeze(0);
        var columns = new Tensor[padded.shape[1]];
        for (int r = 0; r < columns.Length; r++)
        {
            var item = padded.narrow(1, r, 1);                 // [count, 1]
            var score = block.gather(1, item);
            var above = block.gt(score).sum(1, type: ScalarType.Int64);
            var tiedBefore = block.eq(score).logical_and(galleryIndex.lt(item)).sum(1, type: ScalarType.Int64);
            columns[r] = above.add(tiedBefore);
        }
        return stack(columns, 1);
    }

    /// <summary>
    /// From the positions of each query's R relevant items (row b of <paramref name="gathered"/>, first R
    /// entries), sorted to p_1 &lt; ... &lt; p_R: first rank = p_1; R-Precision = #{i : p_i &lt; R} / R;
    /// AP@R = (1/R) sum_{i : p_i &lt; R} i / (p_i + 1), because the precision at the i-th relevant item's
    /// position is i / (p_i + 1); relevant in the top K = #{i : p_i &lt; K} for each K of <paramref name="precisionKs"/>
    /// (ascending), as the official <c>precision_at_k</c> counts them (K past the gallery counts every relevant item).
    /// </summary>
    static void Score(long[] gathered, GalleryRelevance relevance, int start, int count, int maxRelevant,
        int[] relevantCount, int[] firstRank, double[] rPrecision, double[] averagePrecision, int[] precisionKs, int[][] relevantInTop)
    {
        var positions = new long[maxRelevant];
        for (int b = 0; b < count; b++)
        {
            int q = start + b, r = relevance.CountFor(q);
            relevantCount[q] = r;
            if (r == 0) continue;
            Array.Copy(gathered, b * maxRelevant, positions, 0, r);
            Array.Sort(positions, 0, r);
            int inTopR = 0;
            double precisionSum = 0;
            for (int i = 0; i < r && positions[i] < r; i++)
            {
                inTopR++;
                precisionSum += (double)(i + 1) / (positions[i] + 1);
            }
            firstRank[q] = (int)positions[0];
            rPrecision[q] = (double)inTopR / r;
            averagePrecision[q] = precisionSum / r;
            int seen = 0;
            for (int c = 0; c < precisionKs.Length; c++)
            {
                while (seen < r && positions[seen] < precisionKs[c]) seen++;
                relevantInTop[c][q] = seen;
            }
        }
    }

    /// <summary>Collects PMRP outcomes block by block (see <see cref="PlausibleMatchRPrecision"/> for the definition).</summary>
    sealed class PlausibleAccumulator
    {
        readonly int[] zetas;
        readonly int cap;                      // Hamming distances above max zeta are all "too far": clamp to max + 1
        readonly PlausibleMatchLabels labels;
        readonly bool exclude;
        readonly Tensor queryLabels;           // float [Q, C] on the CPU, moved per block
        Tensor? galleryLabels, gallerySizes, excludedGallery;
        readonly double[][] rPrecision, topIsPlausible;
        readonly bool[] unlabelled;

        internal PlausibleAccumulator(PmrpOptions options, PlausibleMatchLabels labels, int queryCount)
        {
            zetas = options.Zetas.ToArray();
            cap = zetas.Max() + 1;
            this.labels = labels;
            exclude = options.ExcludeUnlabelled;
            queryLabels = labels.Queries.ToFloat(CPU);   // created in the evaluation's outer scope
            rPrecision = zetas.Select(_ => Enumerable.Repeat(double.NaN, queryCount).ToArray()).ToArray();
            topIsPlausible = zetas.Select(_ => Enumerable.Repeat(double.NaN, queryCount).ToArray()).ToArray();
            unlabelled = new bool[queryCount];
        }

        internal void Add(Tensor order, int start, int count)
        {
            int galleryCount = (int)order.shape[1];
            if (galleryLabels is null || galleryLabels.device_type != order.device_type || galleryLabels.device_index != order.device_index)
            {
                // Made once, kept in the evaluation's outer scope (this runs inside a block's scope).
                galleryLabels = labels.Gallery.ToFloat(order.device).MoveToOuterDisposeScope();
                gallerySizes = galleryLabels.sum(1).unsqueeze(0).MoveToOuterDisposeScope();
                var flags = Enumerable.Range(0, galleryCount).Select(g => exclude && !labels.Gallery.IsLabelled(g)).ToArray();
                excludedGallery = tensor(flags, [1, galleryCount]).to(order.device).MoveToOuterDisposeScope();
            }
            // Hamming distance of 0/1 vectors: |a| + |b| - 2 a.b, one GEMM per block (exact in float32 below 2^24 categories).
            var q = queryLabels.narrow(0, start, count).to(order.device);
            var hamming = q.sum(1, keepdim: true).add(gallerySizes!).sub(q.matmul(galleryLabels.t()).mul(2))
                .round().clamp(0, cap).to(ScalarType.Byte).masked_fill(excludedGallery!, Excluded);
            var ranked = hamming.gather(1, order).cpu().data<byte>().ToArray();

            var histogram = new int[cap + 1];
            var plausibleCount = new int[zetas.Length];
            var inTop = new int[zetas.Length];
            for (int b = 0; b < count; b++)
            {
                int query = start + b;
                if (exclude && !labels.Queries.IsLabelled(query)) { unlabelled[query] = true; continue; }
                var row = new ReadOnlySpan<byte>(ranked, b * galleryCount, galleryCount);
                // Pass 1: R per zeta = ranked gallery items within zeta.
                Array.Clear(histogram);
                foreach (var h in row) if (h != Excluded) histogram[h]++;
                int longest = 0;
                for (int z = 0; z < zetas.Length; z++)
                {
                    plausibleCount[z] = 0;
                    for (int h = 0; h <= zetas[z]; h++) plausibleCount[z] += histogram[h];
                    longest = Math.Max(longest, plausibleCount[z]);
                }
                // Pass 2: walk the ranking over non-excluded items only (as if excluded ones were never ranked).
                Array.Clear(inTop);
                int kept = 0;
                foreach (var h in row)
                {
                    if (h == Excluded) continue;
                    if (kept == 0)
                        for (int z = 0; z < zetas.Length; z++) topIsPlausible[z][query] = h <= zetas[z] ? 1 : 0;
                    for (int z = 0; z < zetas.Length; z++)
                        if (kept < plausibleCount[z] && h <= zetas[z]) inTop[z]++;
                    if (++kept >= longest) break;
                }
                for (int z = 0; z < zetas.Length; z++)
                {
                    if (plausibleCount[z] == 0) { topIsPlausible[z][query] = double.NaN; continue; }
                    rPrecision[z][query] = (double)inTop[z] / plausibleCount[z];
                }
            }
        }

        internal PlausibleMatchOutcomes Outcomes() => new(zetas, rPrecision, topIsPlausible, unlabelled);
    }
}
