using System.Diagnostics;
using System.Text.Json;
using Pcme.Losses;
using Pcme.Modules;
using Pcme.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Training;

/// <summary>One training batch: images (pixels [B, 3, H, W] or cached grids [B, C, h, w]), captions and positives.</summary>
/// <param name="Images">Pixels or grids, on the training device.</param>
/// <param name="Tokens">Token ids [B, L] (0 = padding).</param>
/// <param name="Lengths">True caption lengths [B].</param>
/// <param name="Match">[B, B] bool: image i and caption j are a positive pair.</param>
public sealed record PairBatch(Tensor Images, Tensor Tokens, Tensor Lengths, Tensor Match)
{
    /// <summary>Soft match targets [B, B] when the images were mixed (PCME++'s mixed samples), else null.</summary>
    public Tensor? Targets { get; init; }
}

/// <summary>What the trainer needs from a data set: batches that are a pure function of (seed, epoch, step).</summary>
public interface ITrainingData
{
    /// <summary>True when <see cref="PairBatch.Images"/> are cached backbone grids.</summary>
    bool ImagesAreGrids { get; }
    /// <summary>The caption-index batches of an epoch (deterministic in seed and epoch).</summary>
    IReadOnlyList<int[]> EpochBatches(int epoch, int batchSize, int seed);
    /// <summary>Loads one batch; any augmentation is seeded by (seed, epoch, step).</summary>
    PairBatch Load(int[] captions, int seed, int epoch, int step, Device device);
}

/// <summary>Live training state for progress bars and notebook callbacks.</summary>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, string Stage, double Loss, double LearningRate,
    double ItemsPerSecond, TimeSpan Eta);

/// <summary>A validation outcome: one number to select the best checkpoint with (higher is better) plus details.</summary>
public sealed record ValidationResult(double Metric, string DetailsJson);

/// <summary>How a run ended.</summary>
public sealed record TrainingResult(string OutputDirectory, int EpochsCompleted, double? BestMetric, int? BestEpoch,
    IReadOnlyList<EpochMetrics> History, string? StopReason);

/// <summary>Thrown when training diverges (a NaN/Inf loss or gradient, or a loss far past its recent scale, see <see cref="DivergenceGuard"/>); the last good checkpoint is kept.</summary>
public sealed class NonFiniteLossException(string message) : Exception(message);

/// <summary>Thrown when a run is cancelled (Ctrl-C); the run folder's last checkpoint holds <see cref="EpochsCompleted"/> epochs.</summary>
public sealed class TrainingInterruptedException(int epochsCompleted, string outputDirectory)
    : OperationCanceledException(epochsCompleted > 0
        ? $"interrupted after epoch {epochsCompleted}; continue with --resume (--out {outputDirectory})"
        : $"interrupted before the first epoch ended; nothing was saved in {outputDirectory}")
{
    /// <summary>Epochs the last checkpoint holds.</summary>
    public int EpochsCompleted { get; } = epochsCompleted;
}

/// <summary>
/// The trainer of every method (<see cref="Methods"/>; the objective is a <see cref="RetrievalObjective"/>): the config's optimizer (AdamP, the official one, AdamW, Adam or SGD), linear
/// warm-up + cosine (or reduce-on-plateau) schedule per stage, the official two-stage recipe (stage 1: heads with the backbone
/// frozen; stage 2: fine-tuning with lr x finetune_lr_decay), gradient clipping on model parameters,
/// validation every N epochs with best-checkpoint selection, metrics as JSON lines, and atomic
/// checkpoints after every epoch. Every random draw is a function of (seed, epoch, step), so a run
/// resumed from its last checkpoint ends with the same numbers as an uninterrupted one.
/// </summary>
public sealed class Trainer
{
    readonly PcmeModel model;
    readonly RetrievalObjective criterion;
    readonly TrainingConfig config;
    readonly Device device;
    readonly ArchitectureInfo architecture;
    readonly string? vocabularyJson;
    readonly ITrainingOptimizer optimizer;
    readonly Pcme.Data.MixedSampleAugmentation? mixer;

