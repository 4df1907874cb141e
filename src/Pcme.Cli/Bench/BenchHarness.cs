using System.Diagnostics;
using System.Text.Json.Nodes;
using Pcme.Runtime;
using TorchSharp;

namespace Pcme.Cli.Bench;

/// <summary>Median, spread and peak memory of repeated runs of one piece of work.</summary>
/// <param name="Runs">Timed runs (after warm-up).</param>
/// <param name="MedianMs">Median wall time.</param>
/// <param name="MinMs">Fastest run.</param>
/// <param name="MaxMs">Slowest run.</param>
/// <param name="PeakBytes">Peak resident memory above the level at the start of the measurement
/// (Linux VmHWM after resetting it through /proc/self/clear_refs); null where unavailable.</param>
public sealed record BenchStats(int Runs, double MedianMs, double MinMs, double MaxMs, long? PeakBytes)
{
    /// <summary>As a JSON object.</summary>
    public JsonObject ToJson() => new()
    {
        ["runs"] = Runs, ["median_ms"] = Math.Round(MedianMs, 3), ["min_ms"] = Math.Round(MinMs, 3), ["max_ms"] = Math.Round(MaxMs, 3),
        ["spread_pct"] = Math.Round(100 * (MaxMs - MinMs) / MedianMs, 1), ["peak_bytes"] = PeakBytes,
    };
}

/// <summary>Warm-up + repeated runs, reporting median and spread; peak memory per measurement.</summary>
public static class BenchHarness
{
    /// <summary>Runs <paramref name="body"/> <paramref name="warmup"/> times untimed, then <paramref name="repeats"/> times timed.</summary>
    public static BenchStats Measure(Action body, int warmup, int repeats)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), "At least one timed run.");
        for (int i = 0; i < warmup; i++) body();
        GC.Collect(); GC.WaitForPendingFinalizers();
        long? start = PeakMemory.Reset();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            body();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        long? hwm = PeakMemory.HighWaterMark();
        Array.Sort(times);
        double median = repeats % 2 == 1 ? times[repeats / 2] : (times[repeats / 2 - 1] + times[repeats / 2]) / 2;
        return new BenchStats(repeats, median, times[0], times[^1], start is { } s && hwm is { } h ? Math.Max(0, h - s) : null);
    }

    /// <summary>Fields every record carries: thread count, versions, CPU model.</summary>
    public static JsonObject Environment(string scenario)
    {
        var report = RuntimeReport.Collect();
        return new JsonObject
        {
            ["scenario"] = scenario,
            ["threads"] = torch.get_num_threads(),
            ["torchsharp"] = report.TorchSharpVersion,
            ["libtorch"] = report.LibtorchVersion,
            ["backend"] = report.Backend,
            ["cpu"] = CpuModel(),
        };
    }

    static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?.Split(':', 2)[1].Trim() ?? System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        }
        catch (IOException) { return "unknown"; }
    }
}

/// <summary>Process peak memory on Linux: VmHWM, resettable by writing 5 to /proc/self/clear_refs.</summary>
public static class PeakMemory
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    /// <summary>
    /// Returns freed heap pages to the OS (glibc malloc_trim, so that memory a previous run freed
    /// is not silently reused and hidden from the next peak), then resets the high-water mark to
    /// the current RSS; returns that RSS in bytes (null if unsupported).
    /// </summary>
    public static long? Reset()
    {
        try { MallocTrim(0); } catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        return Read("VmRSS:");
    }

    /// <summary>The peak RSS since the last reset, in bytes.</summary>
    public static long? HighWaterMark() => Read("VmHWM:");

    static long? Read(string key)
    {
        if (!File.Exists("/proc/self/status")) return null;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        if (line is null) return null;
        var kb = long.Parse(line[key.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        return kb * 1024;
    }
}
