using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Pcme.Tests.Interactive;

/// <summary>Runs notebooks headless with the repository's pinned dotnet-repl (.config/dotnet-tools.json).</summary>
static class DotnetRepl
{
    static readonly Lazy<bool> Restored = new(() =>
    {
        var (code, output) = Run("dotnet", ["tool", "restore"], TimeSpan.FromMinutes(3));
        if (code != 0) throw new InvalidOperationException("dotnet tool restore failed:\n" + output);
        return true;
    });

    /// <summary>Executes <paramref name="notebook"/>; returns dotnet-repl's exit code, its console output and the executed notebook.</summary>
    public static (int ExitCode, string Console, JsonNode? Executed) Execute(string notebook, string outputPath, TimeSpan timeout, IDictionary<string, string>? env = null)
    {
        _ = Restored.Value;
        Directory.CreateDirectory(Path.GetDirectoryName(outputPath)!);
        if (File.Exists(outputPath)) File.Delete(outputPath);   // never read a stale copy from an earlier run
        var (code, output) = Run("dotnet", ["repl", "--run", notebook, "--exit-after-run", "--output-path", outputPath], timeout, env);
        JsonNode? executed = File.Exists(outputPath) ? JsonNode.Parse(File.ReadAllText(outputPath)) : null;
        return (code, output, executed);
    }

    /// <summary>Every text output of every cell, joined.</summary>
    public static string AllText(JsonNode executed) => string.Join("\n",
        executed["cells"]!.AsArray().SelectMany(c => c!["outputs"]?.AsArray() ?? [])
            .Select(o => o!["text"] is JsonNode t ? Join(t) : o["data"]?["text/plain"] is JsonNode p ? Join(p) : o.ToJsonString()));

    static string Join(JsonNode n) => n is JsonArray a ? string.Concat(a.Select(x => (string?)x)) : (string?)n ?? "";

    static (int, string) Run(string file, string[] args, TimeSpan timeout, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{file} {string.Join(' ', args)} ran past {timeout}."); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
