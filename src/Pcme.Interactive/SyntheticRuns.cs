using System.Text.Json;
using Pcme.Data;
using Pcme.Runtime;
using Pcme.Training;

namespace Pcme.Interactive;

/// <summary>A trained synthetic-set model with the data options it was trained on (the test split must come from the same options).</summary>
/// <param name="Model">The model, ready to embed.</param>
/// <param name="Data">The synthetic set's options (seed, image count, ...).</param>
/// <param name="Directory">The run folder it was trained into.</param>
/// <param name="Reused">True when it was loaded from an earlier run rather than trained now.</param>
public sealed record SyntheticRun(TrainedModel Model, SyntheticOptions Data, string Directory, bool Reused);

/// <summary>
/// Lets later notebooks reuse the model notebook 2 trained, and still work on their own: a run folder
/// holds the checkpoints plus <c>synthetic-data.json</c>, the options of the synthetic set it was trained
/// on, so a reader of the model evaluates it on the right test split.
/// </summary>
public static class SyntheticRuns
{
    /// <summary>The run notebook 2 (02-training-pcme) trains into, under the runs root.</summary>
    public const string TrainingNotebookRun = "02-training-pcme";

    /// <summary>File name of the data options inside a run folder.</summary>
    public const string DataFile = "synthetic-data.json";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes <paramref name="data"/> into <paramref name="runDirectory"/>.</summary>
    public static void SaveData(string runDirectory, SyntheticOptions data)
    {
        Directory.CreateDirectory(runDirectory);
        Pcme.Runtime.AtomicFile.WriteAllText(Path.Combine(runDirectory, DataFile), JsonSerializer.Serialize(data, Json));
    }

    /// <summary>The data options saved in <paramref name="runDirectory"/>, or null when there are none.</summary>
    public static SyntheticOptions? ReadData(string runDirectory)
    {
        string path = Path.Combine(runDirectory, DataFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<SyntheticOptions>(File.ReadAllText(path), Json) : null;
    }

    /// <summary>
    /// Trains PCME on the synthetic set of <paramref name="data"/> into <paramref name="runDirectory"/> exactly as
    /// notebook 2 does (through <see cref="Experiment.Create"/>: train split, best checkpoint chosen on the validation
    /// split, the config's word vectors) and saves the data options beside it.
    /// </summary>
    public static SyntheticRun Train(SyntheticOptions data, TrainingConfig config, string runDirectory, IProgress<TrainingProgress>? progress = null)
    {
        var train = new SyntheticDataset(data, SyntheticSplit.Train);
        var val = new SyntheticDataset(data, SyntheticSplit.Validation);
        var model = Experiment.Create(config, new ExperimentData(train, val)).Train(runDirectory, progress);
        SaveData(runDirectory, data);
        return new SyntheticRun(model, data, runDirectory, Reused: false);
    }

    /// <summary>
    /// The best checkpoint of notebook 2's run under <paramref name="runsRoot"/> when it exists with its data
    /// options (loaded onto <paramref name="config"/>'s device); otherwise a fresh model trained with
    /// <see cref="Train"/> on <paramref name="data"/> into <paramref name="runsRoot"/>/<paramref name="runName"/>.
    /// </summary>
    public static SyntheticRun ReuseOrTrain(string runsRoot, string runName, SyntheticOptions data, TrainingConfig config, IProgress<TrainingProgress>? progress = null)
    {
        string earlier = Path.Combine(runsRoot, TrainingNotebookRun);
        string best = Path.Combine(earlier, "checkpoints", "best");
        if (ReadData(earlier) is { } saved && File.Exists(Path.Combine(best, "state.json")))
            return new SyntheticRun(Experiment.Load(best, DeviceResolver.Resolve(config.Train.Device)), saved, earlier, Reused: true);
        return Train(data, config, Path.Combine(runsRoot, runName), progress);
    }
}
