using System.Text.Json.Nodes;
using Pcme.Losses;
using Pcme.Modules;
using Pcme.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Cli.Bench;

/// <summary>
/// <c>pcme bench train-step</c>: images/s of a full PCME training step (forward, backward, AdamW) at the
/// CUB setting (B = 128, J = 7, D = 512) from cached ResNet-50 grids (2048 x 7 x 7) and 300-d word
/// vectors; and, nested, the frozen ResNet-18 step with the backbone vs. from the grid cache.
/// </summary>
public static class TrainStepScenario
{
    /// <summary>Problem size.</summary>
    public sealed record Size(int Batch, int Samples, int Dim, int Channels, int Grid, int WordDim, int Vocabulary, int CaptionLength, int Warmup, int Repeats, FeatureCacheScenario.Size Cache)
    {
        /// <summary>The CUB setting.</summary>
        public static Size Full => new(128, 7, 512, 2048, 7, 300, 5000, 16, 1, 5, FeatureCacheScenario.Size.Full);
        /// <summary>Harness check.</summary>
        public static Size Tiny => new(6, 2, 16, 32, 3, 12, 50, 5, 1, 2, FeatureCacheScenario.Size.Tiny);
    }

    /// <summary>Runs the scenario and returns its JSON record.</summary>
    /// <remarks>Every method (criterion.name) is measured on the same batch in the same run; "step" is PCME's (the baseline)
    /// and each method's entry carries its median step time over PCME's. The data are random grids and tokens.</remarks>
    public static JsonObject Run(Size size, int seed = 0)
    {
        var methods = new JsonArray();
        BenchStats? baseline = null;
        long live = 0;
        foreach (var method in Methods.Names)
        {
            var (stats, left) = MeasureMethod(size, method, seed);
            baseline ??= stats;
            live = Math.Max(live, left);
            methods.Add(new JsonObject
            {
                ["method"] = method, ["step"] = stats.ToJson(), ["images_per_s"] = Math.Round(size.Batch / stats.MedianMs * 1000, 1),
                ["x_pcme_step_time"] = Math.Round(stats.MedianMs / baseline.MedianMs, 3),
            });
        }
        var record = BenchHarness.Environment("train-step");
        record["shape"] = new JsonObject { ["B"] = size.Batch, ["J"] = size.Samples, ["D"] = size.Dim, ["grid"] = $"{size.Channels}x{size.Grid}x{size.Grid}", ["word_dim"] = size.WordDim };
        record["step"] = baseline!.ToJson();
        record["images_per_s_from_cached_grids"] = Math.Round(size.Batch / baseline.MedianMs * 1000, 1);
        record["methods"] = methods;
        record["torchsharp_live_tensors_after"] = live;
        record["resnet18_frozen_vs_cache"] = FeatureCacheScenario.Run(size.Cache, seed);
        return record;
    }

    /// <summary>One method's full training step (forward, backward, clipping, AdamW) on the CUB-sized batch.</summary>
    static (BenchStats Stats, long LiveTensors) MeasureMethod(Size size, string method, int seed)
    {
        manual_seed(seed);
        // The CUB config's run, built by the experiment builder's parts, with the method's official criterion defaults.
        var config = Methods.WithMethod(new TrainingConfig
        {
            Model = new() { CnnType = size.Channels == 2048 ? "resnet50" : $"small-{size.Channels / 4}", EmbedDim = size.Dim, WordDim = size.WordDim, WembType = "none" },
            Optimizer = new() { Name = "adamw", LearningRate = 1e-4 },
            Criterion = new() { NumSamples = size.Samples },
        }, method);
        var (_, model) = Experiment.CreateModel(config, size.Vocabulary);
        var loss = Experiment.CreateCriterion(config);
        var opt = Optimizers.Create(config.Optimizer, model.parameters().Concat(loss.parameters()));
        var g = new Generator((ulong)seed);
        using var grids = randn([size.Batch, size.Channels, size.Grid, size.Grid], generator: g).relu();
        using var tokens = randint(4, size.Vocabulary, [size.Batch, size.CaptionLength], generator: g);
        using var lengths = randint(3, size.CaptionLength + 1, [size.Batch], generator: g);
        using var match = MatchMatrix.Diagonal(size.Batch);
        model.train(); model.img_enc.cnn.eval();
        long step = 0;
        void Step()
        {
            using var scope = NewDisposeScope();
            var img = model.EncodeGrids(grids);
            var cap = model.EncodeCaptions(tokens, lengths);
            var o = loss.Objective(Trainer.Input(img, cap, match, new Generator((ulong)step++)));
            opt.ZeroGrad();
            o.backward();
            nn.utils.clip_grad_norm_(model.parameters().Where(p => p.requires_grad), 2);
            opt.Step();
        }
        var stats = BenchHarness.Measure(Step, size.Warmup, size.Repeats);
        return (stats, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
