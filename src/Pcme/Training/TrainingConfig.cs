using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using YamlDotNet.RepresentationModel;

namespace Pcme.Training;

/// <summary>Data loading (official <c>dataloader:</c> section).</summary>
public sealed record DataLoaderConfig
{
    /// <summary>Pairs per training batch.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Items per evaluation batch.</summary>
    public int EvalBatchSize { get; init; } = 256;
    /// <summary>Training crop size in pixels (224 for ResNets; the synthetic set uses its own 64).</summary>
    public int CropSize { get; init; } = 224;
    /// <summary>Random erasing probability (official 0.2).</summary>
    public double RandomErasingProb { get; init; } = 0.2;
    /// <summary>Caption word-drop probability (official 0.1).</summary>
    public double CaptionDropProb { get; init; } = 0.1;
    /// <summary>
    /// Which batch pairs are positives: same_image (a caption matches the image it was written for,
    /// COCO practice) or relevance (the data set's relevance: same class on CUB, exact predicates on the
    /// synthetic set).
    /// </summary>
    public string Positives { get; init; } = "same_image";
    /// <summary>
    /// Folder for the frozen-backbone grid cache (null: run the backbone every step). While the backbone is
    /// frozen (stage 1 with model.img_finetune = false) the heads train on grids extracted once with the eval
    /// transform (one view per image: no random crop or flip in that stage); fine-tuning reads pixels again.
    /// </summary>
    public string? FeatureCache { get; init; }
    /// <summary>
    /// Training images: official (random resized crop to crop_size over crop_scale_min..crop_scale_max of the
    /// area, horizontal flip with flip_prob) or resize (resize to crop_size x crop_size, no crop, no flip).
    /// Both then normalise and, when random_erasing_prob &gt; 0, erase.
    /// </summary>
    public string TrainTransform { get; init; } = "official";
    /// <summary>
    /// Evaluation images: official (resize the shorter side to crop_size x 256/224, centre crop crop_size) or
    /// resize (resize to crop_size x crop_size: nothing is cut off, which matters for small images).
    /// </summary>
    public string EvalTransform { get; init; } = "official";
    /// <summary>Smallest area fraction of the official random resized crop (torchvision 0.08).</summary>
    public double CropScaleMin { get; init; } = 0.08;
    /// <summary>Largest area fraction of the official random resized crop (torchvision 1.0).</summary>
    public double CropScaleMax { get; init; } = 1.0;
    /// <summary>Horizontal flip probability of the official training transform.</summary>
    public double FlipProb { get; init; } = 0.5;
    /// <summary>
    /// Pixel normalisation after scaling to [0, 1]: auto (default: what the pretrained weights need, caffe-bgr-mean
    /// for the ResNet-18 converted from NuGet's ONNX, else imagenet; a run records the resolved value),
    /// caffe-bgr-mean (BGR, 0-255, minus the converted weights' mean image), imagenet (torchvision's ImageNet mean and std), dataset
    /// (the training set's own per-channel mean and std, measured once before training and written into
    /// normalize_mean / normalize_std of the run's config, so checkpoints evaluate with them), or custom
    /// (normalize_mean / normalize_std as given). With dataset, values already in normalize_mean / normalize_std
    /// are taken as measured before (a checkpoint's config) and not measured again.
    /// </summary>
    public string Normalize { get; init; } = "auto";
    /// <summary>Per-channel means (R, G, B) for normalize = custom, or as measured for normalize = dataset.</summary>
    public IReadOnlyList<double>? NormalizeMean { get; init; }
    /// <summary>Per-channel standard deviations (R, G, B) for normalize = custom, or as measured for normalize = dataset.</summary>
    public IReadOnlyList<double>? NormalizeStd { get; init; }
}

