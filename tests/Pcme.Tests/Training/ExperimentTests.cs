using System.Text.Json.Nodes;
using Pcme.Data;
using Pcme.Modules;
using Pcme.Tests.Data;
using Pcme.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Tests.Training;

/// <summary>The experiment builder: every config key changes what runs, bad values are refused before any work.</summary>
[Collection("torch-global")]
public class ExperimentTests
{
    static TrainingConfig Tiny(params string[] overrides) => TrainingConfig.Synthetic.WithOverrides(
    [
        "model.embed_dim=8", "model.word_dim=8", "model.cnn_type=small-4", "dataloader.batch_size=16", "train.pretrain_epochs=1",
        "train.val_epochs=1", "criterion.num_samples=2", "model.n_samples_inference=2", "train.device=cpu",
        .. overrides,
    ]);

    static readonly SyntheticOptions Data = new() { Seed = 1, ImageCount = 60 };
    static ExperimentData Sets() => new(new SyntheticDataset(Data, SyntheticSplit.Train), new SyntheticDataset(Data, SyntheticSplit.Validation));

    static string TempDir() => Path.Combine(Path.GetTempPath(), $"pcme-exp-{Guid.NewGuid():N}");

    static float[] Weights(PcmeModel m) => m.img_enc.fc.weight.detach().flatten().data<float>().ToArray();