    /// <summary>
    /// Creates a trainer; model and criterion are moved to <paramref name="device"/>. The optimizer is the
    /// config's (<see cref="Optimizers.Create"/> over the model's and the criterion's parameters) unless given.
    /// </summary>
    public Trainer(PcmeModel model, RetrievalObjective criterion, TrainingConfig config, Device device, ArchitectureInfo architecture, string? vocabularyJson,
        ITrainingOptimizer? optimizer = null)
    {
        this.model = model; this.criterion = criterion; this.config = config; this.device = device;
        this.architecture = architecture; this.vocabularyJson = vocabularyJson;
        model.to(device); criterion.to(device);
        this.optimizer = optimizer ?? Optimizers.Create(config.Optimizer, model.parameters().Concat(criterion.parameters()));
        mixer = Methods.CreateMixer(config);
        if (mixer is not null && !criterion.AcceptsSoftTargets)
            throw new ConfigException($"augment.mixup / augment.cutmix make soft match targets, which {criterion.GetName()} cannot train on; set both to 0.");
    }

    /// <summary>Total epochs over both stages.</summary>
    public int TotalEpochs => config.Train.PretrainEpochs + config.Train.FinetuneEpochs;

    /// <summary>
    /// Trains into <paramref name="outputDirectory"/> (checkpoints/last, checkpoints/best, metrics.jsonl,
    /// config.json). With <paramref name="resume"/>, continues from checkpoints/last.
    /// <paramref name="stopAfterEpoch"/> ends the run early after that epoch (as an interruption would).
    /// <paramref name="frozenBackboneData"/>, when given, serves the epochs in which the image backbone is frozen
    /// (e.g. cached grids, <see cref="ITrainingData.ImagesAreGrids"/>); <paramref name="data"/> serves the others.
    /// </summary>
    public TrainingResult Fit(ITrainingData data, Func<PcmeModel, RetrievalObjective, ValidationResult>? validate, string outputDirectory,
        bool resume = false, IProgress<TrainingProgress>? progress = null, int? stopAfterEpoch = null, CancellationToken cancel = default,
        ITrainingData? frozenBackboneData = null)
    {
        // One writer per folder; a killed run's half-swapped checkpoint or temporary files are repaired first.
        using var run = RunFolder.Acquire(outputDirectory);
        string last = run.LastCheckpoint, best = run.BestCheckpoint, metricsPath = run.MetricsPath;
        if (resume && !Directory.Exists(last))
            throw new RunFolderException($"Nothing to resume in '{run.Directory}' (no checkpoints/last). Drop --resume to start a new run there.");
        // A fresh start in a used folder (notebooks, the demo) must not keep the old run's best.
        if (!resume && Directory.Exists(Path.GetDirectoryName(last))) Directory.Delete(Path.GetDirectoryName(last)!, recursive: true);
        AtomicFile.WriteAllText(Path.Combine(run.Directory, "config.json"), config.ToJson());
        var t = config.Train;
        if (t.Threads > 0) set_num_threads(t.Threads);

        int startEpoch = 0; long globalStep = 0; double? bestMetric = null; int? bestEpoch = null;
        var plateau = new PlateauState();
        var history = new List<EpochMetrics>();
        if (resume && Directory.Exists(last))
        {
            var state = Checkpoint.Load(last, model, criterion, optimizer, architecture);
            startEpoch = state.NextEpoch; globalStep = state.GlobalStep; bestMetric = state.BestMetric; bestEpoch = state.BestEpoch;
            plateau = state.Plateau ?? new PlateauState();
            history.AddRange(state.History);
        }
        // metrics.jsonl gets exactly the epochs the checkpoint has (none for a fresh run).
        WriteMetrics(metricsPath, history);
        var guard = new DivergenceGuard();

        string? stop = null;
        for (int epoch = startEpoch; epoch < TotalEpochs; epoch++)
        {
            bool finetune = epoch >= t.PretrainEpochs;
            string stage = finetune ? "finetune" : "pretrain";
            bool backboneTrains = finetune || config.Model.ImgFinetune;
            if (epoch == t.PretrainEpochs) plateau = new PlateauState();   // each stage starts its schedule afresh
            model.img_enc.SetBackboneTrainable(backboneTrains);
            model.txt_enc.SetWordVectorsTrainable(config.Model.TxtFinetune);
            var epochData = !backboneTrains && frozenBackboneData is not null ? frozenBackboneData : data;
            var batches = epochData.EpochBatches(epoch, config.Dataloader.BatchSize, t.Seed);
            int stageEpoch = finetune ? epoch - t.PretrainEpochs : epoch;
            int stageEpochs = finetune ? t.FinetuneEpochs : t.PretrainEpochs;
            double baseLr = config.Optimizer.LearningRate * (finetune ? t.FinetuneLrDecay : 1);
            var sched = config.LrScheduler;
            bool onPlateau = sched.Name == "reduce_lr_on_plateau";
            double minLr = baseLr * sched.MinLrRatio;
            // Warm-up, then cosine per step; on plateau the warm-up ends at the (possibly reduced) plateau rate.
            var schedule = new LearningRateSchedule(onPlateau ? plateau.Rate(baseLr, sched.Factor, minLr) : baseLr, onPlateau ? 0 : (long)stageEpochs * batches.Count,
                (long)Math.Round(sched.WarmupEpochs * batches.Count), onPlateau ? plateau.Rate(baseLr, sched.Factor, minLr) : minLr);

            model.train();
            if (!backboneTrains) model.img_enc.cnn.eval(); // a frozen backbone keeps its BN statistics
            // oneDNN's ResNet-50 convolution backward dies with SIGFPE on AVX-512 CPUs (Runtime.CpuConvolution).
            using var kernels = backboneTrains && !epochData.ImagesAreGrids && device.type == DeviceType.CPU
                && model.img_enc.cnn is ResNetGrid && CpuConvolution.AvoidOneDnnBackward ? CpuConvolution.UseNativeKernels() : null;
            var clock = Stopwatch.StartNew();
            double lossSum = 0, lr = baseLr; int items = 0;
            for (int step = 0; step < batches.Count; step++)
            {
                if (cancel.IsCancellationRequested) throw new TrainingInterruptedException(history.Count, run.Directory);
                lr = schedule.At((long)stageEpoch * batches.Count + step);
                optimizer.SetLearningRate(lr);
                var (loss, gradNorm) = TrainStep(epochData, batches[step], epoch, step, globalStep);
                if (guard.Check(loss, gradNorm) is { } why) throw Diverged(why, epoch, step, last);
                lossSum += loss; items += batches[step].Length; globalStep++;
                if (progress is not null && (step % Math.Max(1, t.LogStep) == 0 || step == batches.Count - 1))
                {
                    double rate = items / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                    long remaining = (long)(TotalEpochs - epoch - 1) * batches.Count + (batches.Count - step - 1);
                    double perStep = clock.Elapsed.TotalSeconds / (step + 1);
                    progress.Report(new TrainingProgress(epoch, TotalEpochs, step + 1, batches.Count, stage, lossSum / (step + 1), lr, rate, TimeSpan.FromSeconds(remaining * perStep)));
                }
            }

            kernels?.Dispose();   // validation only runs forward passes: oneDNN again
            double? metric = null; string? details = null; double? validationSeconds = null;
            bool lastOfStage = epoch == t.PretrainEpochs - 1 || epoch == TotalEpochs - 1;
            if (validate is not null && ((epoch + 1) % Math.Max(1, t.ValEpochs) == 0 || lastOfStage))
            {
                model.eval();
                var validationClock = Stopwatch.StartNew();
                using (no_grad()) { var v = validate(model, criterion); metric = v.Metric; details = v.DetailsJson; }
                validationSeconds = validationClock.Elapsed.TotalSeconds;
            }
            var logit = criterion.MatchLogit;
            var scalars = criterion.Scalars().Where(kv => kv.Key is not ("negative_scale" or "shift")).ToDictionary();
            var record = new EpochMetrics(epoch, stage, lossSum / Math.Max(1, batches.Count), lr, logit?.NegativeScale, logit?.Shift,
                clock.Elapsed.TotalSeconds, metric, details) { Scalars = scalars.Count > 0 ? scalars : null, ValidationSeconds = validationSeconds };
            // A step can blow the weights up without its own loss showing it: never checkpoint such a model.
            if ((Checkpoint.FirstNonFinite(model) ?? Checkpoint.FirstNonFinite(criterion)) is { } bad)
                throw Diverged($"parameter '{bad}' became NaN/Inf", epoch, batches.Count - 1, last);
            history.Add(record);
            // best is only ever replaced by a better (finite) validation score.
            bool improved = metric is { } m && double.IsFinite(m) && (bestMetric is null || m > bestMetric);
            if (improved) { bestMetric = metric; bestEpoch = epoch; }
            if (onPlateau && metric is { } vm) plateau = plateau.After(vm, sched.Patience);
            var stateNow = new CheckpointState(epoch + 1, globalStep, bestMetric, bestEpoch, config.ToJson(), vocabularyJson, architecture, history.ToList())
                { Plateau = onPlateau ? plateau : null };
            // best before last: last's state already names this epoch as best, so a kill between the two saves must
            // find best written (resuming from the previous last redoes the epoch and writes the same best again).
            if (improved || (validate is null && epoch == TotalEpochs - 1)) Checkpoint.Save(best, model, criterion, null, stateNow);
            Checkpoint.Save(last, model, criterion, optimizer, stateNow);
            // After the checkpoint: metrics.jsonl never records an epoch that no checkpoint holds.
            WriteMetrics(metricsPath, history);
            if (stopAfterEpoch is { } s && epoch >= s) { stop = $"stopped after epoch {epoch} as requested"; break; }
        }
        return new TrainingResult(outputDirectory, history.Count, bestMetric, bestEpoch, history, stop);
    }

