using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Pcme.Tests.Interactive;

/// <summary>
/// The five notebooks in notebooks/: committed clean (no outputs, Polyglot metadata, one setup cell), and each runs
/// headless with the pinned dotnet-repl in small mode (PCME_NOTEBOOK_SIZE=small) without a cell error and with at
/// least one drawn chart. Executed copies go to artifacts/notebooks/ (git-ignored), with their run folders under
/// artifacts/notebooks/runs/NAME, so notebooks 4 and 5 take their standalone path (train their own model).
/// </summary>
[Collection("notebooks")]
public class NotebooksTests(ITestOutputHelper output)
{
    static readonly string[] Expected = ["01-hib-background", "02-training-pcme", "03-gradient-weights", "04-test-time-variants", "05-uncertainty", "06-ablations"];

    /// <summary>One case per notebook, so a failure names it.</summary>
    public static TheoryData<string> Names => new(Expected);

    static string NotebookPath(string name) => Path.Combine(RepoPaths.Root, "notebooks", name + ".ipynb");

    [Theory]
    [MemberData(nameof(Names))]
    public void Runs_headless_in_small_mode_without_errors_and_draws_a_chart(string name)
    {
        var run = NotebookRuns.Result(name);
        output.WriteLine($"{name}: exit code {run.ExitCode}, {run.Seconds:F0} s (small mode)");
        Assert.True(run.Executed is not null, $"{name}: dotnet repl wrote no executed notebook (exit code {run.ExitCode}).\n{Tail(run.Console)}");
        var errors = Outputs(run.Executed!).Where(o => (string?)o.Output["output_type"] == "error")
            .Select(o => $"cell {o.Cell}: {(string?)o.Output["ename"]}: {(string?)o.Output["evalue"]}").ToArray();
        Assert.True(errors.Length == 0, $"{name}: {errors.Length} cell error(s):\n{string.Join("\n", errors)}");
        Assert.True(run.ExitCode == 0, $"{name}: dotnet repl exited with {run.ExitCode}.\n{Tail(run.Console)}");
        // The setup cell's status line comes from the kit's formatter: registration with the engine's Formatter worked.
        Assert.Contains(Outputs(run.Executed!), o => o.Cell == FirstCodeCell(run.Executed!) && Html(o.Output) is { } h && h.Contains("libtorch loaded", StringComparison.Ordinal));
        int charts = Outputs(run.Executed!).Count(o => Html(o.Output) is { } html && html.Contains("Plotly.newPlot(", StringComparison.Ordinal));
        Assert.True(charts > 0, $"{name}: no text/html output with a plotly chart.");
        Assert.True(run.Seconds < 300, $"{name} took {run.Seconds:F0} s in small mode; the budget is 3 minutes on two cores.");
    }

    [Fact]
    public void Committed_notebooks_have_no_outputs_polyglot_metadata_and_one_setup_cell_pinned_like_the_build()
    {
        var files = Directory.GetFiles(Path.Combine(RepoPaths.Root, "notebooks"), "*.ipynb").Select(Path.GetFileNameWithoutExtension).Order().ToArray();
        Assert.Equal(Expected, files);
        var pinned = PinnedPackageVersions();
        foreach (var name in Expected)
        {
            var nb = JsonNode.Parse(File.ReadAllText(NotebookPath(name)))!;
            var meta = nb["metadata"]!;
            Assert.Equal(".net-csharp", (string?)meta["kernelspec"]?["name"]);
            Assert.Equal("csharp", (string?)meta["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"]);
            Assert.Equal(4, (int)nb["nbformat"]!);
            var cells = nb["cells"]!.AsArray();
            var code = cells.Where(c => (string?)c!["cell_type"] == "code").ToArray();
            Assert.True(code.Length >= 3, $"{name} has {code.Length} code cells.");
            foreach (var c in code)
            {
                Assert.True(c!["outputs"] is JsonArray { Count: 0 }, $"{name}: a code cell has outputs; commit notebooks cleared.");
                Assert.True(c["execution_count"] is null, $"{name}: a code cell has an execution count; commit notebooks cleared.");
                Assert.Equal("csharp", (string?)c["metadata"]?["polyglot_notebook"]?["kernelName"]);
            }
            // One setup cell, the first code cell: the only one with #r directives, and it bootstraps the kit.
            var setup = Source(code[0]!);
            Assert.Contains("#r \"nuget: TorchSharp-cpu", setup);
            Assert.Contains("NotebookRuntime", setup);
            Assert.Contains("Bootstrap", setup);
            Assert.All(code.Skip(1), c => Assert.DoesNotContain("#r ", Source(c!)));
            Assert.Contains("NotebookSize", Source(code[1]!));   // the problem size is chosen right after the setup
            foreach (Match m in Regex.Matches(setup, "#r \"nuget: ([^,\"]+), ([^\"]+)\""))
            {
                string package = m.Groups[1].Value, version = m.Groups[2].Value;
                Assert.True(pinned.TryGetValue(package, out var expected), $"{name}: {package} is not pinned in Directory.Packages.props.");
                Assert.True(expected == version, $"{name}: {package} {version} in the setup cell, {expected} in Directory.Packages.props.");
            }
            Assert.Contains(cells, c => (string?)c!["cell_type"] == "markdown" && Source(c).Contains('$'));   // prose with equations
        }
    }

