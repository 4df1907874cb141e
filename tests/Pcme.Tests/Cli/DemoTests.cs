using System.Text.Json.Nodes;
using Pcme.Cli;
using Pcme.Cli.Commands;

namespace Pcme.Tests.Cli;

[Collection("torch-global")]
public class DemoTests
{
    [Fact]
    public void Demo_json_has_metrics_per_model_scorer_and_direction_sigma_per_level_and_a_report()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"pcme-demo-{Guid.NewGuid():N}");
        try
        {
            var output = new StringWriter();
            Assert.Equal(ExitCodes.Ok, DemoCommand.Run("cpu", seed: 1, json: true, dir, images: 80, epochs: 1, output));
            var doc = JsonNode.Parse(output.ToString())!;
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
            // The demo's own report, opened offline in headless Chromium: every chart really drew.
            Assert.True(File.Exists(Pcme.Tests.Plots.BrowserRenderTests.Chromium), Pcme.Tests.Plots.BrowserRenderTests.InstallHint);
            string dom = Pcme.Tests.Plots.BrowserRenderTests.DumpDom(report, Path.Combine(dir, "profile"));
            var sections = System.Text.RegularExpressions.Regex.Matches(dom, "<section class=\"pcme-chart\"");
            Assert.Equal(5, sections.Count);
            for (int i = 0; i < sections.Count; i++)
            {
                int end = i + 1 < sections.Count ? sections[i + 1].Index : dom.Length;
                Assert.Contains("class=\"main-svg\"", dom[sections[i].Index..end]);
            }
            Assert.True(File.Exists(Path.Combine(dir, "pcme", "checkpoints", "best", "state.json")));
            Assert.Single(File.ReadAllLines(Path.Combine(dir, "mu-only", "metrics.jsonl")));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void Bad_demo_arguments_are_user_errors()
    {
        Assert.Throws<UserInputException>(() => DemoCommand.Run("cpu", 0, true, "/tmp/x", images: 10, epochs: 1, TextWriter.Null));
        Assert.Throws<UserInputException>(() => DemoCommand.Run("cpu", 0, true, "/tmp/x", images: 100, epochs: 0, TextWriter.Null));
        Assert.Throws<UserInputException>(() => DemoCommand.Run("gpu", 0, true, "/tmp/x", images: 100, epochs: 1, TextWriter.Null));
    }
}
