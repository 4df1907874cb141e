using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>How retrieval is blocked and where it runs.</summary>
/// <param name="QueryBlock">Queries scored at once.</param>
/// <param name="MemoryBudgetBytes">Bound on a block's temporaries; the gallery block shrinks to fit it.</param>
/// <param name="Device">Where scoring runs (results come back to the CPU); null = the embeddings' device.</param>
public sealed record RetrievalOptions(long QueryBlock = 256, long MemoryBudgetBytes = 256L << 20, Device? Device = null);

/// <summary>
/// Scores queries against a gallery with any <see cref="Scorer"/> in query x gallery blocks, so memory
/// is bounded by the block and never by queries x gallery x J^2 (or x D for broadcast scorers).
/// </summary>
public static class RetrievalEngine
{
    /// <summary>
    /// Prepares both sides once (samples for sampling scorers are drawn here, queries first, from
    /// <paramref name="generator"/>; separable scorers' per-item features are computed here), so results
    /// do not depend on the block sizes and no tile recomputes per-item work.
    /// </summary>
    public static (ScoringSet Queries, ScoringSet Gallery) Prepare(Scorer scorer, GaussianEmbedding queries, GaussianEmbedding gallery, RetrievalOptions options, Generator? generator)
    {
        var device = options.Device ?? queries.Device;
        var q = ScoringSet.From(queries.To(device), scorer.Samples, generator);
        var g = ScoringSet.From(gallery.To(device), scorer.Samples, generator);
        return (scorer.PrepareQueries(q), scorer.PrepareGallery(g));
    }

    /// <summary>Visits every (query block, gallery block) score tile; the callback gets the block offsets.</summary>
    public static void ForEachTile(Scorer scorer, ScoringSet q, ScoringSet g, RetrievalOptions options, Action<long, long, Tensor> tile)
    {
        long qb = Math.Max(1, Math.Min(options.QueryBlock, q.Count));
        long perPair = Math.Max(1, scorer.BytesPerPair(q.Mean.shape[1]));
        long gb = Math.Clamp(options.MemoryBudgetBytes / (qb * perPair), 1, Math.Max(1, g.Count));
        for (long qs = 0; qs < q.Count; qs += qb)
        {
            long ql = Math.Min(qb, q.Count - qs);
            var qBlock = q.Slice(qs, ql);
            for (long gs = 0; gs < g.Count; gs += gb)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                tile(qs, gs, scorer.Score(qBlock, g.Slice(gs, Math.Min(gb, g.Count - gs))));
            }
        }
    }

    /// <summary>The full score matrix [Q, G] (float32, CPU).</summary>
    public static Tensor ScoreMatrix(Scorer scorer, GaussianEmbedding queries, GaussianEmbedding gallery, RetrievalOptions? options = null, Generator? generator = null)
    {
        options ??= new RetrievalOptions();
        using var scope = NewDisposeScope();
        var (q, g) = Prepare(scorer, queries, gallery, options, generator);
        var result = empty([q.Count, g.Count], float32);
        ScoreInto(scorer, q, g, options, result);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Fills <paramref name="result"/> [Q, G] (any dtype and device; tiles are converted as they are copied) from prepared sides.</summary>
    public static void ScoreInto(Scorer scorer, ScoringSet q, ScoringSet g, RetrievalOptions options, Tensor result) =>
        ForEachTile(scorer, q, g, options, (qs, gs, s) => result.narrow(0, qs, s.shape[0]).narrow(1, gs, s.shape[1]).copy_(s));

    /// <summary>
    /// The top <paramref name="k"/> gallery items per query, best first: scores and indices [Q, k].
    /// Keeps only a running top-k per query block, never the [Q, G] matrix.
    /// </summary>
    public static (Tensor Scores, Tensor Indices) TopK(Scorer scorer, GaussianEmbedding queries, GaussianEmbedding gallery, int k, RetrievalOptions? options = null, Generator? generator = null)
    {
        options ??= new RetrievalOptions();
        using var scope = NewDisposeScope();
        var (q, g) = Prepare(scorer, queries, gallery, options, generator);
        k = (int)Math.Min(k, g.Count);
        var scores = full([q.Count, k], float.NegativeInfinity, float32);
        var indices = full([q.Count, k], -1L, int64);
        ForEachTile(scorer, q, g, options, (qs, gs, s) =>
        {
            long ql = s.shape[0];
            var bestS = scores.narrow(0, qs, ql); var bestI = indices.narrow(0, qs, ql);
            var candS = cat([bestS, s.to(float32).cpu()], 1);
            var candI = cat([bestI, arange(gs, gs + s.shape[1], dtype: int64).unsqueeze(0).expand(ql, -1)], 1);
            // Ties keep the earlier (smaller) gallery index: candidates are ordered by index and the sort is stable.
            var (topS, order) = candS.sort(1, descending: true, stable: true);
            bestS.copy_(topS.narrow(1, 0, k));
            bestI.copy_(candI.gather(1, order.narrow(1, 0, k)));
        });
        return (scores.MoveToOuterDisposeScope(), indices.MoveToOuterDisposeScope());
    }

    /// <summary>Full rankings [Q, G] (gallery indices, best first, ties by index) from a score matrix, in query blocks.</summary>
    public static Tensor Rank(Tensor scores, long queryBlock = 1024)
    {
        var result = empty(scores.shape, int64);
        for (long s = 0; s < scores.shape[0]; s += queryBlock)
        {
            using var scope = NewDisposeScope();
            long l = Math.Min(queryBlock, scores.shape[0] - s);
            result.narrow(0, s, l).copy_(scores.narrow(0, s, l).sort(1, descending: true, stable: true).Indices);
        }
        return result;
    }
}
