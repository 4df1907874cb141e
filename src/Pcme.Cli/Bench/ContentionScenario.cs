using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Pcme.Losses;
using Pcme.Modules;
using Pcme.Runtime;
using static TorchSharp.torch;

namespace Pcme.Cli.Bench;

/// <summary>
/// <c>pcme bench contention</c>: the same small PCME training step (many short parallel regions, like the
/// synthetic demo's) in kit child processes, alone and beside a second busy kit process, for each libgomp
/// wait mode (<see cref="OpenMpWait"/>). The wait policy is fixed when libtorch loads, so every mode needs
/// fresh processes. Reported as ratios measured in the same run: pair / alone per mode, and each mode's
/// alone time against libgomp's own default.
/// </summary>
public static class ContentionScenario
{
    /// <summary>Set in a child: run the worker loop for this many timed steps and print one JSON line.</summary>
    public const string WorkerVariable = "PCME_BENCH_CONTENTION_WORKER";

    /// <summary>Problem size.</summary>
    public sealed record Size(int Batch, int Samples, int Dim, int Channels, int Grid, int Steps, string[] Modes)
    {
        /// <summary>The measurement.</summary>
        public static Size Full => new(32, 7, 64, 128, 7, 20, ["libgomp", "short", "passive"]);
        /// <summary>Harness check (one mode, a few steps).</summary>
        public static Size Tiny => new(6, 2, 16, 32, 3, 3, ["short"]);
    }

    /// <summary>Runs the scenario and returns its JSON record.</summary>
    public static JsonObject Run(Size size)
    {
        var record = BenchHarness.Environment("contention");
        record["shape"] = new JsonObject { ["B"] = size.Batch, ["J"] = size.Samples, ["D"] = size.Dim, ["grid"] = $"{size.Channels}x{size.Grid}x{size.Grid}", ["steps"] = size.Steps };
        record["load_average_before"] = LoadAverage();
        var modes = new JsonArray();
        double? baseline = null;
        foreach (var mode in size.Modes)
        {
            double alone = Workers(size, mode, 1)[0];
            var pair = Workers(size, mode, 2);
            double pairMean = pair.Average();
            baseline ??= mode == "libgomp" ? alone : null;
            modes.Add(new JsonObject
            {
                ["mode"] = mode,
                ["alone_step_ms"] = Math.Round(alone, 2),
                ["pair_step_ms"] = new JsonArray(pair.Select(p => (JsonNode)Math.Round(p, 2)).ToArray()),
                ["pair_over_alone"] = Math.Round(pairMean / alone, 2),
                ["alone_over_libgomp_alone"] = baseline is { } b ? Math.Round(alone / b, 3) : null,
            });
        }
        record["modes"] = modes;
        record["load_average_after"] = LoadAverage();
        return record;
    }

    /// <summary>Starts <paramref name="count"/> workers at once with <paramref name="mode"/>; their median step times (ms).</summary>
    static double[] Workers(Size size, string mode, int count)
    {
        string cli = typeof(ContentionScenario).Assembly.Location;
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var processes = Enumerable.Range(0, count).Select(_ =>
        {
            var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(cli);
            psi.ArgumentList.Add("bench");
            psi.ArgumentList.Add("contention");
            psi.ArgumentList.Add("--json");
            // This process's own settings must not leak into the children: each mode is set by the child's kit.
            psi.Environment.Remove("OMP_WAIT_POLICY");
            psi.Environment.Remove("GOMP_SPINCOUNT");
            psi.Environment[OpenMpWait.ModeVariable] = mode;
            psi.Environment[WorkerVariable] = string.Join(',', size.Batch, size.Samples, size.Dim, size.Channels, size.Grid, size.Steps);
            return Process.Start(psi)!;
        }).ToArray();
        var results = new double[count];
        for (int i = 0; i < count; i++)
        {
            var stdout = processes[i].StandardOutput.ReadToEndAsync();
            string stderr = processes[i].StandardError.ReadToEnd();
            processes[i].WaitForExit();
            var line = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.Contains("worker_median_ms", StringComparison.Ordinal));
            if (processes[i].ExitCode != 0 || line is null)
                throw new InvalidOperationException($"contention worker ({mode}) exited {processes[i].ExitCode}: {stderr.Trim()}");
            results[i] = (double)JsonNode.Parse(line)!["worker_median_ms"]!;
            processes[i].Dispose();
        }
        return results;
    }

    /// <summary>The child's side: a PCME step on random grids, timed; one JSON line.</summary>
    public static JsonObject Worker(string spec)
    {
        var v = spec.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var size = new Size(v[0], v[1], v[2], v[3], v[4], v[5], []);
        manual_seed(0);
        var model = new PcmeModel(new ImageEncoder(new SmallCnn(size.Channels / 4), size.Dim), new CaptionEncoder(500, 64, size.Dim));
        var loss = new SoftContrastiveLoss(new PcmeLossOptions { Samples = size.Samples });
        var opt = optim.AdamW(model.parameters().Where(p => p.requires_grad).Concat(loss.parameters()), lr: 1e-4);
        var g = new Generator(0);
        using var grids = randn([size.Batch, size.Channels, size.Grid, size.Grid], generator: g).relu();
        using var tokens = randint(4, 500, [size.Batch, 12], generator: g);
        using var lengths = randint(3, 13, [size.Batch], generator: g);
        using var match = MatchMatrix.Diagonal(size.Batch);
        model.train(); model.img_enc.cnn.eval();
        long step = 0;
        void Step()
        {
            using var scope = NewDisposeScope();
            var o = loss.Forward(model.EncodeGrids(grids).Embedding, model.EncodeCaptions(tokens, lengths).Embedding, match, new Generator((ulong)step++));
            opt.zero_grad();
            o.Loss.backward();
            opt.step();
        }
        var stats = BenchHarness.Measure(Step, Math.Min(3, size.Steps), size.Steps);
        return new JsonObject { ["worker_median_ms"] = stats.MedianMs, ["openmp"] = OpenMpWait.Current.ToString() };
    }

    static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); } catch (IOException) { return "unknown"; }
    }
}
