using System.Text.Json;
using Pcme.Losses;
using Pcme.Modules;
using Pcme.Runtime;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Pcme.Training;

/// <summary>What a checkpoint's model is, so a checkpoint is never loaded into another architecture.</summary>
/// <param name="CnnType">Backbone kind.</param>
/// <param name="EmbedDim">D.</param>
/// <param name="WordDim">Word vector width.</param>
/// <param name="VocabularySize">Rows of the word embedding.</param>
/// <param name="Probabilistic">Whether the model has log-variance heads.</param>
public sealed record ArchitectureInfo(string CnnType, int EmbedDim, int WordDim, int VocabularySize, bool Probabilistic)
{
    /// <summary>The training method (criterion.name) the model was built for; checkpoints from before methods existed are pcme.</summary>
    public string Method { get; init; } = "pcme";
    /// <summary>Embeddings per item (PVSE's K; 1 otherwise).</summary>
    public int EmbeddingsPerItem { get; init; } = 1;

    /// <summary>Builds an untrained model of this architecture.</summary>
    public PcmeModel CreateModel(bool finetuneBackbone = false, bool finetuneWords = false) =>
        new(new ImageEncoder(GridBackbone.Create(CnnType), EmbedDim, Probabilistic, finetuneBackbone, EmbeddingsPerItem),
            new CaptionEncoder(VocabularySize, WordDim, EmbedDim, Probabilistic, finetuneWords, EmbeddingsPerItem));
}

/// <summary>One epoch's record in metrics.jsonl and in the checkpoint's history.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Stage">pretrain (frozen backbone) or finetune.</param>
/// <param name="Loss">Mean training loss.</param>
/// <param name="LearningRate">Learning rate at the epoch's last step.</param>
/// <param name="NegativeScale">a after the epoch (null for a method without a match logit).</param>
/// <param name="Shift">b after the epoch (null for a method without a match logit).</param>
/// <param name="Seconds">Wall time of the epoch.</param>
/// <param name="Validation">Validation metric (higher is better) when validated this epoch.</param>
/// <param name="ValidationDetails">Everything the validation reported, as JSON.</param>
public sealed record EpochMetrics(int Epoch, string Stage, double Loss, double LearningRate, double? NegativeScale, double? Shift, double Seconds,
    double? Validation = null, string? ValidationDetails = null)
{
    /// <summary>The objective's other learned scalars after the epoch (InfoNCE: logit_scale), or null.</summary>
    public IReadOnlyDictionary<string, double>? Scalars { get; init; }
    /// <summary>Seconds of <see cref="Seconds"/> spent validating (null when not validated or from older runs).</summary>
    public double? ValidationSeconds { get; init; }
}

/// <summary>The non-tensor part of a checkpoint (state.json).</summary>
public sealed record CheckpointState(int NextEpoch, long GlobalStep, double? BestMetric, int? BestEpoch, string ConfigJson,
    string? VocabularyJson, ArchitectureInfo Architecture, IReadOnlyList<EpochMetrics> History, int Version = 1)
{
    /// <summary>The reduce-on-plateau schedule's state (null for other schedules).</summary>
    public PlateauState? Plateau { get; init; }
}

