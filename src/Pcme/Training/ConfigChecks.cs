using System.Globalization;
using Pcme.Data;
using Pcme.Modules;
using Pcme.Retrieval;

namespace Pcme.Training;

/// <summary>
/// Every value of a <see cref="TrainingConfig"/> checked before any work: names against their choices and
/// numbers against their ranges. The first problem is one <see cref="ConfigException"/> naming the key, the
/// value and what is allowed.
/// </summary>
public static class ConfigChecks
{
    /// <summary>Backbone names <c>model.cnn_type</c> accepts (plus small-N for a small CNN of width N).</summary>
    public static IReadOnlyList<string> CnnTypes => [.. ResNetGrid.Kinds, "small", "small-N"];

    /// <summary>Throws a <see cref="ConfigException"/> for the first invalid value.</summary>
    public static void Validate(TrainingConfig config)
    {
        var d = config.Dataloader; var m = config.Model; var o = config.Optimizer; var s = config.LrScheduler; var c = config.Criterion; var t = config.Train;
        AtLeast("dataloader.batch_size", d.BatchSize, 2);
        AtLeast("dataloader.eval_batch_size", d.EvalBatchSize, 1);
        Between("dataloader.crop_size", d.CropSize, ResNetGrid.Kinds.Contains(m.CnnType) ? 32 : 8, 4096);
        Probability("dataloader.random_erasing_prob", d.RandomErasingProb);
        Probability("dataloader.caption_drop_prob", d.CaptionDropProb);
        Probability("dataloader.flip_prob", d.FlipProb);
        OneOf("dataloader.positives", d.Positives, ["same_image", "relevance"]);
        OneOf("dataloader.train_transform", d.TrainTransform, ["official", "resize"]);
        OneOf("dataloader.eval_transform", d.EvalTransform, ["official", "resize"]);
        if (!(d.CropScaleMin > 0 && d.CropScaleMin <= d.CropScaleMax && d.CropScaleMax <= 1))
            Fail("dataloader.crop_scale_min / crop_scale_max", $"{F(d.CropScaleMin)} / {F(d.CropScaleMax)}", "0 < crop_scale_min <= crop_scale_max <= 1 (torchvision: 0.08 and 1)");
        OneOf("dataloader.normalize", d.Normalize, ["auto", "imagenet", "dataset", "custom", CaffeBgrMean.Name]);
        if (d.Normalize == "custom" && (d.NormalizeMean is null || d.NormalizeStd is null))
            Fail("dataloader.normalize", "custom", "custom needs dataloader.normalize_mean and dataloader.normalize_std (three values each, e.g. [0.5, 0.5, 0.5])");
        if (d.NormalizeMean is { } mean && (mean.Count != 3 || mean.Any(v => !double.IsFinite(v))))
            Fail("dataloader.normalize_mean", $"[{string.Join(", ", mean.Select(F))}]", "three finite values (R, G, B)");
        if (d.NormalizeStd is { } std && (std.Count != 3 || std.Any(v => !(v > 0) || !double.IsFinite(v))))
            Fail("dataloader.normalize_std", $"[{string.Join(", ", std.Select(F))}]", "three positive values (R, G, B)");
        if (d.FeatureCache is { Length: 0 }) Fail("dataloader.feature_cache", "''", "a folder, or null for no cache");

        if (m.EmbedDim < 2 || m.EmbedDim % 2 != 0 || m.EmbedDim > 65536)
            Fail("model.embed_dim", m.EmbedDim.ToString(CultureInfo.InvariantCulture), "an even number from 2 to 65536 (the caption bi-GRU has embed_dim / 2 units per direction)");
        if (!IsCnnType(m.CnnType)) Fail("model.cnn_type", m.CnnType, $"one of {string.Join(", ", CnnTypes)} (N = the first block's width, 1 to 1024)");
        Between("model.word_dim", m.WordDim, 1, 4096);
        OneOf("model.wemb_type", m.WembType, ["glove", "synthetic", "none"]);
        Between("model.n_samples_inference", m.NSamplesInference, 1, 1024);
        OneOf("criterion.name", c.Name, Methods.Names);
        if (m.EvalMethod is { } eval && ScorerProblem(config, eval) is { } problem) Fail("model.eval_method", $"'{eval}'", problem);
        if (m.InitLogVariance is { } h0 && !(h0 is >= -30 and <= 30)) Fail("model.init_log_variance", F(h0), "a log-variance from -30 to 30, or null for the official zero init");

        OneOf("optimizer.name", o.Name, Optimizers.Names);
        Positive("optimizer.learning_rate", o.LearningRate);
        NonNegative("optimizer.weight_decay", o.WeightDecay);
        if (!(o.Beta1 is >= 0 and < 1)) Fail("optimizer.beta1", F(o.Beta1), "0 <= beta1 < 1");
        if (!(o.Beta2 is >= 0 and < 1)) Fail("optimizer.beta2", F(o.Beta2), "0 <= beta2 < 1");
        Positive("optimizer.eps", o.Eps);
        if (!(o.Momentum is >= 0 and < 1)) Fail("optimizer.momentum", F(o.Momentum), "0 <= momentum < 1");
        Positive("optimizer.delta", o.Delta);
        NonNegative("optimizer.wd_ratio", o.WdRatio);

        OneOf("lr_scheduler.name", s.Name, ["cosine_annealing", "reduce_lr_on_plateau"]);
        NonNegative("lr_scheduler.warmup_epochs", s.WarmupEpochs);
        if (!(s.MinLrRatio is >= 0 and <= 1)) Fail("lr_scheduler.min_lr_ratio", F(s.MinLrRatio), "a fraction from 0 to 1");
        if (!(s.Factor is > 0 and < 1)) Fail("lr_scheduler.factor", F(s.Factor), "0 < factor < 1");
        AtLeast("lr_scheduler.patience", s.Patience, 0);

        var method = Methods.Get(c.Name);
        foreach (var key in Methods.SetKeys(c))
            if (!method.Keys.Contains(key))
                Fail($"criterion.{key}", "set", $"only the keys criterion.name = {c.Name} reads ({string.Join(", ", method.Keys)}); " +
                     $"{key} belongs to {string.Join(" / ", Methods.All.Where(x => x.Keys.Contains(key)).Select(x => x.Name))}");
        if (c.NumSamples is { } j) Between("criterion.num_samples", j, 1, 1024);
        if (c.InitNegativeScale is { } a) Positive("criterion.init_negative_scale", a);
        if (c.InitShift is { } b) Finite("criterion.init_shift", b);
        if (c.VibBeta is { } vib) NonNegative("criterion.vib_beta", vib);
        if (c.UniformLambda is { } u) NonNegative("criterion.uniform_lambda", u);
        if (c.SmoothnessAlpha is { } alpha) NonNegative("criterion.smoothness_alpha", alpha);
        if (c.Margin is { } margin) NonNegative("criterion.margin", margin);
        if (c.NumEmbeds is { } k) Between("criterion.num_embeds", k, 1, 64);
        if (c.DivWeight is { } div) NonNegative("criterion.div_weight", div);
        if (c.MmdWeight is { } mmd) NonNegative("criterion.mmd_weight", mmd);
        if (c.InitTau is { } tau) Positive("criterion.init_tau", tau);
        var g = config.Augment;
        if (!method.MixedSamples && (g.Mixup is > 0 || g.Cutmix is > 0))
            Fail("augment.mixup / augment.cutmix", $"{F(g.Mixup ?? 0)} / {F(g.Cutmix ?? 0)}",
                 $"0 for criterion.name = {c.Name}: mixed samples need soft match targets, which only pcme++ and pcme++-mu train on");
        if (g.Mixup is { } mix) NonNegative("augment.mixup", mix);
        if (g.Cutmix is { } cut) NonNegative("augment.cutmix", cut);
        if (g.MixupSwitchProb is { } sw) Probability("augment.mixup_switch_prob", sw);
        if (g.MixBatchRatio is { } ratio) Probability("augment.mix_batch_ratio", ratio);
        if (g.MixupSmoothing is { } sm && !(sm is >= 0 and < 0.5)) Fail("augment.mixup_smoothing", F(sm), "a label smoothing from 0 to below 0.5");

        AtLeast("train.pretrain_epochs", t.PretrainEpochs, 0);
        AtLeast("train.finetune_epochs", t.FinetuneEpochs, 0);
        if (t.PretrainEpochs + t.FinetuneEpochs < 1)
            Fail("train.pretrain_epochs + train.finetune_epochs", (t.PretrainEpochs + t.FinetuneEpochs).ToString(CultureInfo.InvariantCulture), "at least 1 epoch in all");
        Positive("train.finetune_lr_decay", t.FinetuneLrDecay);
        NonNegative("train.grad_clip", t.GradClip);
        AtLeast("train.val_epochs", t.ValEpochs, 1);
        AtLeast("train.log_step", t.LogStep, 1);
    }

