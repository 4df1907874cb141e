using Pcme.Losses;
using Pcme.Modules;
using Pcme.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Tests.Training;

[Collection("torch-global")]
public class MethodsTests
{
    static readonly string[] Keys = [
        "dataloader.batch_size=8", "model.embed_dim=8", "model.word_dim=6", "model.cnn_type=small", "model.txt_finetune=true", "model.img_finetune=true",
        "train.pretrain_epochs=4", "train.finetune_epochs=0", "train.seed=5", "optimizer.learning_rate=0.003", "lr_scheduler.warmup_epochs=0", "train.val_epochs=1"];

    static TrainingConfig Config(string method, params string[] more) => TrainingConfig.Load(null, [.. Keys, $"criterion.name={method}", .. more]);

    static (Trainer Trainer, PcmeModel Model, RetrievalObjective Loss, ArchitectureInfo Arch) Build(TrainingConfig c)
    {
        manual_seed(c.Train.Seed);
        var (arch, model) = Experiment.CreateModel(c, 12);
        var loss = Experiment.CreateCriterion(c);
        return (new Trainer(model, loss, c, CPU, arch, "{\"words\":[]}"), model, loss, arch);
    }

    static ValidationResult Validate(PcmeModel m, RetrievalObjective l) => new(-m.img_enc.fc.weight.abs().mean().item<float>(), "{}");

    static string TempDir() => Path.Combine(Path.GetTempPath(), $"pcme-methods-{Guid.NewGuid():N}");

    public static TheoryData<string> Every => [.. Methods.Names];

