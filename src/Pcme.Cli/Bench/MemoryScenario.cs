using System.Text.Json.Nodes;
using Pcme.Probabilistic;
using Pcme.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Cli.Bench;

/// <summary>
/// <c>pcme bench memory</c>: peak resident memory of MC retrieval (J = 7) as the query block and the
/// gallery grow. Preparing the sides (J samples per item, stored once as the official code does) is
/// measured apart from scoring; scoring's peak must stay bounded by the block, not grow with
/// queries x gallery x J^2. TorchSharp's own live tensor counter before and after must not grow (no leaks).
/// </summary>
public static class MemoryScenario
{
    /// <summary>Problem size.</summary>
    public sealed record Size(int Queries, int[] Galleries, int Dim, int Samples, long[] Blocks, long BudgetBytes)
    {
        /// <summary>COCO-like widths.</summary>
        public static Size Full => new(512, [2000, 8000], 1024, 7, [64, 256], 128L << 20);
        /// <summary>Harness check.</summary>
        public static Size Tiny => new(16, [20, 40], 16, 2, [4, 8], 1L << 20);
    }

    /// <summary>Runs the scenario and returns its JSON record.</summary>
    public static JsonObject Run(Size size, int seed = 0)
    {
        var g = new Generator((ulong)seed);
        GaussianEmbedding Random(int n) => new(randn([n, size.Dim], generator: g), randn([n, size.Dim], generator: g).sub_(4));
        var queries = Random(size.Queries);
        var scorer = Scorer.Create("mc", size.Samples, 10, 10);
        var rows = new JsonArray();
        long liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        foreach (var n in size.Galleries)
        {
            var gallery = Random(n);
            using var scope = NewDisposeScope();
            ScoringSet q = null!, gs = null!;
            var prepare = BenchHarness.Measure(() => (q, gs) = RetrievalEngine.Prepare(scorer, queries, gallery, new RetrievalOptions(), new Generator(1)), 0, 1);
            var result = zeros([size.Queries, n]);   // the [Q, G] answer itself, allocated (and touched) before measuring
            foreach (var block in size.Blocks)
            {
                var options = new RetrievalOptions(block, size.BudgetBytes);
                var stats = BenchHarness.Measure(() => RetrievalEngine.ScoreInto(scorer, q, gs, options, result), 0, 1);
                rows.Add(new JsonObject
                {
                    ["gallery"] = n, ["query_block"] = block,
                    ["scoring_peak_bytes"] = stats.PeakBytes,
                    ["unblocked_distance_tensor_bytes"] = 4L * size.Queries * n * size.Samples * size.Samples,
                    ["prepare_peak_bytes"] = prepare.PeakBytes,
                    ["samples_bytes"] = 4L * (size.Queries + n) * size.Samples * size.Dim,
                    ["result_bytes"] = 4L * size.Queries * n,
                    ["median_ms"] = Math.Round(stats.MedianMs, 1),
                });
            }
            gallery.Mean.Dispose(); gallery.LogVariance.Dispose();
        }
        long liveAfter = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var record = BenchHarness.Environment("memory");
        record["scorer"] = "mc";
        record["shape"] = new JsonObject { ["queries"] = size.Queries, ["D"] = size.Dim, ["J"] = size.Samples, ["budget_bytes"] = size.BudgetBytes };
        record["runs"] = rows;
        record["torchsharp_live_tensors_before"] = liveBefore;
        record["torchsharp_live_tensors_after"] = liveAfter;
        return record;
    }
}
