using Pcme.Data;
using Pcme.Training;

namespace Pcme.Tests.Training;

[Collection("torch-global")]
public class AblationTests
{
    static AblationOptions Options(string folder) => new()
    {
        Methods = ["pcme", "soft-contrastive", "vse++"], Seeds = [4], Positives = ["same_image"], OutputDirectory = folder,
        Config = TrainingConfig.Synthetic.WithOverrides(["train.pretrain_epochs=2", "train.val_epochs=1", "model.embed_dim=8", "model.cnn_type=small-4", "train.device=cpu"]),
        Data = s =>
        {
            var o = new SyntheticOptions { Seed = s, ImageCount = 60 };
            return new AblationData(new SyntheticDataset(o, SyntheticSplit.Train), new SyntheticDataset(o, SyntheticSplit.Validation), new SyntheticDataset(o, SyntheticSplit.Test));
        },
    };

    static string TempDir() => Path.Combine(Path.GetTempPath(), $"pcme-ablate-{Guid.NewGuid():N}");

    [Fact]
    public void A_killed_ablation_resumes_at_its_first_unfinished_run_and_ends_as_an_uninterrupted_one()
    {
        string a = TempDir(), b = TempDir();
        try
        {
            var full = Ablation.Run(Options(a));
            Assert.Equal(3, full.Runs.Count);
            Assert.True(File.Exists(Path.Combine(a, "results.json")));

            // Interrupt the second run after its first epoch (what Ctrl-C or a kill leaves: run 1 finished, run 2 with checkpoints/last).
            using var cancel = new CancellationTokenSource();
            var progress = new SynchronousProgress<AblationProgress>(p => { if (p.Index == 1 && p.Training is { Epoch: 1 }) cancel.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => Ablation.Run(Options(b), progress, cancel.Token));
            string first = Path.Combine(b, "pcme", "same_image", "seed-4", "result.json");
            Assert.True(File.Exists(first));
            Assert.False(File.Exists(Path.Combine(b, "soft-contrastive", "same_image", "seed-4", "result.json")));
            Assert.True(Directory.Exists(Path.Combine(b, "soft-contrastive", "same_image", "seed-4", "checkpoints", "last")));
            var stamp = File.GetLastWriteTimeUtc(first);

            var stages = new List<(int, string)>();
            var resumed = Ablation.Run(Options(b), new SynchronousProgress<AblationProgress>(p => { if (p.Training is null) stages.Add((p.Index, p.Stage)); }));
            Assert.Contains((0, "done before"), stages);      // the finished run is read back, not retrained
            Assert.Contains((1, "resuming"), stages);         // the interrupted one continues from its last checkpoint
            Assert.Contains((2, "training"), stages);
            Assert.Equal(stamp, File.GetLastWriteTimeUtc(first));
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(full.Runs[i].Method, resumed.Runs[i].Method);
                Assert.Equal(full.Runs[i].Loss, resumed.Runs[i].Loss);          // bit for bit
                Assert.Equal(full.Runs[i].Metrics, resumed.Runs[i].Metrics);
            }
            // Identical batches: the twin's first-epoch batches are PCME's (same seed), so a paired difference is paired.
            Assert.Contains(resumed.Paired, p => p.Method == "pcme" && p.Twin == "soft-contrastive" && p.Metric == "t2i_rp" && p.PerSeed.Count == 1);
            Assert.DoesNotContain(resumed.Paired, p => p.Method == "vse++");     // no twin
            Assert.Null(resumed.Runs[2].Levels[0].MeanPredictedMatches);          // VSE++ has no match probability
        }
        finally { foreach (var d in new[] { a, b }) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    [Fact]
    public void A_rerun_with_another_config_into_the_same_folder_is_refused_not_read_back()
    {
        string a = TempDir();
        try
        {
            var one = Options(a) with { Methods = ["vse++"] };
            Ablation.Run(one);
            var other = one with { Config = one.Config.WithOverrides(["train.pretrain_epochs=1"]) };
            var e = Assert.Throws<ConfigException>(() => Ablation.Run(other));
            Assert.Contains(Ablation.RunFolder(a, "vse++", "same_image", 4), e.Message);
            Assert.Single(Ablation.Run(one).Runs);   // the same config is read back
        }
        finally { if (Directory.Exists(a)) Directory.Delete(a, true); }
    }

    [Fact]
    public void Summary_and_paired_differences_are_mean_and_sd_over_seeds()
    {
        AblationRunResult R(string m, int seed, double rp) => new()
        {
            Method = m, Positives = "same_image", Seed = seed, Folder = "", Scorer = "cosine", Metrics = new() { ["i2t_rp"] = rp },
            ByScorer = [], Levels = [], Loss = [], SpearmanSigmaRelevant = m == "pcme" ? 0.1 * seed : null,
        };
        var runs = new[] { R("pcme", 0, 50), R("soft-contrastive", 0, 48), R("pcme", 1, 54), R("soft-contrastive", 1, 55), R("pcme", 2, 49), R("soft-contrastive", 2, 47) };
        var summary = Ablation.Summarise(runs);
        var pcme = summary.Single(s => s.Method == "pcme").Metrics["i2t_rp"];
        Assert.Equal(51, pcme.Mean, 12);
        Assert.Equal(Math.Sqrt(((50 - 51.0) * (50 - 51) + 9 + 4) / 2), pcme.Sd, 12);
        var d = Ablation.Pair(runs).Single(p => p.Metric == "i2t_rp");
        Assert.Equal([2.0, -1, 2], d.PerSeed);
        Assert.Equal(1, d.Difference.Mean, 12);
        Assert.Equal(Math.Sqrt(3), d.Difference.Sd, 12);
        Assert.Equal(0.1, summary.Single(s => s.Method == "pcme").Metrics["spearman_sigma_relevant"].Mean, 12);
    }

    [Fact]
    public void Own_image_labels_get_batches_of_distinct_images_and_relevance_labels_random_pairs()
    {
        var o = new SyntheticOptions { Seed = 1, ImageCount = 60 };
        var train = new SyntheticDataset(o, SyntheticSplit.Train);
        var config = TrainingConfig.Synthetic.WithOverrides(["model.cnn_type=small-4", "model.embed_dim=8", "train.device=cpu"]);
        var own = Experiment.Create(config.WithOverrides(["dataloader.positives=same_image"]), new ExperimentData(train));
        Assert.Equal(BatchSampling.DistinctImages, own.Sampling);
        foreach (var batch in own.TrainingData.EpochBatches(0, config.Dataloader.BatchSize, 3))
        {
            var images = BatchSamplers.ImagesOf(train, batch);
            Assert.Equal(images.Length, images.Distinct().Count());   // no caption's own image is another caption's negative twin
        }
        Assert.Equal(BatchSampling.RandomPairs, Experiment.Create(config, new ExperimentData(train)).Sampling);   // the synthetic config: relevance
    }

    [Fact]
    public void Bad_options_are_refused_before_any_work()
    {
        var o = Options(TempDir());
        Assert.Contains("vse+", Assert.Throws<ConfigException>(() => Ablation.Validate(o with { Methods = ["vse+"] })).Message);
        Assert.Contains("twice", Assert.Throws<ConfigException>(() => Ablation.Validate(o with { Methods = ["pcme", "pcme"] })).Message);
        Assert.Contains("own", Assert.Throws<ConfigException>(() => Ablation.Validate(o with { Positives = ["own"] })).Message);
        Assert.Contains("seeds", Assert.Throws<ConfigException>(() => Ablation.Validate(o with { Seeds = [1, 1] })).Message);
    }
}
