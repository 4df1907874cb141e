using Pcme.Losses;
using Pcme.Modules;
using Pcme.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Tests.Training;

/// <summary>A tiny in-memory data set: 24 random 16x16 images, 2 captions each, 3 classes.</summary>
sealed class ToyData(int poisonEpoch = -1) : ITrainingData
{
    readonly Tensor images = randn([24, 3, 16, 16], generator: new Generator(1));
    readonly Tensor tokens = randint(4, 12, [48, 5], generator: new Generator(2));
    readonly long[] lengths = Enumerable.Range(0, 48).Select(i => 3L + i % 3).ToArray();

    public bool ImagesAreGrids => false;

    public IReadOnlyList<int[]> EpochBatches(int epoch, int batchSize, int seed)
    {
        var order = Enumerable.Range(0, 48).ToArray();
        new Random(seed * 31 + epoch).Shuffle(order);
        return order.Chunk(batchSize).ToArray();
    }

    public PairBatch Load(int[] captions, int seed, int epoch, int step, Device device)
    {
        var imageIdx = tensor(captions.Select(c => (long)(c / 2)).ToArray());
        var imgs = images.index_select(0, imageIdx);
        if (epoch == poisonEpoch && step == 1) imgs = imgs.mul(double.NaN);
        var ids = captions.Select(c => (long)(c / 2)).ToArray();
        return new PairBatch(imgs.to(device), tokens.index_select(0, tensor(captions.Select(c => (long)c).ToArray())).to(device),
            tensor(captions.Select(c => lengths[c]).ToArray()), MatchMatrix.FromLabels(ids, ids, device));
    }
}

[Collection("torch-global")]
public class TrainerTests
{
    static readonly ArchitectureInfo Arch = new("small", 8, 6, 12, true);

    static TrainingConfig Config(params string[] more) => TrainingConfig.Load(null, [.. ConfigKeys, .. more]);

    static readonly string[] ConfigKeys = [
        "dataloader.batch_size=8", "model.embed_dim=8", "model.word_dim=6", "model.cnn_type=small", "model.txt_finetune=true",
        "train.pretrain_epochs=2", "train.finetune_epochs=2", "train.finetune_lr_decay=0.5", "train.seed=3", "optimizer.learning_rate=0.003",
        "lr_scheduler.warmup_epochs=0.5", "criterion.num_samples=3", "criterion.uniform_lambda=1", "train.val_epochs=1"];

    static (Trainer, PcmeModel, RetrievalObjective) Build(TrainingConfig c)
    {
        torch.manual_seed(c.Train.Seed);
        var model = new PcmeModel(new ImageEncoder(new SmallCnn(4), 8), new CaptionEncoder(12, 6, 8));
        var loss = Experiment.CreateCriterion(c);
        return (new Trainer(model, loss, c, CPU, Arch, "{\"words\":[]}"), model, loss);
    }

    static ValidationResult Validate(PcmeModel m, RetrievalObjective l) =>
        new(-m.img_enc.fc.weight.abs().mean().item<float>(), "{}");

    static string TempDir() => Path.Combine(Path.GetTempPath(), $"pcme-train-{Guid.NewGuid():N}");

