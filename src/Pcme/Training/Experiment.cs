using System.Security.Cryptography;
using System.Text;
using Pcme.Data;
using Pcme.Evaluation;
using Pcme.Inference;
using Pcme.Losses;
using Pcme.Modules;
using Pcme.Probabilistic;
using Pcme.Retrieval;
using Pcme.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Training;

/// <summary>
/// What an experiment trains and validates on. Everything else (vocabulary, word vectors, batches, pipelines,
/// model, criterion, optimizer, schedule, validation) follows from the <see cref="TrainingConfig"/>.
/// </summary>
/// <param name="Train">Training split.</param>
/// <param name="Validation">Validation split for best-checkpoint selection (null: no validation; the last epoch is kept as best).</param>
public sealed record ExperimentData(ICrossModalDataset Train, ICrossModalDataset? Validation = null)
{
    /// <summary>GloVe text file (glove.840B.300d.txt layout), needed when model.wemb_type = glove.</summary>
    public string? GloVePath { get; init; }
    /// <summary>The vocabulary; null builds it from the training captions.</summary>
    public Vocabulary? Vocabulary { get; init; }
    /// <summary>How batches are drawn; null: one caption per class for CUB (the official sampler), distinct images per batch under
    /// dataloader.positives = same_image, random pairs under relevance.</summary>
    public BatchSampling? Sampling { get; init; }
}

/// <summary>A trained model with everything needed to use it.</summary>
public sealed record TrainedModel(PcmeModel Model, RetrievalObjective Criterion, Vocabulary Vocabulary, ArchitectureInfo Architecture,
    TrainingConfig Config, TrainingResult Result, Device Device)
{
    /// <summary>The evaluation image pipeline of the config the model was trained with (normalisation included).</summary>
    public ImagePipeline EvalPipeline => Experiment.Pipelines(Config).Eval;

    /// <summary>
    /// A test-time scorer (<see cref="Scorer.Names"/>) with this model's current (a, b) and
    /// model.n_samples_inference: the one place a scorer is made from a trained criterion.
    /// </summary>
    /// <remarks>mc needs a method with a match logit (PCME, PCME++); max-cosine takes the model's K embeddings per item.</remarks>
    public Scorer CreateScorer(string name)
    {
        if (name == "mc" && (Criterion.MatchLogit is null || Methods.Get(Architecture.Method).Family != "pcme"))
            throw new ConfigException($"The mc scorer is PCME's Monte-Carlo match probability with PCME's match logit (a, b); {Architecture.Method} has " +
                                      $"{(Criterion.MatchLogit is null ? "no match logit" : "the logit -a CSD + b (score it with csd)")}. Use {Methods.ValidationScorer(Config)}.");
        var (a, b) = Criterion.MatchLogit ?? (10, 10);
        return Scorer.Create(name, Config.Model.NSamplesInference, (float)a, (float)b, Architecture.EmbeddingsPerItem);
    }

    /// <summary>The scorers that suit this model: every test-time variant for a probabilistic method, cosine and l2 for a
    /// deterministic one, max-cosine for K &gt; 1 embeddings per item.</summary>
    public IReadOnlyList<string> NaturalScorers => Architecture.EmbeddingsPerItem > 1 ? ["max-cosine"]
        : Architecture.Probabilistic ? [.. Scorer.Names.Where(n => n != "max-cosine" && (n != "mc" || Methods.Get(Architecture.Method).Family == "pcme"))]
        : ["cosine", "l2"];

    /// <summary>The learned (a, b) of the match logit (PCME, PCME++); a <see cref="ConfigException"/> for methods without one.</summary>
    public (double NegativeScale, double Shift) MatchLogit => Criterion.MatchLogit
        ?? throw new ConfigException($"{Architecture.Method} has no match logit (a, b).");

    /// <summary>Every image and caption of <paramref name="dataset"/> embedded (eval pipeline, eval batch size); both on the CPU in data set order.</summary>
    public (GaussianEmbedding Images, GaussianEmbedding Captions) Embed(ICrossModalDataset dataset)
    {
        var images = DatasetEmbedder.EmbedImages(Model, dataset, EvalPipeline, Config.Dataloader.EvalBatchSize, Device);
        var (captions, _) = DatasetEmbedder.EmbedCaptions(Model, dataset, Vocabulary, Config.Dataloader.EvalBatchSize, Device);
        return (images, captions);
    }
}

