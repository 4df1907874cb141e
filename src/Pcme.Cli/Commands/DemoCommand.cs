using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pcme.Plots;
using Pcme.Runtime;
using Pcme.Training;
using Spectre.Console;
using PlotBin = Pcme.Plots.RecallBinPoint;

namespace Pcme.Cli.Commands;

/// <summary>
/// <c>pcme demo</c>: README's main command. Generates the synthetic many-to-many set, trains PCME and,
/// identically, its mu-only twin on this machine, prints R@1 / R-Precision for several test-time
/// scorers and the uncertainty finding, and writes an offline HTML report.
/// </summary>
public static class DemoCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var seed = new Option<int>("--seed") { Description = "Seed of the data, the models and every draw.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON document (no table, no progress bar)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder (checkpoints, metrics.jsonl, report.html).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("runs", "demo")) };
        var images = new Option<int>("--images") { Description = "Images in the synthetic set.", DefaultValueFactory = _ => 1000 };
        var epochs = new Option<int?>("--epochs") { Description = "Training epochs per model (default: configs/synthetic.yaml)." };
        var cmd = new Command("demo", "Train PCME and its mu-only twin on the synthetic set, compare scorers, relate sigma to caption vagueness, write an HTML report.")
            { device, seed, json, output, images, epochs };
        cmd.SetAction(r => Run(r.GetValue(device)!, r.GetValue(seed), r.GetValue(json), r.GetValue(output)!.FullName, r.GetValue(images), r.GetValue(epochs), Console.Out));
        return cmd;
    }

    /// <summary>Runs the demo; returns the exit code.</summary>
    public static int Run(string deviceName, int seed, bool json, string outputDirectory, int images = 1000, int? epochs = null, TextWriter? output = null)
    {
        output ??= Console.Out;
        var runtime = TorchRuntime.EnsureLoaded();
        var dev = EmbedCommand.Resolve(deviceName);
        if (images < 50) throw new UserInputException($"--images must be at least 50 (got {images}).");
        var config = TrainingConfig.Synthetic with { Train = TrainingConfig.Synthetic.Train with { Device = deviceName } };
        if (epochs is { } e)
        {
            if (e < 1) throw new UserInputException($"--epochs must be at least 1 (got {e}).");
            config = config with { Train = config.Train with { PretrainEpochs = e, ValEpochs = Math.Max(1, e / 3) } };
        }
        var options = new SyntheticStudyOptions { Seed = seed, Images = images, Config = config, OutputDirectory = outputDirectory };
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        if (!json)
        {
            console.MarkupLine($"[bold]Pcme.NET demo[/] — TorchSharp {Markup.Escape(BuildInfo.TorchSharpVersion)}, {Markup.Escape(dev.ToString())}, " +
                               $"{TorchSharp.torch.get_num_threads()} threads{(runtime.FixActive ? ", libstdc++ fix active" : "")}");
            console.MarkupLine($"Synthetic set: {images} rendered scenes (seed {seed}), captions at 5 levels of specificity; " +
                               $"training PCME and its mu-only twin for {config.Train.PretrainEpochs} epochs each.");
        }
        SyntheticStudyResult result;
        if (json) result = SyntheticStudy.Run(options);
        else
        {
            result = null!;
            console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var tasks = new Dictionary<string, ProgressTask>();
                    result = SyntheticStudy.Run(options, new SynchronousProgress<(string Model, TrainingProgress Progress)>(p =>
                    {
                        if (!tasks.TryGetValue(p.Model, out var task)) tasks[p.Model] = task = ctx.AddTask(p.Model, maxValue: p.Progress.Epochs * p.Progress.StepsPerEpoch);
                        var x = p.Progress;
                        task.Value = x.Epoch * x.StepsPerEpoch + x.Step;
                        task.Description = string.Create(CultureInfo.InvariantCulture,
                            $"{p.Model,-8} epoch {x.Epoch + 1}/{x.Epochs} step {x.Step}/{x.StepsPerEpoch} loss {x.Loss:F4} lr {x.LearningRate:E1} {x.ItemsPerSecond:F0} pairs/s ETA {x.Eta:mm\\:ss}");
                    }));
                });
        }

        string reportPath = WriteReport(result, Path.Combine(outputDirectory, "report.html"));
        if (json)
        {
            var doc = result.ToJson();
            doc["report"] = reportPath;
            doc["pcme_rprecision_at_least_mu_only"] = PcmeAtLeastMuOnly(result);
            output.WriteLine(doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        }
        console.Write(ResultsTable(result));
        var levels = new Table().Title("caption uncertainty (test split, PCME)").AddColumn("specificity level").AddColumn("captions").AddColumn("mean relevant images").AddColumn("mean sigma").AddColumn("std");
        foreach (var s in result.SigmaByLevel)
            levels.AddRow(s.Level.ToString(CultureInfo.InvariantCulture), s.Count.ToString(CultureInfo.InvariantCulture), F(s.MeanRelevantImages, "0.0"), F(s.MeanSigma, "0.00000"), F(s.StdSigma, "0.00000"));
        console.Write(levels);
        console.MarkupLine($"Spearman correlation between a caption's number of relevant images and its sigma: [bold]{F(result.SpearmanRelevantVsSigma, "0.000")}[/] " +
                           $"(paper's claim: vaguer captions get larger sigma, i.e. a clearly positive value).");
        console.MarkupLine($"PCME R-Precision (best scorer, mean of both directions) {(PcmeAtLeastMuOnly(result) ? "is at least" : "is [red]below[/]")} its mu-only twin's.");
        console.MarkupLine($"Report: [link]{Markup.Escape(reportPath)}[/]  ({result.Seconds:F0} s in all)");
        return ExitCodes.Ok;
    }

    static bool PcmeAtLeastMuOnly(SyntheticStudyResult r) =>
        r.Rows.Where(x => x.Model == "pcme").Max(SyntheticStudyResult.MeanRPrecision) >= r.Rows.Where(x => x.Model == "mu-only").Max(SyntheticStudyResult.MeanRPrecision);

    static Table ResultsTable(SyntheticStudyResult r)
    {
        var t = new Table().Title("test split: R@1 and R-Precision (%)").AddColumn("model").AddColumn("scorer")
            .AddColumn("R@1 i2t").AddColumn("R@1 t2i").AddColumn("R-P i2t").AddColumn("R-P t2i");
        foreach (var row in r.Rows)
        {
            var m = row.Result.Metrics;
            t.AddRow(row.Model, row.Result.Scorer, F(m.ImageToText.RecallAt(1), "0.0"), F(m.TextToImage.RecallAt(1), "0.0"), F(m.ImageToText.RPrecision, "0.0"), F(m.TextToImage.RPrecision, "0.0"));
        }
        return t;
    }

    static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Writes the offline HTML report (plotly.js embedded) and returns its full path.</summary>
    internal static string WriteReport(SyntheticStudyResult r, string path)
    {
        var rows = r.Rows.Select(x => new[]
        {
            x.Model, x.Result.Scorer, F(x.Result.Metrics.ImageToText.RecallAt(1), "0.0"), F(x.Result.Metrics.TextToImage.RecallAt(1), "0.0"),
            F(x.Result.Metrics.ImageToText.RPrecision, "0.0"), F(x.Result.Metrics.TextToImage.RPrecision, "0.0"),
        }).ToArray();
        var bars = r.Rows.SelectMany(x => new[]
        {
            new MetricValue(x.Model, x.Result.Scorer, "i2t", x.Result.Metrics.ImageToText.RPrecision),
            new MetricValue(x.Model, x.Result.Scorer, "t2i", x.Result.Metrics.TextToImage.RPrecision),
        }).ToArray();
        TrainingCurve Curve(string name, IReadOnlyList<EpochMetrics> h) => new(name, h.Select(e => e.Loss).ToArray(),
            h.Where(e => e.Validation is not null).Select(e => e.Validation!.Value).ToArray(), h.Where(e => e.Validation is not null).Select(e => e.Epoch).ToArray());
        var withLevel = Enumerable.Range(0, r.CaptionSigma.Count).Where(i => r.CaptionLevels[i] is not null).ToArray();
        var report = new HtmlReport("Pcme.NET demo: PCME vs. its mu-only twin on the synthetic set")
            .Paragraph($"Seed {r.Seed}. Both models were trained identically on the synthetic many-to-many set (rendered scenes, captions at five levels of specificity) and evaluated on its test split, where the relevance of every caption-image pair is known exactly.")
            .Table(new ReportTable(["model", "scorer", "R@1 i2t", "R@1 t2i", "R-P i2t", "R-P t2i"], rows), "Test split, percent.")
            .Chart("Training loss and validation R-Precision", Figures.LossCurves([Curve("PCME", r.PcmeHistory), Curve("mu-only", r.MuOnlyHistory)]))
            .Chart("R-Precision per scorer", Figures.MetricBars(bars, "R-Precision"))
            .Paragraph($"Spearman correlation between a caption's number of relevant images and its sigma: {F(r.SpearmanRelevantVsSigma, "0.000")}.")
            .Chart("Caption sigma by specificity level", Figures.SigmaBySpecificity(withLevel.Select(i => r.CaptionLevels[i]!.Value).ToArray(), withLevel.Select(i => r.CaptionSigma[i]).ToArray()))
            .Chart("Caption sigma vs. number of relevant images", Figures.SigmaVsRelevantCount(r.CaptionRelevantImages, r.CaptionSigma))
            .Chart("R@1 of caption queries per uncertainty bin", Figures.RecallByUncertaintyBin([new UncertaintyBinSeries("PCME (MC)",
                r.RecallByCaptionUncertainty.Select(b => new PlotBin(b.MeanUncertainty, b.Recall, b.QueryCount)).ToArray())]));
        return report.Write(path);
    }
}