    static Dictionary<string, string> PinnedPackageVersions()
    {
        var props = File.ReadAllText(Path.Combine(RepoPaths.Root, "Directory.Packages.props"));
        var torch = Regex.Match(props, "<TorchSharpVersion>([^<]+)</TorchSharpVersion>").Groups[1].Value;
        return Regex.Matches(props, "<PackageVersion Include=\"([^\"]+)\" Version=\"([^\"]+)\"")
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Replace("$(TorchSharpVersion)", torch));
    }

    static int FirstCodeCell(JsonNode executed) =>
        executed["cells"]!.AsArray().Select((c, i) => (c, i)).First(x => (string?)x.c!["cell_type"] == "code").i;

    static string Source(JsonNode cell) => cell["source"] is JsonArray a ? string.Concat(a.Select(x => (string?)x)) : (string?)cell["source"] ?? "";

    static string? Html(JsonNode output) => output["data"]?["text/html"] switch
    {
        JsonArray a => string.Concat(a.Select(x => (string?)x)),
        JsonValue v => (string?)v,
        _ => null,
    };

    static IEnumerable<(int Cell, JsonNode Output)> Outputs(JsonNode executed) =>
        executed["cells"]!.AsArray().SelectMany((c, i) => (c!["outputs"]?.AsArray() ?? []).Select(o => (i, o!)));

    static string Tail(string text) => text.Length <= 4000 ? text : "..." + text[^4000..];
}

/// <summary>Notebook runs take both cores for minutes: they run alone, not beside other test classes (their timings stay meaningful).</summary>
[CollectionDefinition("notebooks", DisableParallelization = true)]
public sealed class NotebooksCollection;

/// <summary>
/// Runs the notebooks once per test process, in order, at most <see cref="Parallelism"/> at a time
/// (PCME_NOTEBOOK_TEST_PARALLEL, default 1: libtorch already uses both cores of a CI machine).
/// </summary>
static class NotebookRuns
{
    public sealed record Run(int ExitCode, string Console, JsonNode? Executed, double Seconds);

    static readonly ConcurrentDictionary<string, Task<Run>> Started = new();
    static readonly Lazy<SemaphoreSlim> Slots = new(() => new SemaphoreSlim(Parallelism));
    static readonly Lazy<bool> KitBuilt = new(EnsureKitBuilt);

    static int Parallelism => int.TryParse(Environment.GetEnvironmentVariable("PCME_NOTEBOOK_TEST_PARALLEL"), out int n) && n > 0 ? n : 1;

    public static string ArtifactsDirectory => Path.Combine(RepoPaths.Root, "artifacts", "notebooks");

    /// <summary>The run of <paramref name="name"/>, starting it (and the notebooks after it, when running in parallel) if needed.</summary>
    public static Run Result(string name)
    {
        _ = KitBuilt.Value;
        if (Parallelism > 1)
            foreach (var other in Directory.GetFiles(Path.Combine(RepoPaths.Root, "notebooks"), "*.ipynb").Select(Path.GetFileNameWithoutExtension).Order())
                Start(other!);
        return Start(name).GetAwaiter().GetResult();
    }

    static Task<Run> Start(string name) => Started.GetOrAdd(name, n => Task.Run(async () =>
    {
        await Slots.Value.WaitAsync();
        try { return Execute(n); }
        finally { Slots.Value.Release(); }
    }));

    static Run Execute(string name)
    {
        string runs = Path.Combine(ArtifactsDirectory, "runs", name);
        if (Directory.Exists(runs)) Directory.Delete(runs, recursive: true);
        var env = new Dictionary<string, string> { ["PCME_NOTEBOOK_SIZE"] = "small", ["PCME_NOTEBOOK_RUNS"] = runs };
        if (Parallelism > 1) env["OMP_NUM_THREADS"] = "1";
        var clock = Stopwatch.StartNew();
        var (exit, console, executed) = DotnetRepl.Execute(Path.Combine(RepoPaths.Root, "notebooks", name + ".ipynb"),
            Path.Combine(ArtifactsDirectory, name + ".ipynb"), TimeSpan.FromMinutes(8), env);
        return new Run(exit, console, executed, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The setup cells reference src/Pcme.Interactive/bin/Debug; build it once here rather than in every notebook.</summary>
    static bool EnsureKitBuilt()
    {
        string dll = Path.Combine(RepoPaths.Root, "src", "Pcme.Interactive", "bin", "Debug", "net10.0", "Pcme.Interactive.dll");
        if (File.Exists(dll)) return true;
        var psi = new ProcessStartInfo("dotnet", ["build", "src/Pcme.Interactive", "-c", "Debug"]) { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync(); var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("dotnet build src/Pcme.Interactive failed:\n" + stdout.Result + stderr.Result);
        return true;
    }
}