/// <summary>
/// The one place a run is assembled (like open_clip's <c>create_model_and_transforms</c>): <see cref="Create"/>
/// takes a config and the data and returns every part a run needs, after checking every value; <see cref="Train"/>
/// runs it. <c>pcme train</c>, <c>pcme demo</c>, <see cref="Ablation"/>, the notebooks and the benches build
/// through it.
/// </summary>
public sealed class Experiment
{
    /// <summary>The config as the run uses it (normalize = dataset: with the measured mean and std filled in).</summary>
    public TrainingConfig Config { get; }
    /// <summary>The data.</summary>
    public ExperimentData Data { get; }
    /// <summary>Where the run computes.</summary>
    public Device Device { get; }
    /// <summary>The vocabulary (from the training captions unless given).</summary>
    public Vocabulary Vocabulary { get; }
    /// <summary>Word vectors loaded into the model (null: learned from scratch).</summary>
    public Tensor? WordVectors { get; }
    /// <summary>GloVe coverage when model.wemb_type = glove.</summary>
    public WordVectorReport? WordVectorReport { get; }
    /// <summary>How batches are drawn.</summary>
    public BatchSampling Sampling { get; }
    /// <summary>Which batch pairs are positives.</summary>
    public PositivePairs Positives { get; }
    /// <summary>Training image pipeline.</summary>
    public ImagePipeline TrainPipeline { get; }
    /// <summary>Evaluation image pipeline (validation, embedding, the feature cache).</summary>
    public ImagePipeline EvalPipeline { get; }
    /// <summary>The model's architecture (recorded in checkpoints).</summary>
    public ArchitectureInfo Architecture { get; }
    /// <summary>The model.</summary>
    public PcmeModel Model { get; }
    /// <summary>The method (criterion.name).</summary>
    public MethodSpec Method => Methods.Get(Config.Criterion.Name);
    /// <summary>The criterion (PCME's learnable a, b; InfoNCE's scale; ...).</summary>
    public RetrievalObjective Criterion { get; }
    /// <summary>The optimizer over the model's and the criterion's parameters.</summary>
    public ITrainingOptimizer Optimizer { get; }
    /// <summary>Batches for the trainer.</summary>
    public DatasetTrainingData TrainingData { get; }
    /// <summary>The frozen-backbone grid cache (dataloader.feature_cache), or null.</summary>
    public GridFeatureCache? FeatureCache { get; }
    /// <summary>Things a user should know about this run (printed by the CLI), e.g. what the feature cache changes.</summary>
    public IReadOnlyList<string> Notes { get; }

    Experiment(TrainingConfig config, ExperimentData data, Device device, Vocabulary vocabulary, PretrainedEmbeddings? words, BatchSampling sampling,
        PositivePairs positives, ArchitectureInfo architecture, PcmeModel model, RetrievalObjective criterion, GridFeatureCache? cache, List<string> notes)
    {
        Config = config; Data = data; Device = device; Vocabulary = vocabulary; WordVectors = words?.Weights; WordVectorReport = words?.Report;
        Sampling = sampling; Positives = positives; Architecture = architecture; Model = model; Criterion = criterion; FeatureCache = cache; Notes = notes;
        (TrainPipeline, EvalPipeline) = Pipelines(config);
        Optimizer = Optimizers.Create(config.Optimizer, model.parameters().Concat(criterion.parameters()));
        var augmentation = config.Dataloader.CaptionDropProb > 0
            ? new CaptionAugmentation(CaptionAugmentationOptions.Official(config.Dataloader.CaptionDropProb), config.Train.Seed) : null;
        TrainingData = new DatasetTrainingData(data.Train, vocabulary, TrainPipeline, augmentation, positives, sampling);
        frozenData = cache is null ? null : new DatasetTrainingData(data.Train, vocabulary, TrainPipeline, augmentation, positives, sampling, cache);
    }

