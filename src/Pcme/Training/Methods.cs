using Pcme.Losses;

namespace Pcme.Training;

/// <summary>
/// A training method <c>criterion.name</c> selects: its objective, whether the model has sigma heads, how many
/// embeddings per item it has, its natural test-time scorers and the criterion keys it reads.
/// </summary>
/// <param name="Name">criterion.name.</param>
/// <param name="Description">One line: the paper and the objective.</param>
/// <param name="Probabilistic">Whether the model has log-variance heads.</param>
/// <param name="MuOnlyTwin">The deterministic twin (same objective, sigma switched off) of a probabilistic method, else null.</param>
/// <param name="Keys">The criterion.* keys this method reads (others set in a config are refused).</param>
/// <param name="MixedSamples">Whether it trains with PCME++'s mixed-sample augmentation by default (augment.* keys).</param>
public sealed record MethodSpec(string Name, string Description, bool Probabilistic, string? MuOnlyTwin, IReadOnlyList<string> Keys, bool MixedSamples)
{
    /// <summary>The family: pcme and soft-contrastive share one, pcme++ and pcme++-mu another; the criterion keys of one
    /// family mean nothing to another (PCME's a, b are in the kit's doubled convention, PCME++'s are the official ones).</summary>
    public string Family => Name switch { "soft-contrastive" => "pcme", "pcme++-mu" => "pcme++", _ => Name };

    /// <summary>
    /// The scorer that validates and selects the best checkpoint when model.eval_method is not set: the official
    /// code's (PCME: matmul, PCME++: csd, deterministic methods: cosine; PVSE with K &gt; 1: max-cosine, the best of K^2).
    /// </summary>
    public string DefaultValidationScorer(int embeddingsPerItem) => Name switch
    {
        "pcme" => "matmul",
        "pcme++" => "csd",
        "pvse" when embeddingsPerItem > 1 => "max-cosine",
        _ => "cosine",
    };
}

/// <summary>The methods the kit trains (<c>criterion.name</c>), with the defaults of each official code.</summary>
public static class Methods
{
    /// <summary>Every method, in the order reports list them.</summary>
    public static readonly IReadOnlyList<MethodSpec> All =
    [
        new("pcme", "PCME (Chun et al., CVPR 2021): sampled soft contrastive NLL + KL + uniformity", true, "soft-contrastive",
            ["init_negative_scale", "init_shift", "num_samples", "vib_beta", "uniform_lambda"], false),
        new("soft-contrastive", "PCME's mu-only twin: the soft contrastive NLL on the means (no sigma heads)", false, null,
            ["init_negative_scale", "init_shift", "uniform_lambda"], false),
        new("pcme++", "PCME++ (Chun, ICLR 2024): closed-form sampled distance + BCE, pseudo-positives, VIB, mixed samples", true, "pcme++-mu",
            ["init_negative_scale", "init_shift", "vib_beta", "smoothness_alpha"], true),
        new("pcme++-mu", "PCME++'s mu-only twin: the same objective and augmentation on the means (no sigma heads)", false, null,
            ["init_negative_scale", "init_shift", "smoothness_alpha"], true),
        new("vse++", "VSE++ (Faghri et al., BMVC 2018): hinge triplet loss, hardest negative", false, null,
            ["margin", "max_violation"], false),
        new("pvse", "PVSE (Song & Soleymani, CVPR 2019): K embeddings per item, MIL over K^2, diversity + MMD", false, null,
            ["margin", "max_violation", "num_embeds", "div_weight", "mmd_weight"], false),
        new("infonce", "InfoNCE (CLIP-style, multi-positive): softmax over the batch with a learnable logit scale", false, null,
            ["init_tau"], false),
    ];

    /// <summary>Every criterion.name.</summary>
    public static IReadOnlyList<string> Names => [.. All.Select(m => m.Name)];

    /// <summary>The method called <paramref name="name"/>; a <see cref="ConfigException"/> naming the choices otherwise.</summary>
    public static MethodSpec Get(string name) => All.FirstOrDefault(m => m.Name == name)
        ?? throw new ConfigException($"criterion.name = '{name}' is not allowed: use one of {string.Join(", ", Names)}.");

    /// <summary>Embeddings per item the config's method gives each item (PVSE: criterion.num_embeds, official COCO 2; others 1).</summary>
    public static int EmbeddingsPerItem(TrainingConfig config) =>
        config.Criterion.Name == "pvse" ? config.Criterion.NumEmbeds ?? 2 : 1;