    [Theory]
    [MemberData(nameof(Every))]
    public void Each_method_trains_about_twenty_steps_with_its_loss_falling(string method)
    {
        string dir = TempDir();
        try
        {
            var (trainer, model, _, arch) = Build(Config(method));
            var result = trainer.Fit(new ToyData(), Validate, dir);   // 4 epochs x 6 steps
            Assert.Equal(4, result.EpochsCompleted);
            Assert.True(result.History[^1].Loss < result.History[0].Loss, $"{method}: loss {string.Join(", ", result.History.Select(h => h.Loss))}");
            // The model matches the method: sigma heads only for the probabilistic ones, K heads for PVSE.
            Assert.Equal(Methods.Get(method).Probabilistic, model.img_enc.uncertain_net is not null);
            Assert.Equal(Methods.Get(method).Probabilistic, model.txt_enc.uncertain_net is not null);
            Assert.Equal(method == "pvse" ? 2 : 1, model.img_enc.pie_net.Embeddings);
            var state = Checkpoint.ReadState(Path.Combine(dir, "checkpoints", "last"));
            Assert.Equal(method, state.Architecture.Method);
            Assert.Equal(arch, state.Architecture);
            // a and b are reported for methods with a match logit, InfoNCE's scale for InfoNCE.
            Assert.Equal(Methods.Get(method).Family is "pcme" or "pcme++", result.History[0].NegativeScale is not null);
            Assert.Equal(method == "infonce", result.History[0].Scalars?.ContainsKey("logit_scale") == true);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Theory]
    [MemberData(nameof(Every))]
    public void Each_method_resumes_bit_for_bit_and_reloads_its_weights(string method)
    {
        string a = TempDir(), b = TempDir();
        try
        {
            var c = Config(method, "train.pretrain_epochs=2");
            var (t1, m1, l1, arch) = Build(c);
            var full = t1.Fit(new ToyData(), Validate, a);
            var (t2, _, _, _) = Build(c);
            t2.Fit(new ToyData(), Validate, b, stopAfterEpoch: 0);
            var (t3, m3, l3, _) = Build(c);
            var resumed = t3.Fit(new ToyData(), Validate, b, resume: true);
            Assert.Equal(full.History.Select(h => h.Loss), resumed.History.Select(h => h.Loss));
            foreach (var (k, v) in m1.state_dict())
                Assert.True(v.eq(m3.state_dict()[k]).all().item<bool>(), $"{method}: {k} differs after resume");
            foreach (var (k, v) in l1.state_dict())
                Assert.True(v.eq(l3.state_dict()[k]).all().item<bool>(), $"{method}: criterion {k} differs after resume");
            // Reload into a fresh model: the same weights, and a checkpoint of another method is refused with one line.
            var (_, m4, l4, _) = Build(c);
            Checkpoint.Load(Path.Combine(a, "checkpoints", "last"), m4, l4, null, arch);
            foreach (var (k, v) in m1.state_dict()) Assert.True(v.eq(m4.state_dict()[k]).all().item<bool>(), k);
            string other = method == "vse++" ? "infonce" : "vse++";
            var (_, m5, l5, arch5) = Build(Config(other));
            var e = Assert.Throws<ConfigException>(() => Checkpoint.Load(Path.Combine(a, "checkpoints", "last"), m5, l5, null, arch5));
            Assert.Contains(method, e.Message);
        }
        finally { foreach (var d in new[] { a, b }) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    [Fact]
    public void Pcme_plus_plus_trains_on_mixed_samples_unless_switched_off()
    {
        string a = TempDir(), b = TempDir();
        try
        {
            Assert.NotNull(Methods.CreateMixer(Config("pcme++")));
            Assert.NotNull(Methods.CreateMixer(Config("pcme++-mu")));       // the twin differs only in sigma
            Assert.Null(Methods.CreateMixer(Config("pcme++", "augment.mixup=0", "augment.cutmix=0")));
            Assert.Null(Methods.CreateMixer(Config("pcme")));
            var (t1, _, _, _) = Build(Config("pcme++", "train.pretrain_epochs=1"));
            var mixed = t1.Fit(new ToyData(), Validate, a);
            var (t2, _, _, _) = Build(Config("pcme++", "train.pretrain_epochs=1", "augment.mixup=0", "augment.cutmix=0"));
            var plain = t2.Fit(new ToyData(), Validate, b);
            Assert.NotEqual(plain.History[0].Loss, mixed.History[0].Loss);   // same weights and batches: only the mixing differs
            // Mixed samples need an objective that takes soft targets, and pixels, not cached grids.
            var e = Assert.Throws<ConfigException>(() => ConfigChecks.Validate(TrainingConfig.Load(null, [.. Keys, "criterion.name=vse++", "augment.cutmix=1"])));
            Assert.Contains("augment.mixup / augment.cutmix", e.Message);
        }
        finally { foreach (var d in new[] { a, b }) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    [Fact]
    public void Unset_keys_take_each_official_code_s_defaults()
    {
        var pcme = (SoftContrastiveLoss)Experiment.CreateCriterion(Config("pcme"));
        Assert.Equal(10, pcme.negative_scale.item<float>());   // official CUB 5, doubled
        Assert.Equal(1e-3, pcme.Options.KlWeight);
        var pp = (ClosedFormSampledDistanceLoss)Experiment.CreateCriterion(Config("pcme++"));
        Assert.Equal(5, pp.negative_scale.item<float>());       // naver-ai/pcmepp configs/pcmepp.yaml
        Assert.Equal(5, pp.shift.item<float>());
        Assert.Equal(1e-4, pp.Options.KlWeight);
        Assert.Equal(0.1, pp.Options.PseudoPositiveWeight);
        var mu = (ClosedFormSampledDistanceLoss)Experiment.CreateCriterion(Config("pcme++-mu"));
        Assert.Equal(0, mu.Options.KlWeight);                   // no sigma, no KL
        var vse = (TripletLoss)Experiment.CreateCriterion(Config("vse++"));
        Assert.Equal(0.2, vse.Options.Margin);
        Assert.Equal(TripletReduction.HardestNegative, vse.Options.Reduction);
        var pvse = (PvseLoss)Experiment.CreateCriterion(Config("pvse"));
        Assert.Equal(0.1, pvse.Options.Margin);
        Assert.Equal(0.1, pvse.Options.DiversityWeight);
        Assert.Equal(0.01, pvse.Options.MmdWeight);
        Assert.Equal(2, Methods.EmbeddingsPerItem(Config("pvse")));
        var k1 = (PvseLoss)Experiment.CreateCriterion(Config("pvse", "criterion.num_embeds=1"));
        Assert.Equal(0, k1.Options.DiversityWeight);             // PVSE's code: no regularisers for K = 1
        var nce = (InfoNceLoss)Experiment.CreateCriterion(Config("infonce"));
        Assert.Equal(1, nce.Scale().item<float>(), 5);           // PCME++'s InfoNCE: tau (a scale) initialised to 1
        // Validation scorers: the official ones unless model.eval_method says otherwise.
        Assert.Equal("matmul", Methods.ValidationScorer(Config("pcme")));
        Assert.Equal("csd", Methods.ValidationScorer(Config("pcme++")));
        Assert.Equal("cosine", Methods.ValidationScorer(Config("vse++")));
        Assert.Equal("max-cosine", Methods.ValidationScorer(Config("pvse")));
    }

    [Theory]
    [InlineData("criterion.name=pcme", "criterion.margin=0.3", "criterion.margin")]
    [InlineData("criterion.name=vse++", "criterion.num_samples=3", "criterion.num_samples")]
    [InlineData("criterion.name=infonce", "augment.mixup=2", "augment.mixup")]
    [InlineData("criterion.name=vse++", "model.eval_method=mc", "model.eval_method")]
    [InlineData("criterion.name=pvse", "model.eval_method=cosine", "max-cosine")]
    [InlineData("criterion.name=pcme++", "model.eval_method=mc", "csd")]
    [InlineData("criterion.name=pcme+", "train.seed=0", "criterion.name")]
    public void Keys_a_method_does_not_read_are_refused_naming_the_key(string name, string key, string named)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigChecks.Validate(TrainingConfig.Load(null, [.. Keys, name, key])));
        Assert.Contains(named, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Switching_method_keeps_a_family_s_keys_and_resets_another_s()
    {
        var pcme = TrainingConfig.Load(null, [.. Keys, "criterion.init_shift=7", "criterion.num_samples=3", "model.eval_method=mc"]);
        var twin = Methods.WithMethod(pcme, "soft-contrastive");
        Assert.Equal(7, twin.Criterion.InitShift);            // same family: PCME's a, b carry over
        Assert.Null(twin.Criterion.NumSamples);                // a key the twin does not read is dropped
        Assert.Null(twin.Model.EvalMethod);                    // mc needs sigma: back to the twin's own scorer
        var pp = Methods.WithMethod(pcme, "pcme++");
        Assert.Null(pp.Criterion.InitShift);                   // PCME's doubled-convention b means nothing to PCME++
        Assert.Null(pp.Model.EvalMethod);                      // nor PCME's validation scorer: PCME++ validates with its own (csd)
        Assert.Equal("mc", Methods.WithMethod(pcme, "pcme").Model.EvalMethod);
        ConfigChecks.Validate(twin); ConfigChecks.Validate(pp);
    }

    [Fact]
    public void Pvse_scores_with_the_best_of_k_squared_cosines()
    {
        var (_, model, _, _) = Build(Config("pvse"));
        model.eval();
        using var _ = no_grad();
        var o = model.EncodeCaptions(randint(4, 12, [5, 4], generator: new Generator(3)), tensor(new long[] { 4, 3, 2, 4, 1 }));
        Assert.Equal([5L, 2, 8], o.Set!.shape);
        Assert.Equal([5L, 16], o.Embedding.Mean.shape);
        var scores = new Pcme.Retrieval.MaxCosineScorer(2).Score(Pcme.Retrieval.ScoringSet.From(o.Embedding), Pcme.Retrieval.ScoringSet.From(o.Embedding));
        var set = o.Set.to(float64);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++)
            {
                double best = double.NegativeInfinity;
                for (int k = 0; k < 2; k++)
                    for (int l = 0; l < 2; l++)
                    {
                        var x = set[i, k]; var y = set[j, l];
                        best = Math.Max(best, x.dot(y).item<double>() / (x.norm().item<double>() * y.norm().item<double>()));
                    }
                Assert.Equal(best, scores[i, j].item<float>(), 5);
            }
    }
}
