using System.Text.Json.Nodes;
using Pcme.Cli;
using Pcme.Cli.Commands;

namespace Pcme.Tests.Cli;

/// <summary>One small demo run shared by the tests that read its output (it trains two models).</summary>
public sealed class DemoRun : IDisposable
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"pcme-demo-{Guid.NewGuid():N}");
    public int Code { get; }
    public JsonNode Doc { get; }

    public DemoRun()
    {
        var output = new StringWriter();
        Code = DemoCommand.Run("cpu", seed: 1, json: true, Folder, images: 80, epochs: 1, output);
        Doc = JsonNode.Parse(output.ToString())!;
    }

    public void Dispose() { if (Directory.Exists(Folder)) Directory.Delete(Folder, true); }
}

[Collection("torch-global")]
public class DemoTests(DemoRun demo) : IClassFixture<DemoRun>
{
    [Fact]
    public void Demo_json_has_metrics_per_model_scorer_and_direction_sigma_per_level_and_a_report()
    {
        Assert.Equal(ExitCodes.Ok, demo.Code);
        var doc = demo.Doc;
        var metrics = doc["metrics"]!.AsArray();
        var pairs = metrics.Select(m => ((string)m!["model"]!, (string)m["result"]!["scorer"]!)).ToHashSet();
        Assert.Contains(("mu-only", "cosine"), pairs);
        foreach (var s in new[] { "cosine", "mc", "elk", "wasserstein", "csd" }) Assert.Contains(("pcme", s), pairs);
        foreach (var m in metrics)
        {
            var r = m!["result"]!["metrics"]!;
            Assert.NotNull(r["i2t"]!["r_precision"]);
            Assert.NotNull(r["t2i"]!["recall"]);
        }
        var levels = doc["sigma_by_specificity"]!.AsArray();
        Assert.True(levels.Count >= 3);
        Assert.All(levels, l => Assert.True((double)l!["mean_sigma"]! > 0));
        double rho = (double)doc["spearman_relevant_images_vs_sigma"]!;
        Assert.InRange(rho, -1, 1);
        string report = (string)doc["report"]!;
        Assert.True(File.Exists(report));
        string html = File.ReadAllText(report);
        Assert.Contains("R-Precision", html);
        Assert.DoesNotContain("src=\"http", html);
        Assert.True(File.Exists(Path.Combine(demo.Folder, "pcme", "checkpoints", "best", "state.json")));
        Assert.Single(File.ReadAllLines(Path.Combine(demo.Folder, "mu-only", "metrics.jsonl")));
    }

    [Pcme.Tests.Plots.BrowserFact]
    public void The_demo_report_draws_every_chart_in_headless_chromium_offline()
    {
        Assert.Equal(ExitCodes.Ok, demo.Code);
        Assert.True(Pcme.Tests.Plots.BrowserRenderTests.Available, Pcme.Tests.Plots.BrowserRenderTests.InstallHint);
        string dom = Pcme.Tests.Plots.BrowserRenderTests.DumpDom((string)demo.Doc["report"]!, Path.Combine(demo.Folder, "profile"));
        var sections = System.Text.RegularExpressions.Regex.Matches(dom, "<section class=\"pcme-chart\"");
        Assert.Equal(5, sections.Count);
        for (int i = 0; i < sections.Count; i++)
        {
            int end = i + 1 < sections.Count ? sections[i + 1].Index : dom.Length;
            Assert.Contains("class=\"main-svg\"", dom[sections[i].Index..end]);
        }
    }

    [Fact]
    public void Bad_demo_arguments_are_user_errors()
    {
        Assert.Throws<UserInputException>(() => DemoCommand.Run("cpu", 0, true, "/tmp/x", images: 10, epochs: 1, TextWriter.Null));
        Assert.Throws<UserInputException>(() => DemoCommand.Run("cpu", 0, true, "/tmp/x", images: 100, epochs: 0, TextWriter.Null));
        Assert.Throws<UserInputException>(() => DemoCommand.Run("gpu", 0, true, "/tmp/x", images: 100, epochs: 1, TextWriter.Null));
    }
}