    /// <summary>Whether the config's model has sigma heads: the method's and model.probabilistic (false keeps PCME's legacy mu-only twin).</summary>
    public static bool IsProbabilistic(TrainingConfig config) => Get(config.Criterion.Name).Probabilistic && config.Model.Probabilistic;

    /// <summary>The validation scorer: model.eval_method, or the method's default when it is not set.</summary>
    public static string ValidationScorer(TrainingConfig config) =>
        config.Model.EvalMethod ?? Get(config.Criterion.Name).DefaultValidationScorer(EmbeddingsPerItem(config));

    /// <summary>
    /// The config with another method: criterion.name replaced; the criterion keys are kept when both methods are of one
    /// family (PCME and its twin share a, b) and reset to the new method's official defaults otherwise; the augment
    /// section and model.eval_method likewise (and eval_method only where the new method can score with it).
    /// </summary>
    public static TrainingConfig WithMethod(TrainingConfig config, string method)
    {
        var from = Get(config.Criterion.Name); var to = Get(method);
        var criterion = from.Family == to.Family ? config.Criterion with { Name = method } : new CriterionConfig { Name = method };
        // Keys the new method does not read (PCME's num_samples for its twin) are dropped rather than refused.
        criterion = DropUnread(criterion, to);
        var augment = from.Family == to.Family ? config.Augment : new AugmentConfig();
        var next = config with { Criterion = criterion, Augment = augment, Model = config.Model with { Probabilistic = true } };
        // A validation scorer chosen for one family (the synthetic config's cosine for PCME) is that family's choice:
        // another family validates with its own official scorer (PCME++: csd), as its code does.
        string? eval = from.Family == to.Family ? config.Model.EvalMethod : null;
        if (eval is not null && ConfigChecks.ScorerProblem(next, eval) is not null) eval = null;
        return next with { Model = next.Model with { EvalMethod = eval } };
    }

    /// <summary>
    /// Applies command-line overrides (<c>section.key=value</c>) so that switching the method works from any config:
    /// a <c>criterion.name</c> override first switches the method (<see cref="WithMethod"/>: another family's criterion
    /// keys are reset to the new method's defaults), then the other overrides apply on top.
    /// </summary>
    public static TrainingConfig WithOverrides(TrainingConfig config, IReadOnlyList<string> overrides)
    {
        var names = overrides.Where(o => o.Trim().StartsWith("criterion.name=", StringComparison.Ordinal)).ToArray();
        if (names.Length > 0)
        {
            string name = names[^1].Trim()["criterion.name=".Length..].Trim();
            Get(name);   // an unknown name is one line naming the choices
            config = WithMethod(config, name);
        }
        var rest = overrides.Except(names).ToArray();
        return rest.Length > 0 ? config.WithOverrides(rest) : config;
    }

    static CriterionConfig DropUnread(CriterionConfig c, MethodSpec m)
    {
        bool R(string key) => m.Keys.Contains(key);
        return c with
        {
            InitNegativeScale = R("init_negative_scale") ? c.InitNegativeScale : null, InitShift = R("init_shift") ? c.InitShift : null,
            NumSamples = R("num_samples") ? c.NumSamples : null, VibBeta = R("vib_beta") ? c.VibBeta : null,
            UniformLambda = R("uniform_lambda") ? c.UniformLambda : null, SmoothnessAlpha = R("smoothness_alpha") ? c.SmoothnessAlpha : null,
            Margin = R("margin") ? c.Margin : null, MaxViolation = R("max_violation") ? c.MaxViolation : null,
            NumEmbeds = R("num_embeds") ? c.NumEmbeds : null, DivWeight = R("div_weight") ? c.DivWeight : null,
            MmdWeight = R("mmd_weight") ? c.MmdWeight : null, InitTau = R("init_tau") ? c.InitTau : null,
        };
    }