/// <summary>The model (official <c>model:</c> section).</summary>
public sealed record ModelConfig
{
    /// <summary>Embedding dimension D.</summary>
    public int EmbedDim { get; init; } = 512;
    /// <summary>Backbone: resnet18, resnet50, resnet152 or small.</summary>
    public string CnnType { get; init; } = "resnet50";
    /// <summary>Word vector width (300 for GloVe).</summary>
    public int WordDim { get; init; } = 300;
    /// <summary>Word vectors: glove (needs a file) or none (trained from scratch, or shipped synthetic vectors).</summary>
    public string WembType { get; init; } = "glove";
    /// <summary>Fine-tune the image backbone in stage 1 (official: false; stage 2 always fine-tunes).</summary>
    public bool ImgFinetune { get; init; }
    /// <summary>Fine-tune the word vectors.</summary>
    public bool TxtFinetune { get; init; }
    /// <summary>Probabilistic embeddings (false = the mu-only deterministic twin).</summary>
    public bool Probabilistic { get; init; } = true;
    /// <summary>Samples per item at test time (MC and matmul scorers).</summary>
    public int NSamplesInference { get; init; } = 7;
    /// <summary>
    /// Scorer for validation and best-checkpoint selection (any name of Retrieval.Scorer.Names the method can score
    /// with: a deterministic method needs cosine or l2, PVSE with K &gt; 1 max-cosine); null: the method's official one
    /// (<see cref="MethodSpec.DefaultValidationScorer"/>). The metric is the mean of i2t and t2i R-Precision under that scorer.
    /// </summary>
    public string? EvalMethod { get; init; }
    /// <summary>Initial bias h0 of the log-variance heads (null = the official zero init; see PcmeModel.InitializeLogVariance).</summary>
    public double? InitLogVariance { get; init; }
    /// <summary>Optional torchvision/safetensors weights for the backbone.</summary>
    public string? PretrainedResnetModelPath { get; init; }
}

/// <summary>The optimizer (official <c>optimizer:</c>).</summary>
public sealed record OptimizerConfig
{
    /// <summary>
    /// adamp (the official PCME optimizer: Adam with the projection of Heo et al., ICLR 2021, see
    /// <see cref="AdamP"/>), adamw, adam, or sgd (with momentum).
    /// </summary>
    public string Name { get; init; } = "adamw";
    /// <summary>Learning rate.</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>Weight decay (decoupled for adamw and adamp, L2 in the gradient for adam and sgd).</summary>
    public double WeightDecay { get; init; }
    /// <summary>Adam-family beta1 (PyTorch 0.9).</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>Adam-family beta2 (PyTorch 0.999).</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Adam-family epsilon (PyTorch 1e-8).</summary>
    public double Eps { get; init; } = 1e-8;
    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>Nesterov momentum (sgd and adamp).</summary>
    public bool Nesterov { get; init; }
    /// <summary>AdamP: a weight counts as scale-invariant when |cos(grad, w)| &lt; delta / sqrt(dim) (official 0.1).</summary>
    public double Delta { get; init; } = 0.1;
    /// <summary>AdamP: weight decay multiplier on projected (scale-invariant) weights (official 0.1).</summary>
    public double WdRatio { get; init; } = 0.1;
}

/// <summary>The schedule (official <c>lr_scheduler:</c>), restarted at each stage after an optional linear warm-up.</summary>
public sealed record LrSchedulerConfig
{
    /// <summary>
    /// cosine_annealing (per step from the stage's rate to min_lr_ratio x it) or reduce_lr_on_plateau
    /// (the official code's other choice: multiply the rate by factor when the validation metric has not
    /// improved for patience validations, never below min_lr_ratio x the stage's rate).
    /// </summary>
    public string Name { get; init; } = "cosine_annealing";
    /// <summary>reduce_lr_on_plateau: the multiplier (official 0.1).</summary>
    public double Factor { get; init; } = 0.1;
    /// <summary>reduce_lr_on_plateau: validations without improvement before reducing (official 10).</summary>
    public int Patience { get; init; } = 10;
    /// <summary>Warm-up epochs (linear from 0) at the start of each stage.</summary>
    public double WarmupEpochs { get; init; }
    /// <summary>Minimum learning rate as a fraction of the stage's base rate.</summary>
    public double MinLrRatio { get; init; }
}

