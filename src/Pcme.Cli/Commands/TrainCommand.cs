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
        var relevance = new Option<FileInfo?>("--relevance") { Description = "JSON relevance file for the training split (caption id -> relevant image ids, the format pcme eval reads); with dataloader.positives=relevance its pairs are the positives." };
        var valRelevance = new Option<FileInfo?>("--val-relevance") { Description = "JSON relevance file for the validation split (used by validation)." };
        var data = new DatasetArguments();
        var cmd = new Command("train", "Train PCME (two stages: frozen backbone, then fine-tuning) with validation and checkpoints.") { config, set, output, resume, glove, relevance, valRelevance };
        data.AddTo(cmd);
        cmd.SetAction(r => Run(r, data, r.GetValue(config), r.GetValue(set) ?? [], r.GetValue(output)!.FullName, r.GetValue(resume), r.GetValue(glove),
            r.GetValue(relevance), r.GetValue(valRelevance)));
        return cmd;
    }

    static int Run(ParseResult r, DatasetArguments data, FileInfo? configFile, string[] overrides, string output, bool resume, FileInfo? glove,
        FileInfo? relevance, FileInfo? valRelevance)
    {
        RunFolder.CheckOwnership(output, resume);   // before any work: a used folder is never silently replaced
        bool synthetic = DatasetArguments.IsSynthetic(r, data);
        if (configFile is null && !synthetic) throw new UserInputException("--config FILE is required for real data sets (see configs/cub.yaml and configs/coco.yaml).");
        if (configFile is { Exists: false }) throw new UserInputException($"Config file '{configFile.FullName}' does not exist.");
        var config = configFile is null ? TrainingConfig.FromJson(TrainingConfig.Synthetic.ToJson()) : TrainingConfig.Load(configFile.FullName);
        if (overrides.Length > 0) config = Methods.WithOverrides(config, overrides);
        EmbedCommand.Resolve(config.Train.Device);

        var train = WithRelevance(data.Load(r, DatasetRole.Train)!, relevance, "--relevance");
        var val = data.Load(r, DatasetRole.Validation);
        if (valRelevance is not null)
            val = WithRelevance(val ?? throw new UserInputException("--val-relevance needs a validation split (--val-captions, --val-split-file, or karpathy/synthetic data)."), valRelevance, "--val-relevance");
        if (glove is { Exists: false }) throw new UserInputException($"GloVe file '{glove.FullName}' does not exist.");
        var experiment = Experiment.Create(config, new ExperimentData(train, val) { GloVePath = glove?.FullName },
            new SynchronousProgress<string>(m => Console.WriteLine($"pcme train: {m}")));
        if (experiment.WordVectorReport is { } rep)
            Console.WriteLine($"GloVe: {rep.Hits + rep.NormalisedHits}/{rep.Words} vocabulary words found ({rep.HitRate:P1} exact), {rep.Misses} missing");
        Console.WriteLine($"pcme train: {train.Name}, {train.Images.Count} images, {train.Captions.Count} captions, vocabulary {experiment.Vocabulary.Count}" +
                          (train.Skipped.Count > 0 ? $", {train.Skipped.Count} items skipped while loading" : "") +
                          (val is null ? ", no validation split" : $", validating on {val.Name} with {Methods.ValidationScorer(config)}") +
                          $"; {config.Optimizer.Name}, {config.LrScheduler.Name}, {config.Criterion.Name}");
        foreach (var note in experiment.Notes) Console.WriteLine($"note: {note}");
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
                model = experiment.Train(output, new SynchronousProgress<TrainingProgress>(p =>
                    {
                        task ??= ctx.AddTask("train", maxValue: p.Epochs * p.StepsPerEpoch);
                        task.Value = p.Epoch * p.StepsPerEpoch + p.Step;
                        task.Description = string.Create(CultureInfo.InvariantCulture,
                            $"{p.Stage} epoch {p.Epoch + 1}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F4} lr {p.LearningRate:E1} {p.ItemsPerSecond:F0} pairs/s ETA {p.Eta:hh\\:mm\\:ss}");
                    }), resume, cancel: interrupt.Token);
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

    static Pcme.Data.ICrossModalDataset WithRelevance(Pcme.Data.ICrossModalDataset ds, FileInfo? file, string option)
    {
        if (file is null) return ds;
        if (!file.Exists) throw new UserInputException($"Relevance file '{file.FullName}' ({option}) does not exist.");
        return ds.WithRelevanceFile(file.FullName);
    }
}
