using System.CommandLine;
using System.Globalization;
using Pcme.Data;
using Pcme.Plots;
using Pcme.Training;
using Spectre.Console;

namespace Pcme.Cli.Commands;

/// <summary>
/// <c>pcme ablate</c>: every (method, label regime, seed) trained on identical batches and evaluated alike; results.json,
/// a table (mean ± sd over seeds, paired differences against each probabilistic method's mu-only twin) and an offline
/// HTML report. A killed ablation resumes at its first unfinished run.
/// </summary>
public static class AblateCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var methods = new Option<string>("--methods") { Description = $"Comma-separated criterion names ({string.Join(", ", Methods.Names)}).", DefaultValueFactory = _ => "pcme,soft-contrastive,pcme++,pcme++-mu" };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds (train.seed; the synthetic set of seed S is drawn with --data-seed + S).", DefaultValueFactory = _ => "0" };
        var positives = new Option<string>("--positives") { Description = "Label regimes: same_image (own image only, batches of distinct images) and/or relevance (oracle labels).", DefaultValueFactory = _ => "same_image" };
        var config = new Option<FileInfo?>("--config") { Description = "Base YAML config (default for --dataset synthetic: the synthetic config). Each method replaces its criterion section." };
        var set = new Option<string[]>("--set") { Description = "Override a base config key: section.key=value (repeatable)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Study folder: METHOD/POSITIVES/seed-S run folders, results.json, report.html.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print results.json (no table, no progress bar)." };
        var glove = new Option<FileInfo?>("--glove") { Description = "GloVe text file for model.wemb_type=glove." };
        var data = new DatasetArguments();
        var cmd = new Command("ablate", "Train and compare methods (and label regimes) over seeds on identical batches: table, paired differences, sigma diagnostics, HTML report.")
            { methods, seeds, positives, config, set, output, json, glove };
        data.AddTo(cmd);
        cmd.SetAction(r => Run(r, data, r.GetValue(methods)!, r.GetValue(seeds)!, r.GetValue(positives)!, r.GetValue(config), r.GetValue(set) ?? [],
            r.GetValue(output)!.FullName, r.GetValue(json), r.GetValue(glove), Console.Out));
        return cmd;
    }

    static int Run(ParseResult r, DatasetArguments data, string methods, string seeds, string positives, FileInfo? configFile, string[] overrides,
        string output, bool json, FileInfo? glove, TextWriter stdout)
    {
        bool synthetic = DatasetArguments.IsSynthetic(r, data);
        if (configFile is null && !synthetic) throw new UserInputException("--config FILE is required for real data sets (see configs/cub.yaml and configs/coco.yaml).");
        if (configFile is { Exists: false }) throw new UserInputException($"Config file '{configFile.FullName}' does not exist.");
        var baseConfig = configFile is null ? TrainingConfig.FromJson(TrainingConfig.Synthetic.ToJson()) : TrainingConfig.Load(configFile.FullName);
        if (overrides.Length > 0) baseConfig = Methods.WithOverrides(baseConfig, overrides);
        EmbedCommand.Resolve(baseConfig.Train.Device);
        if (glove is { Exists: false }) throw new UserInputException($"GloVe file '{glove.FullName}' does not exist.");
        var seedList = List(seeds, "--seeds").Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
            : throw new UserInputException($"--seeds '{s}' is not an integer (give e.g. --seeds 0,1,2).")).ToArray();

        Func<int, AblationData> load;
        if (synthetic)
        {
            int images = r.GetValue(data.SyntheticImages), dataSeed = r.GetValue(data.DataSeed);
            if (images < 50) throw new UserInputException($"--synthetic-images must be at least 50 (got {images}).");
            load = s =>
            {
                var o = new SyntheticOptions { Seed = dataSeed + s, ImageCount = images };
                return new AblationData(new SyntheticDataset(o, SyntheticSplit.Train), new SyntheticDataset(o, SyntheticSplit.Validation), new SyntheticDataset(o, SyntheticSplit.Test));
            };
        }
        else
        {
            var train = data.Load(r, DatasetRole.Train)!;
            var val = data.Load(r, DatasetRole.Validation);
            var test = data.Load(r, DatasetRole.Test)!;
            var fixedData = new AblationData(train, val, test) { GloVePath = glove?.FullName };
            load = _ => fixedData;
        }
        var options = new AblationOptions
        {
            Methods = List(methods, "--methods"), Seeds = seedList, Positives = List(positives, "--positives"), Config = baseConfig,
            Data = load, OutputDirectory = output,
        };
        Ablation.Validate(options);
        var plan = Ablation.Plan(options);

        AblationResult result = null!;
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { if (!interrupt.IsCancellationRequested) { e.Cancel = true; interrupt.Cancel(); } };
        Console.CancelKeyPress += onCancel;
        try
        {
            if (json) result = Ablation.Run(options, cancel: interrupt.Token);
            else
            {
                AnsiConsole.MarkupLine($"[bold]pcme ablate[/]: {plan.Count} runs ({options.Methods.Count} methods x {options.Positives.Count} regimes x {seedList.Length} seeds) into {Markup.Escape(output)}");
                AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("ablate", maxValue: plan.Count * 1000.0);
                        result = Ablation.Run(options, new SynchronousProgress<AblationProgress>(p =>
                        {
                            double within = p.Training is { } t ? (t.Epoch * t.StepsPerEpoch + t.Step) / (double)Math.Max(1, t.Epochs * t.StepsPerEpoch) : p.Stage == "done before" ? 1 : 0;
                            task.Value = 1000.0 * (p.Index + within);
                            task.Description = Markup.Escape(FormattableString.Invariant($"run {p.Index + 1}/{p.Count} {p.Run}: {p.Stage}") +
                                (p.Training is { } x ? FormattableString.Invariant($" epoch {x.Epoch + 1}/{x.Epochs} loss {x.Loss:F4}") : ""));
                        }), interrupt.Token);
                    });
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            if (!json) AnsiConsole.Cursor.Show();
        }
        string report = AblationReport.Write(result, Path.Combine(output, "report.html"));
        if (json) { stdout.WriteLine(result.ToJson()); return ExitCodes.Ok; }
        AnsiConsole.Write(AblationConsole.Summary(result));
        if (AblationConsole.Paired(result) is { } paired) AnsiConsole.Write(paired);
        AnsiConsole.Write(AblationConsole.Levels(result));
        AnsiConsole.MarkupLine($"results: [link]{Markup.Escape(Path.Combine(output, "results.json"))}[/]; report: [link]{Markup.Escape(report)}[/] ({result.Seconds:F0} s)");
        return ExitCodes.Ok;
    }

    static string[] List(string value, string option)
    {
        var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return items.Length > 0 ? items : throw new UserInputException($"{option} is empty.");
    }
}