    /// <summary>
    /// What every objective sees of one batch's encoder outputs: the embeddings, the positives, the sampling generator and,
    /// for K embeddings per item (PVSE), the K vectors and the mean heads' attention maps its diversity term acts on.
    /// </summary>
    public static ObjectiveInput Input(EncoderOutput image, EncoderOutput caption, Tensor match, Generator? sampling) =>
        new(image.Embedding, caption.Embedding, match)
        {
            Sampling = sampling, ImageSet = image.Set, CaptionSet = caption.Set,
            ImageAttention = image.Set is null ? null : image.MeanAttention, CaptionAttention = caption.Set is null ? null : caption.MeanAttention,
        };

    NonFiniteLossException Diverged(string why, int epoch, int step, string last) =>
        new($"Training diverged at epoch {epoch + 1}, step {step + 1}: {why}. Stopped; the last good checkpoint " +
            $"({(Directory.Exists(last) ? last : "none yet")}) is kept. Lower optimizer.learning_rate or train.grad_clip, or check the data.");

    (double Loss, double? GradientNorm) TrainStep(ITrainingData data, int[] captions, int epoch, int step, long globalStep)
    {
        using var scope = NewDisposeScope();
        int seed = config.Train.Seed;
        // Any dropout draws from the global generator: reseed it per step so resuming reproduces it.
        manual_seed(unchecked(seed * 1_000_003L + globalStep));
        var batch = data.Load(captions, seed, epoch, step, device);
        // PCME++'s mixed samples (its Sec. 3.4): pixels only; a cached grid is not an image to mix (Experiment refuses the pair).
        if (mixer is not null && !data.ImagesAreGrids)
        {
            var mixed = mixer.Apply(batch.Images, batch.Match, seed, epoch, step);
            batch = batch with { Images = mixed.Images, Targets = mixed.Targets };
        }
        var image = data.ImagesAreGrids ? model.EncodeGrids(batch.Images) : model.EncodeImages(batch.Images);
        var caption = model.EncodeCaptions(batch.Tokens, batch.Lengths);
        var sampling = new Generator(unchecked((ulong)(seed * 7_919L + globalStep * 104_729L + 17)), device);
        var objective = criterion.Objective(Input(image, caption, batch.Match, sampling) with { Targets = batch.Targets });
        double loss = objective.item<float>();
        if (!double.IsFinite(loss)) return (loss, null);
        optimizer.ZeroGrad();
        objective.backward();
        double? norm = null;
        if (config.Train.GradClip > 0)
        {
            norm = nn.utils.clip_grad_norm_(model.parameters().Where(p => p.requires_grad), config.Train.GradClip);
            if (!double.IsFinite(norm.Value)) return (loss, norm);   // a NaN gradient must not reach the weights
        }
        optimizer.Step();
        return (loss, norm);
    }

    static readonly JsonSerializerOptions MetricsJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The whole history, temp-then-rename: a crash leaves the previous complete file.</summary>
    static void WriteMetrics(string path, IEnumerable<EpochMetrics> history) =>
        AtomicFile.WriteAllLines(path, history.Select(h => JsonSerializer.Serialize(h, MetricsJson)));
}