    /// <summary>
    /// Why <paramref name="scorer"/> cannot validate the config's model, or null when it can: it must be a known scorer;
    /// a model without sigma heads scores with cosine or l2 (or max-cosine); PVSE with K &gt; 1 embeddings per item with max-cosine.
    /// </summary>
    public static string? ScorerProblem(TrainingConfig config, string scorer)
    {
        if (!Scorer.Names.Contains(scorer)) return $"one of {string.Join(", ", Scorer.Names)}";
        int k = Methods.EmbeddingsPerItem(config);
        if (k > 1 && scorer != "max-cosine")
            return $"max-cosine for criterion.name = {config.Criterion.Name} with {k} embeddings per item (the best of the K^2 cosines, PVSE Eq. 5)";
        if (scorer == "mc" && Methods.Get(config.Criterion.Name).Family != "pcme")
            return $"a scorer other than mc for criterion.name = {config.Criterion.Name} (mc is PCME's Monte-Carlo match probability; PCME++'s match logit is -a CSD + b: csd)";
        if (!Methods.IsProbabilistic(config) && scorer is not ("cosine" or "l2" or "max-cosine"))
            return $"cosine or l2 for a model without sigma heads (criterion.name = {config.Criterion.Name}{(config.Model.Probabilistic ? "" : ", model.probabilistic = false")})";
        return null;
    }