    [Fact]
    public void Optimizer_name_changes_the_update_and_its_saved_state()
    {
        string a = TempDir(), b = TempDir();
        try
        {
            var adamw = Experiment.Create(Tiny(), Sets());
            var adamp = Experiment.Create(Tiny("optimizer.name=adamp"), Sets());
            Assert.IsType<TorchOptimizer>(adamw.Optimizer);
            Assert.IsType<AdamP>(adamp.Optimizer);
            Assert.Equal(Weights(adamw.Model), Weights(adamp.Model));            // same seed: same start
            var ra = adamw.Train(a); var rp = adamp.Train(b);
            Assert.NotEqual(Weights(ra.Model), Weights(rp.Model));
            Assert.True(File.Exists(Path.Combine(a, "checkpoints", "last", "optimizer.pt")));
            Assert.True(File.Exists(Path.Combine(b, "checkpoints", "last", "optimizer.safetensors")));
            var sgd = Experiment.Create(Tiny("optimizer.name=sgd", "optimizer.momentum=0.5"), Sets());
            Assert.Equal("sgd", sgd.Optimizer.Name);
        }
        finally { foreach (var d in new[] { a, b }) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    [Fact]
    public void Eval_method_picks_the_validation_scorer()
    {
        string a = TempDir(), b = TempDir();
        try
        {
            var cos = Experiment.Create(Tiny("model.eval_method=cosine"), Sets()).Train(a);
            var mc = Experiment.Create(Tiny("model.eval_method=mc"), Sets()).Train(b);
            string Scorer(TrainedModel m) => (string)JsonNode.Parse(m.Result.History.Last(h => h.Validation is not null).ValidationDetails!)!["scorer"]!;
            Assert.Equal("cosine", Scorer(cos));
            Assert.Equal("mc", Scorer(mc));
            // Same weights (validation only reads them), different numbers: the scorer really changed.
            Assert.Equal(Weights(cos.Model), Weights(mc.Model));
            Assert.NotEqual(cos.Result.History[^1].ValidationDetails, mc.Result.History[^1].ValidationDetails);
        }
        finally { foreach (var d in new[] { a, b }) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    [Fact]
    public void Feature_cache_is_built_once_then_reused_and_feeds_the_frozen_stage()
    {
        string cache = TempDir(), run = TempDir();
        try
        {
            var c = Tiny($"dataloader.feature_cache={cache}", "model.img_finetune=false", "train.finetune_epochs=1");
            var first = Experiment.Create(c, Sets());
            Assert.NotNull(first.FeatureCache);
            Assert.Contains(first.Notes, n => n.Contains("built"));
            var files = Directory.GetFiles(cache);
            Assert.Equal(2, files.Length);                                           // NAME.bin + NAME.json
            var grids = first.FeatureCache!.ReadIds([Sets().Train.Images[0].Id]);
            using (no_grad())
            {
                first.Model.img_enc.cnn.eval();
                var direct = first.Model.img_enc.cnn.forward(first.EvalPipeline.LoadBatch(Sets().Train, [0], new Random(0)));
                Assert.True(grids.allclose(direct, rtol: 1e-2, atol: 1e-2));          // float16 storage
            }
            var result = first.Train(run);
            Assert.Equal(["pretrain", "finetune"], result.Result.History.Select(h => h.Stage));
            var second = Experiment.Create(c, Sets());
            Assert.Contains(second.Notes, n => n.Contains("reused"));
            Assert.Equal(files.Order(), Directory.GetFiles(cache).Order());
            // A fine-tuned backbone cannot use a cache: refused, not ignored.
            var e = Assert.Throws<ConfigException>(() => Experiment.Create(Tiny($"dataloader.feature_cache={cache}", "model.img_finetune=true"), Sets()));
            Assert.Contains("dataloader.feature_cache", e.Message);
            first.FeatureCache.Dispose(); second.FeatureCache!.Dispose();
        }
        finally { foreach (var d in new[] { cache, run }) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    [Fact]
    public void Image_pipeline_keys_build_the_pipelines_they_name()
    {
        var official = Experiment.Pipelines(Tiny("dataloader.train_transform=official", "dataloader.eval_transform=official", "dataloader.crop_size=56",
            "dataloader.crop_scale_min=0.3", "dataloader.crop_scale_max=0.9", "dataloader.flip_prob=0.25", "dataloader.normalize=imagenet", "dataloader.random_erasing_prob=0.2"));
        var crop = Assert.IsType<RandomResizedCrop>(official.Train.Steps[0]);
        Assert.Equal((0.3, 0.9), crop.Scale);
        Assert.Equal(56, crop.Height);
        Assert.Equal(0.25, Assert.IsType<RandomHorizontalFlip>(official.Train.Steps[1]).Probability);
        Assert.Same(Normalize.ImageNet, official.Train.Steps[2]);
        Assert.IsType<RandomErasing>(official.Train.Steps[3]);
        Assert.Equal(56 * 256 / 224, Assert.IsType<ResizeShorterSide>(official.Eval.Steps[0]).Size);
        Assert.IsType<CenterCrop>(official.Eval.Steps[1]);

        var resize = Experiment.Pipelines(Tiny("dataloader.train_transform=resize", "dataloader.eval_transform=resize", "dataloader.crop_size=40"));
        Assert.Equal([typeof(ResizeTo), typeof(Normalize)], resize.Train.Steps.Select(s => s.GetType()));
        Assert.Equal(new ResizeTo(40, 40), resize.Eval.Steps[0]);
        // resize keeps the whole picture: a 60 x 30 image's left and right borders survive (the official crop cuts them).
        var image = new RgbImage(60, 30, Enumerable.Range(0, 60 * 30).SelectMany(i => i % 60 < 5 ? new byte[] { 255, 255, 255 } : new byte[] { 0, 0, 0 }).ToArray());
        using var kept = resize.Eval.Apply(image, 0);
        using var cut = Experiment.Pipelines(Tiny("dataloader.eval_transform=official", "dataloader.crop_size=40")).Eval.Apply(image, 0);
        Assert.True(kept[0, .., 0].mean().item<float>() > cut[0, .., 0].mean().item<float>() + 0.5);
    }

    [Fact]
    public void Normalize_dataset_measures_the_training_images_and_the_checkpoint_keeps_the_values()
    {
        string run = TempDir();
        try
        {
            var sets = Sets();
            var exp = Experiment.Create(Tiny("dataloader.normalize=dataset", "dataloader.normalize_mean=null", "dataloader.normalize_std=null"), sets);
            // Naive: every pixel of every training image (64 x 64 scenes, eval geometry = identity), per channel.
            var sum = new double[3]; var sq = new double[3]; long n = 0;
            for (int i = 0; i < sets.Train.Images.Count; i++)
            {
                var img = sets.Train.LoadImage(i);
                for (int p = 0; p < img.Width * img.Height; p++)
                    for (int ch = 0; ch < 3; ch++) { double v = img.Pixels[p * 3 + ch] / 255.0; sum[ch] += v; sq[ch] += v * v; }
                n += img.Width * img.Height;
            }
            for (int ch = 0; ch < 3; ch++)
            {
                double mean = sum[ch] / n;
                Assert.Equal(mean, exp.Config.Dataloader.NormalizeMean![ch], 6);   // pixels are float32 x / 255 before the double sums
                Assert.Equal(Math.Sqrt(sq[ch] / n - mean * mean), exp.Config.Dataloader.NormalizeStd![ch], 6);
            }
            var norm = Assert.IsType<Normalize>(exp.EvalPipeline.Steps[^1]);
            Assert.Equal(exp.Config.Dataloader.NormalizeMean, norm.Mean);
            exp.Train(run);
            var loaded = Experiment.Load(Path.Combine(run, "checkpoints", "best"), CPU);
            Assert.Equal(exp.Config.Dataloader.NormalizeMean, Assert.IsType<Normalize>(loaded.EvalPipeline.Steps[^1]).Mean);
            Assert.Equal(exp.Config.Dataloader.NormalizeStd, Assert.IsType<Normalize>(loaded.EvalPipeline.Steps[^1]).Std);
        }
        finally { if (Directory.Exists(run)) Directory.Delete(run, true); }
    }

    [Fact]
    public void Training_with_a_relevance_file_uses_its_pairs_as_positives()
    {
        using var folder = new TempFolder();
        var ds = ListDataset.WithCounts([1, 1, 1, 1]);
        var image = new RgbImage(8, 8, new byte[8 * 8 * 3]);
        var data = new ListDataset(ds.Images, ds.Captions, null, _ => image);
        // Caption c0 is relevant to images i0 and i2; the others to their own image only.
        string file = folder.Write("relevance.json", """{"c0": ["i0", "i2"], "c1": ["i1"], "c2": ["i2"], "c3": ["i3"]}""");
        var withFile = data.WithRelevanceFile(file);
        var exp = Experiment.Create(Tiny("dataloader.positives=relevance", "dataloader.batch_size=4", "dataloader.crop_size=8"), new ExperimentData(withFile));
        var batch = exp.TrainingData.Load([0, 1, 2, 3], 0, 0, 0, CPU);
        var match = batch.Match.to(ScalarType.Int32).data<int>().ToArray();
        // Rows are images, columns captions: image i2 matches captions c0 and c2.
        Assert.Equal(new[] { 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1 }, match);
        var own = Experiment.Create(Tiny("dataloader.positives=same_image", "dataloader.batch_size=4", "dataloader.crop_size=8"), new ExperimentData(withFile));
        Assert.Equal(new[] { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 }, own.TrainingData.Load([0, 1, 2, 3], 0, 0, 0, CPU).Match.to(ScalarType.Int32).data<int>().ToArray());
    }

    public static TheoryData<string, string> BadValues => new()
    {
        { "train.pretrain_epochs=-1", "train.pretrain_epochs" },
        { "train.pretrain_epochs=0", "train.pretrain_epochs + train.finetune_epochs" },
        { "dataloader.batch_size=1", "dataloader.batch_size" },
        { "model.embed_dim=7", "model.embed_dim" },
        { "criterion.num_samples=0", "criterion.num_samples" },
        { "model.n_samples_inference=0", "model.n_samples_inference" },
        { "optimizer.learning_rate=0", "optimizer.learning_rate" },
        { "optimizer.learning_rate=-1e-3", "optimizer.learning_rate" },
        { "model.cnn_type=resnet34", "small-N" },
        { "model.cnn_type=small-0", "model.cnn_type" },
        { "dataloader.crop_size=0", "dataloader.crop_size" },
        { "dataloader.flip_prob=1.5", "dataloader.flip_prob" },
        { "dataloader.crop_scale_min=0", "crop_scale_min" },
        { "dataloader.normalize=imagenette", "imagenet, dataset, custom" },
        { "dataloader.train_transform=random", "dataloader.train_transform" },
        { "optimizer.name=adamq", "adamp, adamw, adam, sgd" },
        { "lr_scheduler.name=step", "cosine_annealing, reduce_lr_on_plateau" },
        { "criterion.name=vse++", "criterion.name" },
        { "model.eval_method=cosin", "model.eval_method" },
        { "train.val_epochs=0", "train.val_epochs" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Bad_values_are_refused_before_any_work_naming_the_key(string setting, string named)
    {
        var e = Assert.Throws<ConfigException>(() => Experiment.Create(Tiny(setting), Sets()));
        Assert.Contains(named, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void A_mu_only_model_with_a_probabilistic_validation_scorer_is_refused()
    {
        var e = Assert.Throws<ConfigException>(() => Experiment.Create(Tiny("model.probabilistic=false", "model.eval_method=mc"), Sets()));
        Assert.Contains("model.eval_method", e.Message);
    }

    [Fact]
    public void The_shipped_configs_pass_the_checks()
    {
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs"), "*.yaml"))
            ConfigChecks.Validate(TrainingConfig.Load(f));
    }
}
