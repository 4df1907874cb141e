using System.Text.Json.Nodes;
using Pcme.Modules;
using Pcme.Training;
using static TorchSharp.torch;

namespace Pcme.Cli.Bench;

/// <summary>
/// <c>pcme bench feature-cache</c>: a frozen-backbone training step of the image heads, once running
/// the ResNet-18 backbone on every batch and once reading the same grids from a
/// <see cref="GridFeatureCache"/>; the ratio is the cache's speed-up.
/// </summary>
public static class FeatureCacheScenario
{
    /// <summary>Problem size.</summary>
    public sealed record Size(string Backbone, int Images, int ImageSize, int Batch, int EmbedDim, int Warmup, int Repeats)
    {
        /// <summary>ResNet-18 at 224 px (7 x 7 grid), batches of 32.</summary>
        public static Size Full => new("resnet18", 128, 224, 32, 512, 1, 5);
        /// <summary>Harness check.</summary>
        public static Size Tiny => new("small", 8, 32, 4, 16, 1, 2);
    }

    /// <summary>Runs the scenario and returns its JSON record.</summary>
    public static JsonObject Run(Size size, int seed = 0)
    {
        manual_seed(seed);
        // Built like every run (Experiment.CreateModel, Optimizers.Create); only the image side is timed.
        var config = new TrainingConfig { Model = new() { CnnType = size.Backbone, EmbedDim = size.EmbedDim, WembType = "none" }, Optimizer = new() { Name = "adamw", LearningRate = 1e-4 } };
        var encoder = Experiment.CreateModel(config, 10).Model.img_enc;
        var backbone = encoder.cnn;
        var opt = Optimizers.Create(config.Optimizer, encoder.parameters());
        using var images = randn([size.Images, 3, size.ImageSize, size.ImageSize], generator: new Generator((ulong)seed));
        string dir = Path.Combine(Path.GetTempPath(), $"pcme-bench-cache-{Environment.ProcessId}");
        var ids = Enumerable.Range(0, size.Images).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Tensor Rows(int[] rows) => images.index_select(0, tensor(rows.Select(r => (long)r).ToArray()));

        var extract = System.Diagnostics.Stopwatch.StartNew();
        using var cache = GridFeatureCache.Build(backbone, ids, Rows, Path.Combine(dir, size.Backbone), size.Batch, CPU);
        double extractMs = extract.Elapsed.TotalMilliseconds;
        int batchIndex = 0;
        int[] NextRows()
        {
            int start = batchIndex++ * size.Batch % size.Images;
            return Enumerable.Range(start, Math.Min(size.Batch, size.Images - start)).ToArray();
        }
        void Step(bool fromCache)
        {
            using var scope = NewDisposeScope();
            var rows = NextRows();
            backbone.eval();
            Tensor grid;
            if (fromCache) grid = cache.Read(rows);
            else using (no_grad()) grid = backbone.forward(Rows(rows));
            opt.ZeroGrad();
            var o = encoder.FromGrid(grid);
            o.Embedding.Mean.pow(2).sum().add(o.Embedding.LogVariance.exp().mean()).backward();
            opt.Step();
        }
        var live = BenchHarness.Measure(() => Step(false), size.Warmup, size.Repeats);
        var cached = BenchHarness.Measure(() => Step(true), size.Warmup, size.Repeats);
        try { Directory.Delete(dir, true); } catch (IOException) { }

        var record = BenchHarness.Environment("feature-cache");
        record["backbone"] = size.Backbone;
        record["shape"] = new JsonObject { ["batch"] = size.Batch, ["image"] = size.ImageSize, ["grid"] = $"{cache.Header.Channels}x{cache.Header.Height}x{cache.Header.Width}", ["D"] = size.EmbedDim };
        record["extract_ms_per_image"] = Math.Round(extractMs / size.Images, 3);
        record["cache_bytes_per_image"] = cache.Header.RowBytes;
        record["step_with_backbone"] = live.ToJson();
        record["step_from_cache"] = cached.ToJson();
        record["images_per_s_with_backbone"] = Math.Round(size.Batch / live.MedianMs * 1000, 1);
        record["images_per_s_from_cache"] = Math.Round(size.Batch / cached.MedianMs * 1000, 1);
        record["speedup"] = Math.Round(live.MedianMs / cached.MedianMs, 2);
        return record;
    }
}