/// <summary>
/// A checkpoint folder: model and loss parameters (safetensors, readable from PyTorch), optimizer
/// state (TorchSharp format), and state.json (epoch, step, best metric, config, vocabulary,
/// architecture, history). Written to a temporary folder and swapped in by rename, so a crash
/// never leaves a half-written checkpoint in place of the last good one.
/// </summary>
public static class Checkpoint
{
    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Writes the checkpoint to <paramref name="directory"/> atomically.</summary>
    public static void Save(string directory, PcmeModel model, RetrievalObjective criterion, ITrainingOptimizer? optimizer, CheckpointState state)
    {
        string full = Path.GetFullPath(directory);
        string parent = Path.GetDirectoryName(full)!;
        AtomicFile.CreateFolder(parent, "the checkpoints folder");
        string tmp = full + $".tmp-{Environment.ProcessId}";
        try
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            Directory.CreateDirectory(tmp);
            model.save_safetensors(Path.Combine(tmp, "model.safetensors"));
            criterion.save_safetensors(Path.Combine(tmp, "criterion.safetensors"));
            optimizer?.Save(Path.Combine(tmp, optimizer.StateFileName));
            File.WriteAllText(Path.Combine(tmp, "state.json"), JsonSerializer.Serialize(state, Json));   // last: a tmp with state.json is complete
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk must not leave a half-written folder that every later --resume trips over.
            try { if (Directory.Exists(tmp)) Directory.Delete(tmp, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new FileSystemException($"Cannot write checkpoint '{full}': {AtomicFile.Describe(e)} The previous checkpoint is kept; continue with --resume once there is room.", e);
        }
        // Two renames; a crash between them leaves only NAME.old-PID, which RunFolder.Acquire restores.
        string old = full + $".old-{Environment.ProcessId}";
        if (Directory.Exists(full)) Directory.Move(full, old);
        Directory.Move(tmp, full);
        if (Directory.Exists(old)) Directory.Delete(old, true);
    }

    /// <summary>Reads state.json; a clear error when the folder is not a checkpoint.</summary>
    public static CheckpointState ReadState(string directory)
    {
        string path = Path.Combine(directory, "state.json");
        if (!File.Exists(path))
            throw new ConfigException($"'{directory}' is not a checkpoint (no state.json). Pass a folder written by pcme train, e.g. RUN/checkpoints/best.");
        try { return JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path), Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new ConfigException($"Checkpoint state '{path}' is malformed: {e.Message}"); }
    }

    /// <summary>
    /// Loads weights (and optimizer state when given) into objects built for <paramref name="expected"/>;
    /// a checkpoint of another architecture is a clear error, never a deep TorchSharp failure.
    /// </summary>
    public static CheckpointState Load(string directory, PcmeModel model, RetrievalObjective criterion, ITrainingOptimizer? optimizer, ArchitectureInfo expected)
    {
        var state = ReadState(directory);
        if (state.Architecture != expected)
            throw new ConfigException($"Checkpoint '{directory}' holds a {Describe(state.Architecture)} model, but this run builds a {Describe(expected)} model. " +
                                      "Use the same config/vocabulary as the checkpoint, or start a new run folder.");
        WeightLoader.Load(model, Path.Combine(directory, "model.safetensors"), strict: true);
        WeightLoader.Load(criterion, Path.Combine(directory, "criterion.safetensors"), strict: true);
        RequireFinite(directory, "model.safetensors", model);
        RequireFinite(directory, "criterion.safetensors", criterion);
        if (optimizer is not null && File.Exists(Path.Combine(directory, optimizer.StateFileName)))
            optimizer.Load(Path.Combine(directory, optimizer.StateFileName));
        return state;
    }

    /// <summary>
    /// A checkpoint whose weights hold NaN or Inf is damaged (a corrupted or truncated file, or a diverged
    /// run from before the divergence guard): say so here, instead of letting a scorer fail on NaN scores later.
    /// </summary>
    static void RequireFinite(string directory, string file, nn.Module module)
    {
        if (FirstNonFinite(module) is { } name)
            throw new ConfigException($"Checkpoint '{directory}' is damaged: {file} holds NaN/Inf values in '{name}' (a corrupted or truncated file). " +
                                      "Use another checkpoint (checkpoints/last or best of the run) or retrain.");
    }

    /// <summary>The first parameter of <paramref name="module"/> that holds NaN or Inf, or null when all are finite.</summary>
    internal static string? FirstNonFinite(nn.Module module)
    {
        using var scope = NewDisposeScope();
        foreach (var (name, p) in module.named_parameters())
            if (!isfinite(p).all().item<bool>()) return name;
        return null;
    }

    static string Describe(ArchitectureInfo a) =>
        $"{a.Method} {a.CnnType}/D={a.EmbedDim}{(a.EmbeddingsPerItem > 1 ? $"x{a.EmbeddingsPerItem}" : "")}/words={a.WordDim}x{a.VocabularySize}/{(a.Probabilistic ? "probabilistic" : "mu-only")}";
}