    readonly DatasetTrainingData? frozenData;

    /// <summary>
    /// Checks every value (<see cref="ConfigChecks"/>) and the data, then builds the run: vocabulary and word
    /// vectors (model.wemb_type), batch sampling, image pipelines (dataloader.train_transform, eval_transform,
    /// crop_scale_*, flip_prob, normalize), model (on the config's device, seeded by train.seed), criterion,
    /// optimizer (optimizer.name), and the grid cache (dataloader.feature_cache). Problems are one
    /// <see cref="ConfigException"/> or <see cref="DataException"/> naming the key or file.
    /// </summary>
    public static Experiment Create(TrainingConfig config, ExperimentData data, IProgress<string>? status = null)
    {
        ConfigChecks.Validate(config);
        RequireWeightsForAFrozenBackbone(config);
        // The run records the normalisation it used, not "whatever the weights want".
        config = config with { Dataloader = config.Dataloader with { Normalize = ResolveNormalize(config, out var pretrained) } };
        if (pretrained?.Info is { } converted && converted.Kind != config.Model.CnnType)
            throw new ConfigException($"model.pretrained_resnet_model_path '{config.Model.PretrainedResnetModelPath}' holds {converted.Kind} weights but model.cnn_type is {config.Model.CnnType}. Set model.cnn_type={converted.Kind}.");
        RequireImages(data.Train);
        if (data.Validation is { } val) RequireImages(val);
        var notes = new List<string>();
        var device = DeviceResolver.Resolve(config.Train.Device);
        var vocabulary = data.Vocabulary ?? Vocabulary.Build(data.Train.Captions.Select(c => c.Text));
        var positives = config.Dataloader.Positives == "relevance" ? PositivePairs.Relevance : PositivePairs.SameImage;
        // Official practice: CUB batches one caption per class; with own-image positives no image appears twice in a batch
        // (so no caption's true image is a negative); with the data set's relevance any pairs may share a batch.
        var sampling = data.Sampling ?? (data.Train is CubDataset ? BatchSampling.OnePerClass
            : positives == PositivePairs.SameImage ? BatchSampling.DistinctImages : BatchSampling.RandomPairs);
        if (config.Dataloader.Normalize == "dataset" && config.Dataloader.NormalizeMean is null)
        {
            status?.Report("measuring the training images' mean and std (dataloader.normalize = dataset)");
            var (mean, std) = ImagePipeline.MeasureChannelStatistics(data.Train, EvalGeometry(config), MaxImagesForStatistics, config.Train.Seed);
            config = config with { Dataloader = config.Dataloader with { NormalizeMean = mean, NormalizeStd = std } };
        }
        var words = config.Model.WembType switch
        {
            "glove" => data.GloVePath is { } g ? GloVe.Load(g, vocabulary, new WordVectorOptions { Dimension = config.Model.WordDim })
                : throw new ConfigException("model.wemb_type is glove: pass the GloVe file (pcme train --glove glove.840B.300d.txt), or set model.wemb_type=none to learn word vectors."),
            "synthetic" => SyntheticWordVectors.ForVocabulary(vocabulary, config.Model.WordDim, config.Train.Seed),
            _ => null,
        };
        manual_seed(config.Train.Seed);
        var (architecture, model) = CreateModel(config, vocabulary.Count);
        if (words is not null) model.txt_enc.LoadWordVectors(words.Weights);
        var criterion = CreateCriterion(config);
        model.to(device); criterion.to(device);
        GridFeatureCache? cache = null;
        if (config.Dataloader.FeatureCache is { } folder)
        {
            if (Methods.CreateMixer(config) is not null)
                throw new ConfigException($"dataloader.feature_cache = {folder} trains stage 1 on cached grids, and grids cannot be mixed like images " +
                                          $"(criterion.name = {config.Criterion.Name} mixes samples): set dataloader.feature_cache=null, or augment.mixup=0 and augment.cutmix=0.");
            if (config.Model.ImgFinetune || config.Train.PretrainEpochs == 0)
                throw new ConfigException($"dataloader.feature_cache = {folder} needs a frozen backbone in stage 1 (model.img_finetune = false and train.pretrain_epochs > 0); " +
                                          "set dataloader.feature_cache=null to train on pixels.");
            cache = OpenOrBuildCache(config, data.Train, model.img_enc.cnn, folder, device, status, out bool reused);
            notes.Add($"feature cache {(reused ? "reused" : "built")}: {cache.DataPath} ({cache.Count} images); the {config.Train.PretrainEpochs} frozen-backbone epochs " +
                      "train on one eval-transform view per image (no random crop or flip in that stage).");
        }
        return new Experiment(config, data, device, vocabulary, words, sampling, positives, architecture, model, criterion, cache, notes);
    }

