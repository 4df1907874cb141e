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
    public static ImagePipeline TrainPipeline(TrainingConfig config, bool synthetic) => WithConfiguredNormalization(config, synthetic, synthetic
        ? new ImagePipeline(new Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]))
        : ImagePipeline.Train(config.Dataloader.CropSize, config.Dataloader.RandomErasingProb));

    /// <summary>The evaluation image pipeline matching <see cref="TrainPipeline"/>.</summary>
    public static ImagePipeline EvalPipeline(TrainingConfig config, bool synthetic) => WithConfiguredNormalization(config, synthetic, synthetic
        ? new ImagePipeline(new Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]))
        : ImagePipeline.Eval(config.Dataloader.CropSize * 256 / 224, config.Dataloader.CropSize));

    /// <summary>
    /// The normalisation <c>dataloader.normalize</c> resolves to: unset follows the pretrained weights (their
    /// converter header names <c>caffe-bgr-mean</c>; plain torchvision files mean imagenet); an explicit value wins.
    /// </summary>
    public static string ResolveNormalize(TrainingConfig config) => ResolveNormalize(config, out _);

    static string ResolveNormalize(TrainingConfig config, out PretrainedWeights? weights)
    {
        weights = config.Model.PretrainedResnetModelPath is { Length: > 0 } p ? PretrainedBackbones.Resolve(p) : null;
        switch (config.Dataloader.Normalize)
        {
            case null or "" or "auto": return weights?.Normalize ?? "imagenet";
            case "imagenet": return "imagenet";
            case CaffeBgrMean.Name when weights?.MeanImagePath is null:
                throw new ConfigException($"dataloader.normalize={CaffeBgrMean.Name} needs the mean image of weights converted from ONNX: set model.pretrained_resnet_model_path to " +
                                          $"{OnnxResNetConverter.NuGetShorthand} or a ResNet-18 .onnx, or use dataloader.normalize=imagenet.");
            case CaffeBgrMean.Name: return CaffeBgrMean.Name;
            case var n: throw new ConfigException($"dataloader.normalize must be imagenet or {CaffeBgrMean.Name} (or unset: the pretrained weights' own), not '{n}'.");
        }
    }

    /// <summary>
    /// The hook where a config's normalisation enters a pipeline: <c>caffe-bgr-mean</c> replaces the Normalize step
    /// with the weights' <see cref="CaffeBgrMean"/>; synthetic scenes (rendered at 64 px) are first resized to the crop
    /// size, so a pretrained ResNet sees them at the size it was trained at (224 px: a 7 x 7 grid).
    /// </summary>
    static ImagePipeline WithConfiguredNormalization(TrainingConfig config, bool synthetic, ImagePipeline pipeline)
    {
        if (ResolveNormalize(config, out var weights) != CaffeBgrMean.Name) return pipeline;
        var caffe = pipeline.WithNormalization(CaffeBgrMean.Load(weights!.MeanImagePath!));
        int crop = config.Dataloader.CropSize;
        return synthetic ? new ImagePipeline(caffe.Steps.Prepend(new ResizeTo(crop, crop))) : caffe;
    }

    /// <summary>
    /// Builds the model (word vectors from <paramref name="wordVectors"/> when given), trains it on
    /// <paramref name="train"/> into <paramref name="outputDirectory"/>, and returns it with the best
    /// checkpoint's weights loaded when validation ran.
    /// </summary>
    public static TrainedModel Train(TrainingConfig config, ICrossModalDataset train, Vocabulary vocabulary, Tensor? wordVectors,
        string outputDirectory, Func<TrainedModel, ValidationResult>? validate = null, IProgress<TrainingProgress>? progress = null,
        bool resume = false, BatchSampling sampling = BatchSampling.RandomPairs,
        bool syntheticImages = false, int? stopAfterEpoch = null)
    {
        RequireWeightsForAFrozenBackbone(config);
        // The checkpoint records the normalisation the run used, not "whatever the weights want".
        config = config with { Dataloader = config.Dataloader with { Normalize = ResolveNormalize(config, out var pretrained) } };
        if (pretrained?.Info is { } converted && converted.Kind != config.Model.CnnType)
            throw new ConfigException($"model.pretrained_resnet_model_path '{config.Model.PretrainedResnetModelPath}' holds {converted.Kind} weights but model.cnn_type is {config.Model.CnnType}. Set model.cnn_type={converted.Kind}.");
        var device = DeviceResolver.Resolve(config.Train.Device);
        manual_seed(config.Train.Seed);
        var arch = Architecture(config, vocabulary);
        var model = arch.CreateModel(config.Model.ImgFinetune, config.Model.TxtFinetune);
        if (wordVectors is not null) model.txt_enc.LoadWordVectors(wordVectors);
        if (config.Model.InitLogVariance is { } h0) model.InitializeLogVariance(h0);
        if (pretrained is not null)
            WeightLoader.Load(model.img_enc.cnn, pretrained.WeightsPath);
        var criterion = TrainingSetup.CreateCriterion(config);
        var augmentation = config.Dataloader.CaptionDropProb > 0
            ? new CaptionAugmentation(CaptionAugmentationOptions.Official(config.Dataloader.CaptionDropProb), config.Train.Seed) : null;
        var positives = config.Dataloader.Positives switch
        {
            "same_image" => PositivePairs.SameImage,
            "relevance" => PositivePairs.Relevance,
            var p => throw new ConfigException($"dataloader.positives must be same_image or relevance, not '{p}'."),
        };
        var trainer = new Trainer(model, criterion, config, device, arch, vocabulary.ToJson());
        using var cache = FrozenBackboneCache(config, model, train, syntheticImages, device);
        var data = new DatasetTrainingData(train, vocabulary, TrainPipeline(config, syntheticImages), augmentation, positives, sampling, cache);
        TrainedModel Snapshot(TrainingResult r) => new(model, criterion, vocabulary, arch, config, r, device);
        var result = trainer.Fit(data, validate is null ? null : (m, c) => validate(Snapshot(new TrainingResult(outputDirectory, 0, null, null, [], null))),
            outputDirectory, resume, progress, stopAfterEpoch);
        string best = Path.Combine(outputDirectory, "checkpoints", "best");
        if (result.BestEpoch is not null && Directory.Exists(best)) Checkpoint.Load(best, model, criterion, null, arch);
        model.eval();
        return Snapshot(result);
    }

    /// <summary>
    /// The grid cache of <c>dataloader.feature_cache</c> for a backbone frozen for the whole run: the training images
    /// through the evaluation pipeline, once, into <c>FOLDER/KIND-KEY</c>, where KEY hashes the weights file, the
    /// normalisation, the crop size and the image ids (so other weights or data never reuse it). Null when unset.
    /// </summary>
    static GridFeatureCache? FrozenBackboneCache(TrainingConfig config, PcmeModel model, ICrossModalDataset train, bool synthetic, Device device)
    {
        if (config.Dataloader.FeatureCache is not { Length: > 0 } folder) return null;
        if (config.Model.ImgFinetune || config.Train.FinetuneEpochs > 0)
            throw new ConfigException("dataloader.feature_cache serves a backbone that stays frozen for the whole run: set model.img_finetune=false and train.finetune_epochs=0, or unset dataloader.feature_cache.");
        var ids = train.Images.Select(i => i.Id).ToArray();
        var weights = config.Model.PretrainedResnetModelPath is { Length: > 0 } p ? new FileInfo(PretrainedBackbones.Resolve(p).WeightsPath) : null;
        string identity = string.Join("\n", config.Model.CnnType, weights?.FullName ?? "", weights?.Length ?? 0, weights?.LastWriteTimeUtc.Ticks ?? 0,
            config.Dataloader.Normalize ?? "", config.Dataloader.CropSize, synthetic, string.Join("\t", ids));
        string key = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(identity)))[..16];
        string path = Path.Combine(folder, $"{config.Model.CnnType}-{key}");
        if (File.Exists(path + ".json") && File.Exists(path + ".bin")) return GridFeatureCache.Open(path, model.img_enc.cnn.Kind);
        var pipeline = EvalPipeline(config, synthetic);
        return GridFeatureCache.Build(model.img_enc.cnn, ids, rows => pipeline.LoadBatch(train, rows, new Random(0), Math.Max(1, Environment.ProcessorCount)),
            path, config.Dataloader.EvalBatchSize, device);
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
            $"but has no weights: set model.pretrained_resnet_model_path to torchvision's {m.CnnType} .pth or a .safetensors file" +
            (m.CnnType is "resnet18" or ResNetGrid.CntkResNet18 ? $" (or, with model.cnn_type={ResNetGrid.CntkResNet18}, {OnnxResNetConverter.NuGetShorthand}: the ImageNet ResNet-18 NuGet ships)" : "") +
            ", or train it from scratch with model.img_finetune=true.");
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
