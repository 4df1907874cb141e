using System.Text.Json;
using Pcme.Cli;
using Pcme.Cli.Commands;
using Pcme.Runtime;

namespace Pcme.Tests.Cli;

[Collection("torch-global")]
public class CliTests
{
    [Fact]
    public void Help_lists_the_commands()
    {
        var output = new StringWriter();
        var root = Program.BuildRoot();
        int code = root.Parse(["--help"]).Invoke(new System.CommandLine.InvocationConfiguration { Output = output });
        Assert.Equal(0, code);
        string text = output.ToString();
        Assert.Contains("demo", text);
        Assert.Contains("doctor", text);
    }

    [Fact]
    public void Doctor_reports_the_runtime_and_the_fix_state()
    {
        var output = new StringWriter();
        Assert.Equal(ExitCodes.Ok, DoctorCommand.Run(asJson: true, output));
        using var doc = JsonDocument.Parse(output.ToString());
        var r = doc.RootElement;
        Assert.Equal("0.107.0", r.GetProperty("torchSharpVersion").GetString());
        Assert.StartsWith("2.10", r.GetProperty("libtorchVersion").GetString());
        Assert.Equal("cpu", r.GetProperty("backend").GetString());
        Assert.True(r.GetProperty("threads").GetInt32() >= 1);
        var native = r.GetProperty("native");
        Assert.Equal(TorchRuntime.Status.FixActive, native.GetProperty("fixActive").GetBoolean());
        Assert.Equal(TorchRuntime.Status.LoadedLibrary, native.GetProperty("loadedLibrary").GetString());
    }

    [Fact]
    public void Doctor_table_says_whether_the_fix_is_active()
    {
        var output = new StringWriter();
        Assert.Equal(ExitCodes.Ok, DoctorCommand.Run(asJson: false, output));
        string text = output.ToString();
        Assert.Contains(TorchRuntime.Status.FixActive ? "ACTIVE" : "not needed", text);
        Assert.Contains("CPU convolutions", text);
        if (OperatingSystem.IsLinux()) Assert.Contains("PCME_ONEDNN_BACKWARD", text);
        Assert.Contains("0.107.0", text);
    }

}

public class CliProcessTests
{
    [Fact]
    public void A_runtime_that_cannot_load_gives_one_clear_line_and_exit_code_3()
    {
        if (!TorchRuntime.Status.FixNeeded) return; // only a host that needs the fix can be broken by switching it off
        var (code, stdout, stderr) = CliProcess.Run(new Dictionary<string, string> { [TorchRuntime.FixVariable] = "off" }, "doctor");
        Assert.Equal(ExitCodes.RuntimeUnavailable, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("GLIBCXX_3.4.32", lines[0]);
        Assert.Contains("PCME_NATIVE_FIX=off", lines[0]);
        Assert.DoesNotContain("   at ", stderr + stdout);
    }
}