    /// <summary>Images sampled (seeded) for normalize = dataset; the mean and std of 5,000 images are exact to ~1e-3.</summary>
    public const int MaxImagesForStatistics = 5000;

    /// <summary>The model a config describes for a vocabulary of <paramref name="vocabularySize"/> words (backbone weights loaded when the config names them).</summary>
    public static (ArchitectureInfo Architecture, PcmeModel Model) CreateModel(TrainingConfig config, int vocabularySize)
    {
        var m = config.Model;
        var arch = new ArchitectureInfo(m.CnnType, m.EmbedDim, m.WordDim, vocabularySize, Methods.IsProbabilistic(config))
            { Method = config.Criterion.Name, EmbeddingsPerItem = Methods.EmbeddingsPerItem(config) };
        var model = arch.CreateModel(m.ImgFinetune, m.TxtFinetune);
        if (m.InitLogVariance is { } h0) model.InitializeLogVariance(h0);
        if (m.PretrainedResnetModelPath is { Length: > 0 } weights) WeightLoader.Load(model.img_enc.cnn, PretrainedBackbones.Resolve(weights).WeightsPath);
        return (arch, model);
    }

    /// <summary>The criterion a config names (criterion.name, <see cref="Methods.CreateObjective"/>; unset keys take the method's official defaults).</summary>
    public static RetrievalObjective CreateCriterion(TrainingConfig config) => Methods.CreateObjective(config);

    /// <summary>
    /// The training and evaluation pipelines of a config. Training: official = random resized crop
    /// (crop_scale_min..max) + flip (flip_prob), resize = resize to crop_size; evaluation: official = resize the
    /// shorter side to crop_size x 256/224 + centre crop, resize = resize to crop_size. Both normalise
    /// (dataloader.normalize); training ends with random erasing when random_erasing_prob &gt; 0.
    /// </summary>
    public static (ImagePipeline Train, ImagePipeline Eval) Pipelines(TrainingConfig config)
    {
        var d = config.Dataloader;
        int crop = d.CropSize;
        IImageTransform normalize = ResolveNormalize(config, out var pretrained) switch
        {
            "imagenet" => Normalize.ImageNet,
            CaffeBgrMean.Name => CaffeBgrMean.Load(pretrained!.MeanImagePath!),
            _ when d.NormalizeMean is { } mean && d.NormalizeStd is { } std => new Normalize(mean, std),
            var n => throw new ConfigException($"dataloader.normalize = {n} needs dataloader.normalize_mean and normalize_std (measured by Experiment.Create for dataset)."),
        };
        var train = new List<IImageTransform>();
        if (d.TrainTransform == "official")
        {
            train.Add(new RandomResizedCrop(crop) { Scale = (d.CropScaleMin, d.CropScaleMax) });
            train.Add(new RandomHorizontalFlip(d.FlipProb));
        }
        else train.Add(new ResizeTo(crop, crop));
        train.Add(normalize);
        if (d.RandomErasingProb > 0) train.Add(new RandomErasing(d.RandomErasingProb));
        return (new ImagePipeline(train), new ImagePipeline([.. EvalGeometry(config), normalize]));
    }

