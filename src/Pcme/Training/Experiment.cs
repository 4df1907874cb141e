using Pcme.Data;
using Pcme.Losses;
using Pcme.Modules;
using Pcme.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Training;

/// <summary>A trained model with everything needed to use it.</summary>
public sealed record TrainedModel(PcmeModel Model, SoftContrastiveLoss Criterion, Vocabulary Vocabulary, ArchitectureInfo Architecture,
    TrainingConfig Config, TrainingResult Result, Device Device);

/// <summary>Wires a config, a data set and a vocabulary into a trained model (the `pcme train` path, reused by the demo and notebooks).</summary>
public static class Experiment
{
    /// <summary>The architecture a config and vocabulary describe.</summary>
    public static ArchitectureInfo Architecture(TrainingConfig config, Vocabulary vocabulary) =>
        new(config.Model.CnnType, config.Model.EmbedDim, config.Model.WordDim, vocabulary.Count, config.Model.Probabilistic);

    /// <summary>The training image pipeline of a config (random resized crop + flip + erasing for ResNets; flip-free identity for the synthetic set).</summary>
    public static ImagePipeline TrainPipeline(TrainingConfig config, bool synthetic) => synthetic
        ? new ImagePipeline(new Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]))
        : ImagePipeline.Train(config.Dataloader.CropSize, config.Dataloader.RandomErasingProb);

    /// <summary>The evaluation image pipeline matching <see cref="TrainPipeline"/>.</summary>
    public static ImagePipeline EvalPipeline(TrainingConfig config, bool synthetic) => synthetic
        ? new ImagePipeline(new Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]))
        : ImagePipeline.Eval(config.Dataloader.CropSize * 256 / 224, config.Dataloader.CropSize);

    /// <summary>
    /// Builds the model (word vectors from <paramref name="wordVectors"/> when given), trains it on
    /// <paramref name="train"/> into <paramref name="outputDirectory"/>, and returns it with the best
    /// checkpoint's weights loaded when validation ran.
    /// </summary>
    public static TrainedModel Train(TrainingConfig config, ICrossModalDataset train, Vocabulary vocabulary, Tensor? wordVectors,
        string outputDirectory, Func<TrainedModel, ValidationResult>? validate = null, IProgress<TrainingProgress>? progress = null,
        bool resume = false, BatchSampling sampling = BatchSampling.RandomPairs,
        bool syntheticImages = false, int? stopAfterEpoch = null, CancellationToken cancel = default)
    {
        RequireWeightsForAFrozenBackbone(config);
        var device = DeviceResolver.Resolve(config.Train.Device);
        manual_seed(config.Train.Seed);
        var arch = Architecture(config, vocabulary);
        var model = arch.CreateModel(config.Model.ImgFinetune, config.Model.TxtFinetune);
        if (wordVectors is not null) model.txt_enc.LoadWordVectors(wordVectors);
        if (config.Model.InitLogVariance is { } h0) model.InitializeLogVariance(h0);
        if (config.Model.PretrainedResnetModelPath is { Length: > 0 } weights)
            WeightLoader.Load(model.img_enc.cnn, weights);
        var criterion = TrainingSetup.CreateCriterion(config);
        var augmentation = config.Dataloader.CaptionDropProb > 0
            ? new CaptionAugmentation(CaptionAugmentationOptions.Official(config.Dataloader.CaptionDropProb), config.Train.Seed) : null;
        var positives = config.Dataloader.Positives switch
        {
            "same_image" => PositivePairs.SameImage,
            "relevance" => PositivePairs.Relevance,
            var p => throw new ConfigException($"dataloader.positives must be same_image or relevance, not '{p}'."),
        };
        var data = new DatasetTrainingData(train, vocabulary, TrainPipeline(config, syntheticImages), augmentation, positives, sampling);
        var trainer = new Trainer(model, criterion, config, device, arch, vocabulary.ToJson());
        TrainedModel Snapshot(TrainingResult r) => new(model, criterion, vocabulary, arch, config, r, device);
        var result = trainer.Fit(data, validate is null ? null : (m, c) => validate(Snapshot(new TrainingResult(outputDirectory, 0, null, null, [], null))),
            outputDirectory, resume, progress, stopAfterEpoch, cancel);
        string best = Path.Combine(outputDirectory, "checkpoints", "best");
        if (result.BestEpoch is not null && Directory.Exists(best)) Checkpoint.Load(best, model, criterion, null, arch);
        model.eval();
        return Snapshot(result);
    }

    /// <summary>
    /// A torchvision ResNet kept frozen (model.img_finetune = false) for the first stage needs pretrained
    /// weights: frozen random weights give features that carry nothing, and in eval mode their batch norms do
    /// not normalise, so a random ResNet-50 grid reaches |x| ~ 200 and h = log sigma^2 ~ +-200, which
    /// overflows exp (measured; the run stops with a NaN loss at its first step).
    /// </summary>
    static void RequireWeightsForAFrozenBackbone(TrainingConfig config)
    {
        var m = config.Model;
        if (!ResNetGrid.Kinds.Contains(m.CnnType) || m.ImgFinetune || config.Train.PretrainEpochs == 0 || m.PretrainedResnetModelPath is { Length: > 0 })
            return;
        throw new ConfigException($"model.cnn_type={m.CnnType} stays frozen for train.pretrain_epochs={config.Train.PretrainEpochs} (model.img_finetune=false) " +
            $"but has no weights: set model.pretrained_resnet_model_path to torchvision's {m.CnnType} .pth or a .safetensors file, " +
            "or train it from scratch with model.img_finetune=true.");
    }

    /// <summary>Loads a checkpoint folder written by a run into a ready-to-use model on <paramref name="device"/>.</summary>
    public static TrainedModel Load(string checkpoint, Device device)
    {
        var state = Checkpoint.ReadState(checkpoint);
        var config = TrainingConfig.FromJson(state.ConfigJson, checkpoint);
        var vocabulary = state.VocabularyJson is { } v ? Vocabulary.FromJson(v, checkpoint)
            : throw new ConfigException($"Checkpoint '{checkpoint}' has no vocabulary; it was not written by pcme train.");
        var model = state.Architecture.CreateModel();
        var criterion = TrainingSetup.CreateCriterion(config);
        Checkpoint.Load(checkpoint, model, criterion, null, state.Architecture);
        model.to(device); criterion.to(device); model.eval();
        var result = new TrainingResult(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(checkpoint))) ?? checkpoint,
            state.History.Count, state.BestMetric, state.BestEpoch, state.History, null);
        return new TrainedModel(model, criterion, vocabulary, state.Architecture, config, result, device);
    }
}