    /// <summary>Whether <paramref name="cnnType"/> names a backbone the kit builds (resnet18/50/152, small, small-N).</summary>
    public static bool IsCnnType(string cnnType) =>
        ResNetGrid.Kinds.Contains(cnnType) || cnnType == "small"
        || (cnnType.StartsWith("small-", StringComparison.Ordinal) && int.TryParse(cnnType[6..], NumberStyles.None, CultureInfo.InvariantCulture, out int w) && w is >= 1 and <= 1024);

    static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    static void Fail(string key, string value, string allowed) => throw new ConfigException($"{key} = {value} is not allowed: use {allowed}.");

    static void OneOf(string key, string value, IReadOnlyList<string> choices)
    {
        if (!choices.Contains(value)) Fail(key, $"'{value}'", $"one of {string.Join(", ", choices)}");
    }

    static void AtLeast(string key, int value, int min)
    {
        if (value < min) Fail(key, value.ToString(CultureInfo.InvariantCulture), $"an integer >= {min}");
    }

    static void Between(string key, int value, int min, int max)
    {
        if (value < min || value > max) Fail(key, value.ToString(CultureInfo.InvariantCulture), $"an integer from {min} to {max}");
    }

    static void Probability(string key, double value)
    {
        if (!(value is >= 0 and <= 1)) Fail(key, F(value), "a probability from 0 to 1");
    }

    static void Positive(string key, double value)
    {
        if (!(value > 0) || !double.IsFinite(value)) Fail(key, F(value), "a finite number > 0");
    }

    static void NonNegative(string key, double value)
    {
        if (!(value >= 0) || !double.IsFinite(value)) Fail(key, F(value), "a finite number >= 0");
    }

    static void Finite(string key, double value)
    {
        if (!double.IsFinite(value)) Fail(key, F(value), "a finite number");
    }
}
