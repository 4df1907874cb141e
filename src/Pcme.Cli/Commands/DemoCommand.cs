using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Pcme.Data;
using Pcme.Plots;
using Pcme.Runtime;
using Pcme.Training;
using Spectre.Console;

namespace Pcme.Cli.Commands;

/// <summary>
/// <c>pcme demo</c>: README's main command. One <see cref="Ablation"/> on the synthetic set: PCME, its mu-only twin, PCME++
/// and its mu-only twin under the official label regime (a caption's own image is its only positive; batches of distinct
/// images), trained on identical batches per seed; then, per claim of the paper, what holds — as paired differences and
/// correlations over the seeds it ran, not a boolean — and an offline HTML report.
/// </summary>
public static class DemoCommand
{
    /// <summary>The demo's methods.</summary>
    public static readonly IReadOnlyList<string> Methods = ["pcme", "soft-contrastive", "pcme++", "pcme++-mu"];

    /// <summary>Synthetic images of the default demo: four runs of <see cref="DefaultEpochs"/> epochs fit in 3 minutes on two cores.</summary>
    public const int DefaultImages = 500;

    /// <summary>Epochs per run of the default demo (configs/synthetic.yaml trains 12; 4 runs x 12 epochs at 500 images took 206 s).</summary>
    public const int DefaultEpochs = 10;

    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var seed = new Option<int>("--seed") { Description = "Seed of the data, the models and every draw (one seed).", DefaultValueFactory = _ => 0 };
        var seeds = new Option<string?>("--seeds") { Description = "Several seeds, comma-separated (e.g. 0,1,2): claims are judged over all of them." };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON document (no table, no progress bar)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Study folder (run folders, results.json, report.html).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("runs", "demo")) };
        var images = new Option<int>("--images") { Description = "Images in the synthetic set.", DefaultValueFactory = _ => DefaultImages };
        var epochs = new Option<int?>("--epochs") { Description = $"Training epochs per model (default {DefaultEpochs})." };
        var positives = new Option<string>("--positives") { Description = "Label regime(s): same_image (official) and/or relevance (oracle).", DefaultValueFactory = _ => "same_image" };
        var cmd = new Command("demo", "PCME, PCME++ and their mu-only twins on the synthetic set: what holds of the paper's claims, per seed, and an HTML report.")
            { device, seed, seeds, json, output, images, epochs, positives };
        cmd.SetAction(r =>
        {
            var list = r.GetValue(seeds) is { } s ? ParseSeeds(s) : [r.GetValue(seed)];
            return Run(r.GetValue(device)!, list, r.GetValue(json), r.GetValue(output)!.FullName, r.GetValue(images), r.GetValue(epochs), Console.Out,
                r.GetValue(positives)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        });
        return cmd;
    }

    static int[] ParseSeeds(string s) => [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new UserInputException($"--seeds '{x}' is not an integer (e.g. --seeds 0,1,2)."))];

    /// <summary>Runs the demo with one seed; returns the exit code.</summary>
    public static int Run(string deviceName, int seed, bool json, string outputDirectory, int images = DefaultImages, int? epochs = null, TextWriter? output = null) =>
        Run(deviceName, [seed], json, outputDirectory, images, epochs, output);

    /// <summary>Runs the demo over <paramref name="seeds"/>; returns the exit code.</summary>
    public static int Run(string deviceName, IReadOnlyList<int> seeds, bool json, string outputDirectory, int images = DefaultImages, int? epochs = null,
        TextWriter? output = null, IReadOnlyList<string>? positives = null)
    {
        output ??= Console.Out;
        var runtime = TorchRuntime.EnsureLoaded();
        var dev = EmbedCommand.Resolve(deviceName);
        if (images < 50) throw new UserInputException($"--images must be at least 50 (got {images}).");
        if (seeds.Count == 0) throw new UserInputException("--seeds is empty.");
        var config = TrainingConfig.Synthetic with { Train = TrainingConfig.Synthetic.Train with { Device = deviceName } };
        int e = epochs ?? DefaultEpochs;
        if (e < 1) throw new UserInputException($"--epochs must be at least 1 (got {e}).");
        config = config with { Train = config.Train with { PretrainEpochs = e, ValEpochs = Math.Max(1, e / 3) } };
        var options = new AblationOptions
        {
            Methods = Methods, Seeds = seeds, Positives = positives ?? ["same_image"], Config = config, OutputDirectory = outputDirectory,
            Data = s =>
            {
                var o = new SyntheticOptions { Seed = s, ImageCount = images };
                return new AblationData(new SyntheticDataset(o, SyntheticSplit.Train), new SyntheticDataset(o, SyntheticSplit.Validation), new SyntheticDataset(o, SyntheticSplit.Test));
            },
        };
        // The demo trains on this machine every time: its own earlier runs in the folder are replaced (as before), nothing else is touched.
        foreach (var (m, p, s) in Ablation.Plan(options))
            if (Directory.Exists(Ablation.RunFolder(outputDirectory, m, p, s))) Directory.Delete(Ablation.RunFolder(outputDirectory, m, p, s), true);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        AblationResult result = null!;
        if (json) result = Ablation.Run(options);
        else
        {
            console.MarkupLine($"[bold]Pcme.NET demo[/] — TorchSharp {Markup.Escape(BuildInfo.TorchSharpVersion)}, {Markup.Escape(dev.ToString())}, " +
                               $"{TorchSharp.torch.get_num_threads()} threads{(runtime.FixActive ? ", libstdc++ fix active" : "")}");
            console.MarkupLine($"Synthetic set: {images} rendered scenes per seed (seeds {string.Join(", ", seeds)}), captions at 5 levels of specificity; " +
                               $"training {string.Join(", ", Methods)} on identical batches for {config.Train.PretrainEpochs} epochs each ({string.Join(", ", options.Positives)} positives).");
            console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var plan = Ablation.Plan(options);
                    var task = ctx.AddTask("demo", maxValue: plan.Count * 1000.0);
                    result = Ablation.Run(options, new SynchronousProgress<AblationProgress>(p =>
                    {
                        double within = p.Training is { } t ? (t.Epoch * t.StepsPerEpoch + t.Step) / (double)Math.Max(1, t.Epochs * t.StepsPerEpoch) : 0;
                        task.Value = 1000.0 * (p.Index + within);
                        task.Description = Markup.Escape(FormattableString.Invariant($"run {p.Index + 1}/{p.Count} {p.Run}: {p.Stage}") +
                            (p.Training is { } x ? FormattableString.Invariant($" epoch {x.Epoch + 1}/{x.Epochs} loss {x.Loss:F4}") : ""));
                    }));
                });
        }
        string reportPath = AblationReport.Write(result, Path.Combine(outputDirectory, "report.html"));
        var claims = Ablation.Claims(result);
        if (json)
        {
            var doc = JsonNode.Parse(result.ToJson())!.AsObject();
            doc["report"] = reportPath;
            doc["claims"] = new JsonArray([.. claims.Select(c => (JsonNode)new JsonObject { ["claim"] = c.Claim, ["verdict"] = c.Verdict, ["evidence"] = c.Evidence })]);
            output.WriteLine(doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        }
        console.Write(AblationConsole.Summary(result));
        if (AblationConsole.Paired(result) is { } paired) console.Write(paired);
        console.Write(AblationConsole.Levels(result));
        console.Write(AblationConsole.Claims(claims));
        console.MarkupLine($"Report: [link]{Markup.Escape(reportPath)}[/]  ({result.Seconds:F0} s in all)");
        return ExitCodes.Ok;
    }

}
