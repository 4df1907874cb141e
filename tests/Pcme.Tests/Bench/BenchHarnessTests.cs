using System.Text.Json.Nodes;
using Pcme.Cli;
using Pcme.Cli.Bench;
using Pcme.Cli.Commands;

namespace Pcme.Tests.Bench;

[Collection("torch-global")]
public class BenchHarnessTests
{
    [Fact]
    public void Every_scenario_runs_at_a_tiny_size_and_prints_one_complete_json_line()
    {
        var output = new StringWriter();
        Assert.Equal(ExitCodes.Ok, BenchCommand.Run("all", threads: null, tiny: true, quiet: true, output));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(BenchCommand.Scenarios.Count, lines.Length);
        foreach (var line in lines)
        {
            var r = JsonNode.Parse(line)!.AsObject();
            foreach (var key in new[] { "scenario", "threads", "torchsharp", "libtorch", "cpu" }) Assert.True(r.ContainsKey(key), $"{key} missing in {line}");
            Assert.True((int)r["threads"]! >= 1);
        }
        var loss = JsonNode.Parse(lines.Single(l => l.Contains("\"scenario\":\"loss\"")))!;
        Assert.True((double)loss["max_rel_diff_loss"]! < 1e-5, loss.ToJsonString());
        Assert.True((double)loss["max_rel_diff_grad"]! < 1e-5, loss.ToJsonString());
        Assert.True((double)loss["ours"]!["median_ms"]! > 0);
        Assert.Equal(2, (int)loss["ours"]!["runs"]!);
        var retrieval = JsonNode.Parse(lines.Single(l => l.Contains("\"scenario\":\"retrieval\"")))!;
        var scored = retrieval["scorers"]!.AsArray().Select(s => (string)s!["scorer"]!).ToHashSet();
        Assert.True(scored.SetEquals(Pcme.Retrieval.Scorer.Names), string.Join(",", scored));
        Assert.All(retrieval["scorers"]!.AsArray(), s => Assert.True((double)s!["x_gemm"]! > 0));
        var memory = JsonNode.Parse(lines.Single(l => l.Contains("\"scenario\":\"memory\"")))!;
        Assert.All(memory["runs"]!.AsArray(), r => Assert.True(r!.AsObject().ContainsKey("scoring_peak_bytes")));
        // Scoring every block leaves no TorchSharp tensor behind.
        Assert.Equal((long)memory["torchsharp_live_tensors_before"]!, (long)memory["torchsharp_live_tensors_after"]!);
        var index = JsonNode.Parse(lines.Single(l => l.Contains("\"scenario\":\"index\"")))!;
        var small = index["clustered"]![0]!;
        Assert.True(small["scorers"]!.AsArray().Select(s => (string)s!["scorer"]!).ToHashSet().SetEquals(Pcme.Retrieval.SearchAugmentation.Names));
        Assert.Equal(3, index["clustered"]!.AsArray().Count);
        Assert.Equal(["f16", "i8"], index["quantized"]!["scorers"]!.AsArray().Select(s => (string)s!["storage"]!));
        Assert.All(new[] { index["clustered"]!.AsArray().SelectMany(g => g!["scorers"]!.AsArray()), index["isotropic"]!["scorers"]!.AsArray() }.SelectMany(x => x), s =>
        {
            Assert.True((double)s!["exact_queries_per_s"]! > 0 && (long)s["index_bytes"]! > 0);
            var curve = s["search"]!.AsArray();
            Assert.Equal(2, curve.Count);
            // On 300-1,000 items a search width of 32 reaches the exact top 10.
            Assert.True((double)curve[1]!["recall_at_10"]! >= 0.9, s.ToJsonString());
        });
        Assert.All(lines, l => Assert.Contains("\"scenario_seconds\"", l));
    }

    [Fact]
    public void Unknown_scenario_and_bad_thread_count_are_user_errors()
    {
        Assert.Throws<UserInputException>(() => BenchCommand.Run("nope", null, true, true, TextWriter.Null));
        Assert.Throws<UserInputException>(() => BenchCommand.Run("loss", 0, true, true, TextWriter.Null));
    }

    [Fact]
    public void Harness_reports_median_and_spread_of_the_timed_runs()
    {
        int calls = 0;
        var stats = BenchHarness.Measure(() => { calls++; Thread.Sleep(calls == 3 ? 30 : 2); }, warmup: 1, repeats: 3);
        Assert.Equal(4, calls);
        Assert.Equal(3, stats.Runs);
        Assert.True(stats.MaxMs >= 30 && stats.MinMs < 30, $"{stats}");
        Assert.True(stats.MedianMs < stats.MaxMs);
    }

    [Fact]
    public void Peak_memory_sees_a_large_allocation()
    {
        long? before = PeakMemory.Reset();
        if (before is null) return; // not Linux
        var block = new byte[256 << 20];
        Array.Fill(block, (byte)1);
        long? peak = PeakMemory.HighWaterMark();
        Assert.True(peak - before >= 200L << 20, $"peak {peak} - start {before}");
        GC.KeepAlive(block);
    }
}