    /// <summary>
    /// The normalisation <c>dataloader.normalize</c> resolves to: auto follows the pretrained weights (their converter
    /// header names <c>caffe-bgr-mean</c>; plain torchvision files mean imagenet); an explicit value wins.
    /// </summary>
    public static string ResolveNormalize(TrainingConfig config) => ResolveNormalize(config, out _);

    static string ResolveNormalize(TrainingConfig config, out PretrainedWeights? weights)
    {
        weights = config.Model.PretrainedResnetModelPath is { Length: > 0 } p ? PretrainedBackbones.Resolve(p) : null;
        return config.Dataloader.Normalize switch
        {
            "auto" => weights?.Normalize ?? "imagenet",
            CaffeBgrMean.Name when weights?.MeanImagePath is null => throw new ConfigException(
                $"dataloader.normalize={CaffeBgrMean.Name} needs the mean image of weights converted from ONNX: set model.pretrained_resnet_model_path to " +
                $"{OnnxResNetConverter.NuGetShorthand} or a ResNet-18 .onnx, or use dataloader.normalize=imagenet."),
            var n => n,
        };
    }

    /// <summary>The evaluation transform's resizing and cropping, without normalisation.</summary>
    static IImageTransform[] EvalGeometry(TrainingConfig config)
    {
        int crop = config.Dataloader.CropSize;
        return config.Dataloader.EvalTransform == "official"
            ? [new ResizeShorterSide(crop * 256 / 224), new CenterCrop(crop)]
            : [new ResizeTo(crop, crop)];
    }

    /// <summary>
    /// Trains into <paramref name="outputDirectory"/> and returns the model with the best checkpoint's weights
    /// (by validation under model.eval_method) loaded, or the last epoch's when there is no validation split.
    /// </summary>
    public TrainedModel Train(string outputDirectory, IProgress<TrainingProgress>? progress = null, bool resume = false, int? stopAfterEpoch = null,
        CancellationToken cancel = default)
    {
        var trainer = new Trainer(Model, Criterion, Config, Device, Architecture, Vocabulary.ToJson(), Optimizer);
        TrainedModel Snapshot(TrainingResult r) => new(Model, Criterion, Vocabulary, Architecture, Config, r, Device);
        var empty = new TrainingResult(outputDirectory, 0, null, null, [], null);
        var result = trainer.Fit(TrainingData, Data.Validation is null ? null : (_, _) => Validate(Snapshot(empty), Data.Validation),
            outputDirectory, resume, progress, stopAfterEpoch, cancel, frozenData);
        string best = Path.Combine(outputDirectory, "checkpoints", "best");
        if (result.BestEpoch is not null && Directory.Exists(best)) Checkpoint.Load(best, Model, Criterion, null, Architecture);
        Model.eval();
        return Snapshot(result);
    }

    /// <summary>
    /// Validation for best-checkpoint selection: one call of the evaluation code (<see cref="ModelEvaluation.Evaluate"/>,
    /// whole-set protocol) with the scorer model.eval_method names (or the method's official one); the metric is the mean of i2t and t2i R-Precision.
    /// </summary>
    public static ValidationResult Validate(TrainedModel model, ICrossModalDataset validation)
    {
        using var scope = NewDisposeScope();
        var (images, captions) = model.Embed(validation);
        var r = ModelEvaluation.Evaluate(images, captions, validation, [model.CreateScorer(Methods.ValidationScorer(model.Config))], model.Config.Train.Seed).Single();
        return new ValidationResult((r.Metrics.ImageToText.RPrecision + r.Metrics.TextToImage.RPrecision) / 2, r.ToJson().ToJsonString());
    }