    /// <summary>The criterion keys set in <paramref name="c"/> (non-null), by their config names.</summary>
    public static IEnumerable<string> SetKeys(CriterionConfig c)
    {
        if (c.InitNegativeScale is not null) yield return "init_negative_scale";
        if (c.InitShift is not null) yield return "init_shift";
        if (c.NumSamples is not null) yield return "num_samples";
        if (c.VibBeta is not null) yield return "vib_beta";
        if (c.UniformLambda is not null) yield return "uniform_lambda";
        if (c.SmoothnessAlpha is not null) yield return "smoothness_alpha";
        if (c.Margin is not null) yield return "margin";
        if (c.MaxViolation is not null) yield return "max_violation";
        if (c.NumEmbeds is not null) yield return "num_embeds";
        if (c.DivWeight is not null) yield return "div_weight";
        if (c.MmdWeight is not null) yield return "mmd_weight";
        if (c.InitTau is not null) yield return "init_tau";
    }

    /// <summary>
    /// PCME++'s mixed-sample augmentation as the config sets it (augment.*; unset keys: the official
    /// configs/pcmepp.yaml values), or null when the method does not use it or both alphas are 0.
    /// </summary>
    public static Pcme.Data.MixedSampleAugmentation? CreateMixer(TrainingConfig config)
    {
        if (!Get(config.Criterion.Name).MixedSamples) return null;
        var a = config.Augment;
        var o = new Pcme.Data.MixedSampleAugmentationOptions();
        o = o with
        {
            MixupAlpha = a.Mixup ?? o.MixupAlpha, CutmixAlpha = a.Cutmix ?? o.CutmixAlpha, SwitchProbability = a.MixupSwitchProb ?? o.SwitchProbability,
            MixRatio = a.MixBatchRatio ?? o.MixRatio, LabelSmoothing = a.MixupSmoothing ?? o.LabelSmoothing,
        };
        return o.MixupAlpha > 0 || o.CutmixAlpha > 0 ? new Pcme.Data.MixedSampleAugmentation(o) : null;
    }

    /// <summary>
    /// The objective a config names, with each key's official default where the config leaves it unset
    /// (PCME: naver-ai/pcme CUB config in the kit's doubled convention; PCME++: naver-ai/pcmepp configs/pcmepp.yaml;
    /// VSE++: fartashf/vsepp; PVSE: yalesong/pvse's COCO command; InfoNCE: naver-ai/pcmepp configs/others/info_nce.yaml).
    /// </summary>
    public static RetrievalObjective CreateObjective(TrainingConfig config)
    {
        var c = config.Criterion;
        bool sigma = IsProbabilistic(config);
        return c.Name switch
        {
            "pcme" or "soft-contrastive" => new SoftContrastiveLoss(new PcmeLossOptions
            {
                Samples = c.NumSamples ?? 7, InitNegativeScale = c.InitNegativeScale ?? 10, InitShift = c.InitShift ?? 10,
                KlWeight = sigma ? c.VibBeta ?? 1e-3 : 0, UniformityWeight = c.UniformLambda ?? 10, UseVariance = sigma,
            }),
            "pcme++" or "pcme++-mu" => new ClosedFormSampledDistanceLoss(new PcmeppLossOptions
            {
                InitNegativeScale = c.InitNegativeScale ?? 5, InitShift = c.InitShift ?? 5,
                KlWeight = sigma ? c.VibBeta ?? 1e-4 : 0, PseudoPositiveWeight = c.SmoothnessAlpha ?? 0.1,
            }),
            "vse++" => new TripletLoss(new TripletLossOptions
            {
                Margin = c.Margin ?? 0.2, Reduction = c.MaxViolation ?? true ? TripletReduction.HardestNegative : TripletReduction.Sum,
            }),
            // PVSE's code switches both regularisers off for K = 1 (they act on K > 1 embeddings).
            "pvse" => new PvseLoss(new PvseLossOptions
            {
                Margin = c.Margin ?? 0.1, Reduction = c.MaxViolation ?? true ? TripletReduction.HardestNegative : TripletReduction.Sum,
                DiversityWeight = EmbeddingsPerItem(config) > 1 ? c.DivWeight ?? 0.1 : 0, MmdWeight = EmbeddingsPerItem(config) > 1 ? c.MmdWeight ?? 0.01 : 0,
            }),
            // PCME++'s InfoNCE multiplies the cosines by a learned tau initialised to 1; the kit learns log(scale) (CLIP's form).
            "infonce" => new InfoNceLoss(new InfoNceLossOptions { InitTemperature = 1 / (c.InitTau ?? 1) }),
            _ => throw new ConfigException($"criterion.name = '{c.Name}' is not allowed: use one of {string.Join(", ", Names)}."),
        };
    }
}
