using System.Text.Json.Nodes;
using Pcme.Runtime;

namespace Pcme.Tests.Interactive;

[Collection("notebooks")]
public class NotebookRuntimeTests
{
    [Fact]
    public void Libtorch_loads_inside_a_notebook_kernel_with_the_same_fix_as_the_test_host()
    {
        string bin = AppContext.BaseDirectory;
        string code =
            "#r \"nuget: TorchSharp-cpu, 0.107.0\"\n" +
            $"#r \"{Path.Combine(bin, "Pcme.dll")}\"\n" +
            $"#r \"{Path.Combine(bin, "Pcme.Interactive.dll")}\"\n" +
            "var s = Pcme.Interactive.NotebookRuntime.Bootstrap();\n" +
            "var x = TorchSharp.torch.arange(1, 5, dtype: TorchSharp.torch.float64);\n" +
            "Console.WriteLine($\"fix={s.FixActive};sum={x.dot(x).item<double>()};lib={s.LoadedLibrary}\");";
        var nb = new JsonObject
        {
            ["cells"] = new JsonArray(new JsonObject
            {
                ["cell_type"] = "code", ["execution_count"] = null, ["metadata"] = new JsonObject { ["dotnet_interactive"] = new JsonObject { ["language"] = "csharp" } },
                ["outputs"] = new JsonArray(), ["source"] = code,
            }),
            ["metadata"] = new JsonObject { ["kernelspec"] = new JsonObject { ["display_name"] = ".NET (C#)", ["language"] = "C#", ["name"] = ".net-csharp" } },
            ["nbformat"] = 4, ["nbformat_minor"] = 5,
        };
        string dir = Path.Combine(RepoPaths.Root, "artifacts", "test-notebooks");
        Directory.CreateDirectory(dir);
        string input = Path.Combine(dir, "runtime-check.ipynb");
        File.WriteAllText(input, nb.ToJsonString());
        var (exit, console, executed) = DotnetRepl.Execute(input, Path.Combine(dir, "runtime-check.out.ipynb"), TimeSpan.FromMinutes(4));
        Assert.True(exit == 0, console);
        string text = DotnetRepl.AllText(executed!);
        // 1 + 4 + 9 + 16 = 30, computed by libtorch inside the kernel.
        Assert.Contains($"fix={TorchRuntime.Status.FixActive};sum=30;", text);
        if (TorchRuntime.Status.FixActive) Assert.Contains("lib=" + TorchRuntime.Status.LoadedLibrary, text);
    }
}