    [Theory]
    [InlineData("adamw", "cosine_annealing")]
    [InlineData("adamp", "cosine_annealing")]
    [InlineData("sgd", "reduce_lr_on_plateau")]
    [InlineData("adam", "reduce_lr_on_plateau")]
    public void Resuming_after_an_interruption_ends_with_the_same_numbers_as_an_uninterrupted_run(string optimizer, string schedule)
    {
        string a = TempDir(), b = TempDir();
        string[] keys = [$"optimizer.name={optimizer}", $"lr_scheduler.name={schedule}", "lr_scheduler.patience=0", "lr_scheduler.factor=0.5"];
        try
        {
            var (t1, m1, l1) = Build(Config(keys));
            var full = t1.Fit(new ToyData(), Validate, a);
            var (t2, _, _) = Build(Config(keys));
            var partial = t2.Fit(new ToyData(), Validate, b, stopAfterEpoch: 0);  // interrupted inside stage 1
            Assert.Equal(1, partial.EpochsCompleted);
            var (t3, m3, l3) = Build(Config(keys));                                // a fresh process would rebuild from scratch
            var resumed = t3.Fit(new ToyData(), Validate, b, resume: true);
            Assert.Equal(4, resumed.EpochsCompleted);
            Assert.Equal(full.History.Select(h => h.Loss), resumed.History.Select(h => h.Loss));
            Assert.Equal(full.History.Select(h => h.Validation), resumed.History.Select(h => h.Validation));
            Assert.Equal(((SoftContrastiveLoss)l1).shift.item<float>(), ((SoftContrastiveLoss)l3).shift.item<float>());
            foreach (var (k, v) in m1.state_dict())
                Assert.True(v.eq(m3.state_dict()[k]).all().item<bool>(), $"parameter {k} differs after resume");
            Assert.Equal(4, File.ReadAllLines(Path.Combine(b, "metrics.jsonl")).Length);
            Assert.True(Directory.Exists(Path.Combine(b, "checkpoints", "best")));
            // The learning rate really follows the two-stage schedule: stage 2 starts at half the base rate.
            Assert.True(full.History[3].LearningRate < full.History[1].LearningRate + 1e-12);
            if (schedule == "reduce_lr_on_plateau")
            {
                // Replay the plateau rule on the recorded validations: each stage's rate is base x 0.5^reductions.
                var c = Config(keys);
                foreach (var (stageEpochs, baseLr) in new[] { (full.History.Take(2), c.Optimizer.LearningRate), (full.History.Skip(2), c.Optimizer.LearningRate * 0.5) })
                {
                    var st = new PlateauState();
                    foreach (var h in stageEpochs)
                    {
                        Assert.Equal(st.Rate(baseLr, 0.5, 0), h.LearningRate, 12);
                        st = st.After(h.Validation!.Value, 0);
                    }
                }
            }
        }
        finally { foreach (var d in new[] { a, b }) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    [Fact]
    public void Training_reduces_the_loss()
    {
        string dir = TempDir();
        try
        {
            var c = Config() with { Train = Config().Train with { PretrainEpochs = 6, FinetuneEpochs = 0 }, Criterion = Config().Criterion with { UniformLambda = 0, VibBeta = 0 } };
            var (t, _, _) = Build(c);
            var r = t.Fit(new ToyData(), null, dir);
            Assert.True(r.History[^1].Loss < r.History[0].Loss, string.Join(", ", r.History.Select(h => h.Loss)));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint()
    {
        string dir = TempDir();
        try
        {
            var (t, _, _) = Build(Config());
            var e = Assert.Throws<NonFiniteLossException>(() => t.Fit(new ToyData(poisonEpoch: 2), Validate, dir));
            Assert.Contains("epoch 3", e.Message);   // 1-based, as the progress display counts
            Assert.Contains("NaN", e.Message);
            Assert.Contains("last good checkpoint", e.Message);
            var state = Checkpoint.ReadState(Path.Combine(dir, "checkpoints", "last"));
            Assert.Equal(2, state.NextEpoch);   // epochs 0 and 1 completed; nothing of epoch 2 was saved
            Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Length);   // never an epoch no checkpoint holds
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void Training_steps_leak_no_tensors()
    {
        string dir = TempDir();
        try
        {
            var c = Config() with { Train = Config().Train with { PretrainEpochs = 1, FinetuneEpochs = 0 } };
            var (t, _, _) = Build(c);
            var data = new ToyData();
            t.Fit(data, null, dir);                    // warm-up: optimizer state etc. allocated once
            var stats = DisposeScopeManager.Statistics;
            stats.Reset();
            var c2 = Config() with { Train = Config().Train with { PretrainEpochs = 3, FinetuneEpochs = 0 } };
            var (t2, _, _) = Build(c2);
            long afterBuild = stats.ThreadTotalLiveCount;
            t2.Fit(data, null, dir + "b");
            long afterThree = stats.ThreadTotalLiveCount;
            // Live tensors after the run = model + optimizer state, independent of the number of steps (18 here).
            var c3 = Config() with { Train = Config().Train with { PretrainEpochs = 1, FinetuneEpochs = 0 } };
            var (t3, _, _) = Build(c3);
            long afterBuild3 = stats.ThreadTotalLiveCount;
            t3.Fit(data, null, dir + "c");
            long afterOne = stats.ThreadTotalLiveCount;
            Assert.Equal(afterOne - afterBuild3, afterThree - afterBuild);
        }
        finally { foreach (var d in new[] { dir, dir + "b", dir + "c" }) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    [Fact]
    public void Loading_a_checkpoint_into_another_architecture_is_one_clear_error()
    {
        string dir = TempDir();
        try
        {
            var c = Config() with { Train = Config().Train with { PretrainEpochs = 1, FinetuneEpochs = 0 } };
            var (t, _, _) = Build(c);
            t.Fit(new ToyData(), null, dir);
            var other = Arch with { EmbedDim = 16 };
            var e = Assert.Throws<ConfigException>(() => Checkpoint.Load(Path.Combine(dir, "checkpoints", "last"), other.CreateModel(),
                new SoftContrastiveLoss(), null, other));
            Assert.Contains("D=8", e.Message);
            Assert.Contains("D=16", e.Message);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
