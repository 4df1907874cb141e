using System.CommandLine;
using System.Globalization;
using Pcme.Data;
using Pcme.Training;
using Spectre.Console;

namespace Pcme.Cli.Commands;

/// <summary><c>pcme train</c>: train PCME on any supported data set from a YAML config.</summary>
public static class TrainCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "YAML config (configs/cub.yaml, configs/coco.yaml, configs/synthetic.yaml). Default for --dataset synthetic: the synthetic config." };
        var set = new Option<string[]>("--set") { Description = "Override a config key: section.key=value (repeatable), e.g. --set train.seed=3.", AllowMultipleArgumentsPerToken = false };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder: checkpoints/last, checkpoints/best, metrics.jsonl, config.json.", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUT/checkpoints/last." };
        var glove = new Option<FileInfo?>("--glove") { Description = "GloVe text file (glove.840B.300d.txt layout) for model.wemb_type=glove." };
        var data = new DatasetArguments();
        var cmd = new Command("train", "Train PCME (two stages: frozen backbone, then fine-tuning) with validation and checkpoints.") { config, set, output, resume, glove };
        data.AddTo(cmd);
        cmd.SetAction(r => Run(r, data, r.GetValue(config), r.GetValue(set) ?? [], r.GetValue(output)!.FullName, r.GetValue(resume), r.GetValue(glove)));
        return cmd;
    }

    static int Run(ParseResult r, DatasetArguments data, FileInfo? configFile, string[] overrides, string output, bool resume, FileInfo? glove)
    {
        RunFolder.CheckOwnership(output, resume);   // before any work: a used folder is never silently replaced
        bool synthetic = DatasetArguments.IsSynthetic(r, data);
        if (configFile is null && !synthetic) throw new UserInputException("--config FILE is required for real data sets (see configs/cub.yaml and configs/coco.yaml).");
        if (configFile is { Exists: false }) throw new UserInputException($"Config file '{configFile.FullName}' does not exist.");
        var config = configFile is null ? TrainingConfig.FromJson(TrainingConfig.Synthetic.ToJson()) : TrainingConfig.Load(configFile.FullName);
        if (overrides.Length > 0) config = TrainingConfig.Load(null, ToOverrides(config).Concat(overrides));
        EmbedCommand.Resolve(config.Train.Device);

        var train = data.Load(r, DatasetRole.Train)!;
        var val = data.Load(r, DatasetRole.Validation);
        var vocabulary = Vocabulary.Build(train.Captions.Select(c => c.Text));
        TorchSharp.torch.Tensor? words = config.Model.WembType switch
        {
            "glove" => glove is null
                ? throw new UserInputException("model.wemb_type is glove: pass --glove FILE (glove.840B.300d.txt), or --set model.wemb_type=none to learn word vectors.")
                : LoadGlove(glove, vocabulary, config.Model.WordDim),
            "synthetic" => SyntheticWordVectors.ForVocabulary(vocabulary, config.Model.WordDim, config.Train.Seed).Weights,
            "none" => null,
            var w => throw new UserInputException($"model.wemb_type must be glove, synthetic or none (got '{w}')."),
        };
        var sampling = r.GetValue(data.Kind) == "cub" ? BatchSampling.OnePerClass : BatchSampling.RandomPairs;
        Console.WriteLine($"pcme train: {train.Name}, {train.Images.Count} images, {train.Captions.Count} captions, vocabulary {vocabulary.Count}" +
                          (train.Skipped.Count > 0 ? $", {train.Skipped.Count} items skipped while loading" : "") +
                          (val is null ? ", no validation split" : $", validating on {val.Name}"));
        TrainedModel model = null!;
        // Ctrl-C ends the run at the next step with one line and exit 130; a second Ctrl-C kills at once.
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { if (!interrupt.IsCancellationRequested) { e.Cancel = true; interrupt.Cancel(); } };
        Console.CancelKeyPress += onCancel;
        try
        {
        AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask? task = null;
                model = Experiment.Train(config, train, vocabulary, words, output, val is null ? null : m => SyntheticStudy.Validate(m, val, synthetic),
                    new SynchronousProgress<TrainingProgress>(p =>
                    {
                        task ??= ctx.AddTask("train", maxValue: p.Epochs * p.StepsPerEpoch);
                        task.Value = p.Epoch * p.StepsPerEpoch + p.Step;
                        task.Description = string.Create(CultureInfo.InvariantCulture,
                            $"{p.Stage} epoch {p.Epoch + 1}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F4} lr {p.LearningRate:E1} {p.ItemsPerSecond:F0} pairs/s ETA {p.Eta:hh\\:mm\\:ss}");
                    }), resume, sampling, synthetic, cancel: interrupt.Token);
            });
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            AnsiConsole.Cursor.Show();   // the progress display hides it
        }
        foreach (var s in train.Skipped.Take(10)) Console.WriteLine($"skipped: {s.Source}: {s.Reason}");
        if (train.Skipped.Count > 10) Console.WriteLine($"... and {train.Skipped.Count - 10} more skipped items");
        var res = model.Result;
        Console.WriteLine($"done: {res.EpochsCompleted} epochs; " +
                          (res.BestMetric is { } b ? $"best validation R-Precision {b:F2} at epoch {res.BestEpoch + 1}; " : "") +
                          $"checkpoints in {Path.Combine(output, "checkpoints")}, metrics in {Path.Combine(output, "metrics.jsonl")}");
        return ExitCodes.Ok;
    }

    static TorchSharp.torch.Tensor LoadGlove(FileInfo glove, Vocabulary vocabulary, int dim)
    {
        if (!glove.Exists) throw new UserInputException($"GloVe file '{glove.FullName}' does not exist.");
        var vectors = GloVe.Load(glove.FullName, vocabulary, new WordVectorOptions { Dimension = dim });
        var rep = vectors.Report;
        Console.WriteLine($"GloVe: {rep.Hits + rep.NormalisedHits}/{rep.Words} vocabulary words found ({rep.HitRate:P1} exact), {rep.Misses} missing");
        return vectors.Weights;
    }

    /// <summary>A config as overrides, so --set applies on top of a file's values.</summary>
    static IEnumerable<string> ToOverrides(TrainingConfig c)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(c.ToJson())!.AsObject();
        foreach (var (section, node) in root)
            foreach (var (key, value) in node!.AsObject())
                if (value is not null) yield return $"{section}.{key}={value.ToJsonString().Trim('"')}";
    }
}
