using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pcme.Cli.Bench;
using Pcme.Runtime;
using TorchSharp;

namespace Pcme.Cli.Commands;

/// <summary><c>pcme bench [SCENARIO|all]</c>: benchmarks printed as JSON lines.</summary>
public static class BenchCommand
{
    /// <summary>Scenario name -> runner (size "full" or "tiny").</summary>
    public static readonly IReadOnlyDictionary<string, Func<bool, JsonObject>> Scenarios = new Dictionary<string, Func<bool, JsonObject>>
    {
        ["loss"] = tiny => LossScenario.Run(tiny ? LossScenario.Size.Tiny : LossScenario.Size.Full),
        ["retrieval"] = tiny => RetrievalScenario.Run(tiny ? RetrievalScenario.Size.Tiny : RetrievalScenario.Size.Full),
        ["train-step"] = tiny => TrainStepScenario.Run(tiny ? TrainStepScenario.Size.Tiny : TrainStepScenario.Size.Full),
        ["memory"] = tiny => MemoryScenario.Run(tiny ? MemoryScenario.Size.Tiny : MemoryScenario.Size.Full),
        ["index"] = tiny => IndexScenario.Run(tiny ? IndexScenario.Size.Tiny : IndexScenario.Size.Full),
        ["contention"] = tiny => ContentionScenario.Run(tiny ? ContentionScenario.Size.Tiny : ContentionScenario.Size.Full),
    };

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var scenario = new Argument<string>("scenario") { Description = $"One of: {string.Join(", ", Scenarios.Keys)}, or all.", DefaultValueFactory = _ => "all" };
        var threads = new Option<int?>("--threads") { Description = "Pin libtorch's intra-op thread count (default: all cores)." };
        var tiny = new Option<bool>("--tiny") { Description = "Tiny problem sizes (checks the harness, measures nothing)." };
        var json = new Option<bool>("--json") { Description = "Only the JSON lines (no progress text on stderr)." };
        var cmd = new Command("bench", "Benchmarks: ours vs. the official formulation, as one JSON line per scenario.") { scenario, threads, tiny, json };
        cmd.SetAction(r => Run(r.GetValue(scenario)!, r.GetValue(threads), r.GetValue(tiny), r.GetValue(json), Console.Out));
        return cmd;
    }

    /// <summary>Runs the named scenario(s); returns the exit code.</summary>
    public static int Run(string scenario, int? threads, bool tiny, bool quiet, TextWriter output)
    {
        TorchRuntime.EnsureLoaded();
        // A child of the contention scenario: run the worker loop only.
        if (scenario == "contention" && Environment.GetEnvironmentVariable(ContentionScenario.WorkerVariable) is { Length: > 0 } spec)
        {
            output.WriteLine(ContentionScenario.Worker(spec).ToJsonString());
            return ExitCodes.Ok;
        }
        string[] names = scenario == "all" ? Scenarios.Keys.ToArray()
            : Scenarios.ContainsKey(scenario) ? [scenario]
            : throw new UserInputException($"Unknown benchmark scenario '{scenario}'. Choose one of: {string.Join(", ", Scenarios.Keys)}, all.");
        if (threads is { } t)
        {
            if (t < 1) throw new UserInputException($"--threads must be at least 1 (got {t}).");
            torch.set_num_threads(t);
        }
        foreach (var name in names)
        {
            if (!quiet) Console.Error.WriteLine($"pcme bench: running {name}{(tiny ? " (tiny)" : "")}...");
            var process = System.Diagnostics.Process.GetCurrentProcess();
            var (user, system) = (process.UserProcessorTime, process.PrivilegedProcessorTime);
            var wall = System.Diagnostics.Stopwatch.StartNew();
            var record = Scenarios[name](tiny);
            process.Refresh();
            // Wall and CPU time of the whole scenario: a large system share means page faults (fresh tensor memory).
            record["scenario_seconds"] = new JsonObject
            {
                ["wall"] = Math.Round(wall.Elapsed.TotalSeconds, 1),
                ["user_cpu"] = Math.Round((process.UserProcessorTime - user).TotalSeconds, 1),
                ["system_cpu"] = Math.Round((process.PrivilegedProcessorTime - system).TotalSeconds, 1),
            };
            output.WriteLine(record.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        }
        return ExitCodes.Ok;
    }
}
