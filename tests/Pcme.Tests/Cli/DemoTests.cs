using System.Text.Json.Nodes;
using Pcme.Cli;
using Pcme.Cli.Commands;

namespace Pcme.Tests.Cli;

/// <summary>One small demo run shared by the tests that read its output (it trains four models).</summary>
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
    public void Demo_json_has_every_method_s_metrics_sigma_per_level_match_mass_claims_and_a_report()
    {
        Assert.Equal(ExitCodes.Ok, demo.Code);
        var doc = demo.Doc;
        var runs = doc["runs"]!.AsArray();
        Assert.Equal(DemoCommand.Methods, runs.Select(r => (string)r!["method"]!));
        Assert.All(runs, r => Assert.Equal("same_image", (string)r!["positives"]!));   // the official label regime
        foreach (var r in runs)
        {
            var m = r!["metrics"]!;
            Assert.InRange((double)m["i2t_rp"]!, 0, 100);
            Assert.InRange((double)m["t2i_r1"]!, 0, 100);
            bool probabilistic = (string)r["method"]! is "pcme" or "pcme++";
            Assert.Equal(probabilistic, r["spearman_sigma_relevant"] is not null);
            var levels = r["levels"]!.AsArray();
            Assert.True(levels.Count >= 3);
            Assert.All(levels, l => Assert.True((double)l!["mean_predicted_matches"]! > 0));   // every demo method has a match probability
            Assert.All(levels, l => Assert.Equal(probabilistic, l!["mean_sigma"] is not null));
        }
        // Evaluation used every scorer for the probabilistic methods, the means only for the twins.
        Assert.Contains("elk", runs[0]!["by_scorer"]!.AsObject().Select(kv => kv.Key));
        Assert.Equal(["cosine", "l2"], runs[1]!["by_scorer"]!.AsObject().Select(kv => kv.Key));
        // Paired differences against each twin, and one verdict per claim with its numbers.
        Assert.Contains(doc["paired"]!.AsArray(), p => (string)p!["method"]! == "pcme++" && (string)p["twin"]! == "pcme++-mu" && (string)p["metric"]! == "t2i_rp");
        var claims = doc["claims"]!.AsArray();
        Assert.Equal(4, claims.Count);
        Assert.All(claims, c => Assert.Contains((string)c!["verdict"]!, new[] { "holds", "holds on average", "does not hold", "opposite" }));
        string report = (string)doc["report"]!;
        Assert.True(File.Exists(report));
        string html = File.ReadAllText(report);
        Assert.Contains("R-P i2t", html);
        Assert.DoesNotContain("src=\"http", html);
        Assert.True(File.Exists(Path.Combine(demo.Folder, "pcme", "same_image", "seed-1", "checkpoints", "best", "state.json")));
        Assert.Single(File.ReadAllLines(Path.Combine(demo.Folder, "soft-contrastive", "same_image", "seed-1", "metrics.jsonl")));
        Assert.True(File.Exists(Path.Combine(demo.Folder, "results.json")));
    }

    [Pcme.Tests.Plots.BrowserFact]
    public void The_demo_report_draws_every_chart_in_headless_chromium_offline()
    {
        Assert.Equal(ExitCodes.Ok, demo.Code);
        Assert.True(Pcme.Tests.Plots.BrowserRenderTests.Available, Pcme.Tests.Plots.BrowserRenderTests.InstallHint);
        string dom = Pcme.Tests.Plots.BrowserRenderTests.DumpDom((string)demo.Doc["report"]!, Path.Combine(demo.Folder, "profile"));
        var sections = System.Text.RegularExpressions.Regex.Matches(dom, "<section class=\"pcme-chart\"");
        Assert.Equal(4, sections.Count);   // sigma per level, match mass, R@1 per sigma bin, training loss
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