/// <summary>
/// The criterion (official <c>criterion:</c>). Every key but name is optional: unset keys take the official default of the
/// method <see cref="Name"/> selects (<see cref="Methods.CreateObjective"/>); a key the method does not read is refused.
/// </summary>
public sealed record CriterionConfig
{
    /// <summary>The method: pcme, soft-contrastive, pcme++, pcme++-mu, vse++, pvse or infonce (<see cref="Methods"/>).</summary>
    public string Name { get; init; } = "pcme";
    /// <summary>Initial a of the match logit. PCME: the official e^x/(e^x+e^-x) value doubled (official CUB 5 -> 10, the default);
    /// PCME++: logit = -a CSD + b as in its code (default 5).</summary>
    public double? InitNegativeScale { get; init; }
    /// <summary>Initial b (PCME default 10, doubled like a; PCME++ default 5).</summary>
    public double? InitShift { get; init; }
    /// <summary>PCME: J samples per item in training (default 7).</summary>
    public int? NumSamples { get; init; }
    /// <summary>KL weight (official vib_beta; PCME default 1e-3 in the official objective's units, PCME++ 1e-4 on the element mean).</summary>
    public double? VibBeta { get; init; }
    /// <summary>PCME: uniformity weight (official uniform_lambda, default 10).</summary>
    public double? UniformLambda { get; init; }
    /// <summary>PCME++: weight alpha of the pseudo-positive losses (official smoothness_alpha, default 0.1).</summary>
    public double? SmoothnessAlpha { get; init; }
    /// <summary>VSE++ / PVSE: hinge margin (VSE++ 0.2, PVSE 0.1).</summary>
    public double? Margin { get; init; }
    /// <summary>VSE++ / PVSE: hardest negative only (true, the default) or the sum over negatives.</summary>
    public bool? MaxViolation { get; init; }
    /// <summary>PVSE: K embeddings per item (official COCO 2).</summary>
    public int? NumEmbeds { get; init; }
    /// <summary>PVSE: diversity weight (official 0.1; off for K = 1).</summary>
    public double? DivWeight { get; init; }
    /// <summary>PVSE: MMD weight (official 0.01; off for K = 1).</summary>
    public double? MmdWeight { get; init; }
    /// <summary>InfoNCE: initial scale multiplying the cosines (PCME++'s init_tau, default 1).</summary>
    public double? InitTau { get; init; }
}

/// <summary>
/// PCME++'s mixed-sample data augmentation (official <c>augment:</c>): per image, with probability mix_batch_ratio, mixup or
/// cutmix with its partner in the flipped batch, and soft match targets. Unset keys take the method's default: on for
/// pcme++ and pcme++-mu (official: mixup 2, cutmix 2, mixup_switch_prob 0.5, mix_batch_ratio 0.25, mixup_smoothing 1e-4),
/// off for the others (whose objectives train on hard positives only; setting these keys for them is refused).
/// </summary>
public sealed record AugmentConfig
{
    /// <summary>Mixup Beta(alpha, alpha) parameter (0 = no mixup).</summary>
    public double? Mixup { get; init; }
    /// <summary>Cutmix Beta(alpha, alpha) parameter (0 = no cutmix).</summary>
    public double? Cutmix { get; init; }
    /// <summary>Probability that a mixed image uses cutmix rather than mixup when both are on.</summary>
    public double? MixupSwitchProb { get; init; }
    /// <summary>Fraction of a batch's images that are mixed.</summary>
    public double? MixBatchRatio { get; init; }
    /// <summary>Label smoothing of the soft targets (off = s, on = 1 - s).</summary>
    public double? MixupSmoothing { get; init; }
}