    /// <summary>Loads a checkpoint folder written by a run into a ready-to-use model on <paramref name="device"/>.</summary>
    public static TrainedModel Load(string checkpoint, Device device)
    {
        var state = Checkpoint.ReadState(checkpoint);
        var config = TrainingConfig.FromJson(state.ConfigJson, checkpoint);
        var vocabulary = state.VocabularyJson is { } v ? Vocabulary.FromJson(v, checkpoint)
            : throw new ConfigException($"Checkpoint '{checkpoint}' has no vocabulary; it was not written by pcme train.");
        var model = state.Architecture.CreateModel();
        var criterion = CreateCriterion(config);
        Checkpoint.Load(checkpoint, model, criterion, null, state.Architecture);
        model.to(device); criterion.to(device); model.eval();
        var result = new TrainingResult(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(checkpoint))) ?? checkpoint,
            state.History.Count, state.BestMetric, state.BestEpoch, state.History, null);
        return new TrainedModel(model, criterion, vocabulary, state.Architecture, config, result, device);
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

    /// <summary>Skips are reported and the run goes on, but a set left with no image is a wrong path, not data to train on.</summary>
    static void RequireImages(ICrossModalDataset data)
    {
        if (data.Images.Count > 0 && data.Captions.Count > 0) return;
        if (data.Skipped is [var first, ..])
            throw new DataException($"{data.Name}: every image was skipped ({data.Skipped.Count}); the first: {first.Source}: {first.Reason}. Check the data set paths.");
        throw new DataException($"{data.Name} has no {(data.Images.Count == 0 ? "image" : "caption")}; check the data set files.");
    }

    /// <summary>
    /// The grid cache of (backbone, its weights, eval pipeline, images) under <paramref name="folder"/>: the file
    /// name is a hash of all four, so a cache is only ever reused for exactly the grids it holds.
    /// </summary>
    static GridFeatureCache OpenOrBuildCache(TrainingConfig config, ICrossModalDataset train, GridBackbone backbone, string folder, Device device,
        IProgress<string>? status, out bool reused)
    {
        string? weights = config.Model.PretrainedResnetModelPath is { Length: > 0 } p ? PretrainedBackbones.Resolve(p).WeightsPath : null;
        var key = new StringBuilder().Append(config.Model.CnnType).Append('\n').Append(WeightsIdentity(weights)).Append('\n')
            .Append(string.Join(",", EvalGeometry(config).Select(t => t.ToString()))).Append('\n')
            .Append(string.Join(",", config.Dataloader.NormalizeMean ?? [])).Append(config.Dataloader.Normalize).Append(string.Join(",", config.Dataloader.NormalizeStd ?? [])).Append('\n')
            .Append(train.Name).Append('\n').AppendJoin('\n', train.Images.Select(i => i.Id));
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())))[..16];
        string path = Path.Combine(folder, $"{config.Model.CnnType}-{hash}");
        reused = File.Exists(path + ".json") && File.Exists(path + ".bin");
        if (reused) return GridFeatureCache.Open(path, backbone.Kind);
        status?.Report($"building the grid cache {path} ({train.Images.Count} images)");
        var pipeline = Pipelines(config).Eval;
        return GridFeatureCache.Build(backbone, train.Images.Select(i => i.Id).ToArray(),
            rows => pipeline.LoadBatch(train, rows, new Random(0)), path, config.Dataloader.EvalBatchSize, device);
    }

    static string WeightsIdentity(string? path)
    {
        if (path is not { Length: > 0 } || !File.Exists(path)) return "random";
        var info = new FileInfo(path);
        return $"{info.FullName}:{info.Length}:{info.LastWriteTimeUtc.Ticks}";
    }
}
