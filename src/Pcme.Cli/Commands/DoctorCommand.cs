using System.CommandLine;
using System.Text.Json;
using Pcme.Runtime;
using Spectre.Console;

namespace Pcme.Cli.Commands;

/// <summary><c>pcme doctor</c>: what runtime the kit will use and whether it works.</summary>
public static class DoctorCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON document." };
        var cmd = new Command("doctor", "Check the TorchSharp/libtorch runtime: versions, backend, CUDA, threads, the libstdc++ fix.") { json };
        cmd.SetAction(r => Run(r.GetValue(json), Console.Out));
        return cmd;
    }

    /// <summary>Prints the report; returns 0 when the runtime works, 3 otherwise.</summary>
    public static int Run(bool asJson, TextWriter output)
    {
        var report = RuntimeReport.Collect();
        if (asJson)
        {
            output.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        }
        else
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
            Render(report, console);
        }
        if (!report.Works) Console.Error.WriteLine("pcme: " + report.Native.Error);
        return report.Works ? ExitCodes.Ok : ExitCodes.RuntimeUnavailable;
    }

    static void Render(RuntimeReport r, IAnsiConsole console)
    {
        var n = r.Native;
        var t = new Table().Title("pcme doctor").AddColumn("check").AddColumn("value");
        void Row(string k, string? v) => t.AddRow(Markup.Escape(k), Markup.Escape(v ?? "-"));
        Row("status", r.Works ? "OK: libtorch is loaded and computes" : "FAILED");
        Row("TorchSharp", r.TorchSharpVersion);
        Row("libtorch", r.LibtorchVersion);
        Row("backend", r.Backend);
        Row("CUDA available", r.CudaAvailable ? $"yes ({r.CudaDeviceCount} device(s))" : "no");
        foreach (var d in r.CudaDevices) Row("CUDA device", d);
        Row("threads (intra / inter-op)", $"{r.Threads} / {r.InteropThreads}");
        Row("OpenMP wait", r.OpenMp + $"; {OpenMpWait.ModeVariable}=short|passive|active|libgomp chooses, train.threads / --threads set the thread count");
        Row("CPU convolutions", r.OneDnn switch
        {
            null => "libtorch default (its oneDNN switch is not reachable on this platform)",
            false => "libtorch's own kernels (oneDNN is off)",
            true => r.AvoidOneDnnBackward
                ? "oneDNN; libtorch's own kernels while training a ResNet on the CPU (oneDNN's ResNet-50 backward crashes on AVX-512; PCME_ONEDNN_BACKWARD=on keeps it)"
                : "oneDNN, also for ResNet training (PCME_ONEDNN_BACKWARD=on)",
        });
        Row("libstdc++", n.Libstdcxx);
        Row("libstdc++ lacks", n.MissingVersions.Count == 0 ? "nothing LibTorchSharp needs" : string.Join("; ", n.MissingVersions));
        Row("libstdc++ fix", n.FixActive ? "ACTIVE (weak-versioned copy of libLibTorchSharp.so)" : n.FixNeeded ? "needed but not active" : "not needed");
        Row("LibTorchSharp in use", n.LoadedLibrary);
        Row("LibTorchSharp shipped", n.OriginalLibrary);
        Row("libtorch folder", n.NativeDirectory);
        Row("OS", r.Os);
        Row(".NET", $"{r.DotNet} ({r.ProcessArchitecture})");
        if (n.Error is not null) Row("error", n.Error);
        console.Write(t);
    }
}