/// <summary>The run (official <c>train:</c>).</summary>
public sealed record TrainConfig
{
    /// <summary>Stage-1 epochs: heads with frozen backbones.</summary>
    public int PretrainEpochs { get; init; } = 10;
    /// <summary>Stage-2 epochs: fine-tuning the backbone too.</summary>
    public int FinetuneEpochs { get; init; } = 50;
    /// <summary>Stage-2 learning rate = stage-1 rate x this.</summary>
    public double FinetuneLrDecay { get; init; } = 1;
    /// <summary>Max gradient norm over model parameters (official 2; 0 = off).</summary>
    public double GradClip { get; init; } = 2;
    /// <summary>Validate every this many epochs (and at the end of each stage).</summary>
    public int ValEpochs { get; init; } = 1;
    /// <summary>Seed for every random draw.</summary>
    public int Seed { get; init; }
    /// <summary>auto, cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>Steps between progress reports.</summary>
    public int LogStep { get; init; } = 10;
    /// <summary>libtorch intra-op threads for the run (0 = libtorch's default, one per core). Lower it when another
    /// busy process shares the cores (see Runtime.OpenMpWait and <c>pcme bench contention</c>).</summary>
    public int Threads { get; init; }
}

/// <summary>
/// A whole training configuration, mirroring the sections of the official PCME YAML files (keys in
/// snake_case). Load with <see cref="Load"/>; override any key with <c>section.key=value</c>.
/// Unknown keys are errors.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>dataloader section.</summary>
    public DataLoaderConfig Dataloader { get; init; } = new();
    /// <summary>model section.</summary>
    public ModelConfig Model { get; init; } = new();
    /// <summary>optimizer section.</summary>
    public OptimizerConfig Optimizer { get; init; } = new();
    /// <summary>lr_scheduler section.</summary>
    public LrSchedulerConfig LrScheduler { get; init; } = new();
    /// <summary>criterion section.</summary>
    public CriterionConfig Criterion { get; init; } = new();
    /// <summary>augment section (PCME++'s mixed samples).</summary>
    public AugmentConfig Augment { get; init; } = new();
    /// <summary>train section.</summary>
    public TrainConfig Train { get; init; } = new();

    /// <summary>
    /// The synthetic default (configs/synthetic.yaml holds the same values; a test keeps them equal):
    /// a small CNN trained from scratch on 64 x 64 scenes, 32-d shipped word vectors, sized for CPUs.
    /// </summary>
    public static TrainingConfig Synthetic => new()
    {
        Dataloader = new()
        {
            BatchSize = 64, EvalBatchSize = 256, CropSize = 64, RandomErasingProb = 0, CaptionDropProb = 0, Positives = "relevance",
            TrainTransform = "resize", EvalTransform = "resize", Normalize = "custom", NormalizeMean = [0.5, 0.5, 0.5], NormalizeStd = [0.5, 0.5, 0.5],
        },
        Model = new() { EmbedDim = 32, CnnType = "small-16", WordDim = 32, WembType = "synthetic", ImgFinetune = true, TxtFinetune = true, NSamplesInference = 7, EvalMethod = "cosine", InitLogVariance = -6 },
        Optimizer = new() { Name = "adamw", LearningRate = 0.002 },
        LrScheduler = new() { WarmupEpochs = 1 },
        Criterion = new() { InitNegativeScale = 10, InitShift = 10, NumSamples = 7, VibBeta = 1e-3, UniformLambda = 0 },
        Train = new() { PretrainEpochs = 12, FinetuneEpochs = 0, FinetuneLrDecay = 1, GradClip = 2, ValEpochs = 4, Seed = 0, Device = "auto", LogStep = 5 },
    };

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
    };

    /// <summary>As JSON (snake_case keys), for checkpoints and run folders.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>This config with <c>section.key=value</c> overrides applied (checked like a file's keys).</summary>
    public TrainingConfig WithOverrides(IEnumerable<string> overrides)
    {
        var root = JsonNode.Parse(ToJson())!.AsObject();
        var current = new List<string>();
        foreach (var (section, node) in root)
            foreach (var (key, value) in node!.AsObject())
                if (value is not null) current.Add($"{section}.{key}={(value is JsonValue v && v.TryGetValue<string>(out var text) ? text : value.ToJsonString())}");
        return Load(null, current.Concat(overrides));
    }

    /// <summary>From JSON written by <see cref="ToJson"/>.</summary>
    public static TrainingConfig FromJson(string json, string source = "config") => Parse(JsonNode.Parse(json) ?? new JsonObject(), source);

    /// <summary>
    /// Loads a YAML (or JSON) file and applies <paramref name="overrides"/> (<c>section.key=value</c>).
    /// Unknown sections/keys and ill-typed values are a <see cref="ConfigException"/> naming the file and key.
    /// </summary>
    public static TrainingConfig Load(string? path, IEnumerable<string>? overrides = null)
    {
        JsonObject tree = new();
        string source = path ?? "defaults";
        if (path is not null)
        {
            if (!File.Exists(path)) throw new ConfigException($"Config file '{path}' does not exist. Use one of configs/*.yaml or write your own.");
            try
            {
                var yaml = new YamlStream();
                using var reader = new StringReader(File.ReadAllText(path));
                yaml.Load(reader);
                // An empty file is a mistake (a wrong path, a truncated copy), not a request for all defaults.
                var root = yaml.Documents.Count > 0 ? YamlToJson(yaml.Documents[0].RootNode) : null;
                if (root is null || (root is JsonValue v && v.ToString().Length == 0))
                    throw new ConfigException($"Config file '{path}' is empty (no settings). Give a config with sections (see configs/*.yaml), or leave --config out for the synthetic defaults.");
                tree = root as JsonObject
                    ?? throw new ConfigException($"Config file '{path}' must be a mapping of sections (dataloader:, model:, optimizer:, lr_scheduler:, criterion:, augment:, train:), not a {root.GetValueKind().ToString().ToLowerInvariant()}.");
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                throw new ConfigException($"Config file '{path}' is not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.Message}");
            }
        }
        foreach (var o in overrides ?? [])
        {
            int eq = o.IndexOf('=');
            if (eq <= 0) throw new ConfigException($"Override '{o}' must look like section.key=value (e.g. train.seed=3).");
            var keys = o[..eq].Trim().Split('.');
            JsonObject node = tree;
            foreach (var k in keys[..^1])
            {
                if (node[k] is not JsonObject child) { child = new JsonObject(); node[k] = child; }
                node = child;
            }
            node[keys[^1]] = Scalar(o[(eq + 1)..].Trim());
        }
        return Parse(tree, source);
    }

    static TrainingConfig Parse(JsonNode tree, string source)
    {
        try
        {
            return tree.Deserialize<TrainingConfig>(Json) ?? new TrainingConfig();
        }
        catch (JsonException e)
        {
            string where = string.IsNullOrEmpty(e.Path) ? "" : $" at '{e.Path.TrimStart('$', '.')}'";
            string what = e.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? "unknown key" : "value of the wrong type";
            throw new ConfigException($"Config '{source}': {what}{where}. {FirstSentence(e.Message)} Valid sections: dataloader, model, optimizer, lr_scheduler, criterion, augment, train.");
        }
    }

    static string FirstSentence(string s) { int i = s.IndexOf(". ", StringComparison.Ordinal); return i > 0 ? s[..(i + 1)] : s; }

    static JsonNode? YamlToJson(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", YamlToJson(kv.Value)))),
        YamlSequenceNode s => new JsonArray(s.Children.Select(YamlToJson).ToArray()),
        YamlScalarNode s => s.Style is YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted ? JsonValue.Create(s.Value) : Scalar(s.Value ?? ""),
        _ => null,
    };

    /// <summary>A YAML-style scalar: null, true/false, integer, float, else string.</summary>
    static JsonNode? Scalar(string v)
    {
        if (v is "" or "~" or "null" or "Null" or "NULL") return null;
        if (v.StartsWith('[') && v.EndsWith(']'))
        {
            try { return JsonNode.Parse(v); } catch (JsonException) { return JsonValue.Create(v); }
        }
        if (v is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (v is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
        return JsonValue.Create(v);
    }
}

/// <summary>A configuration error; the message names the file and key.</summary>
public sealed class ConfigException(string message) : Exception(message);
