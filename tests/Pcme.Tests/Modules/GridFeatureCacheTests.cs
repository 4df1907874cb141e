using Pcme.Modules;
using TorchSharp;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Modules;

[Collection("torch-global")]
public class GridFeatureCacheTests
{
    [Fact]
    public void Cached_grids_equal_the_backbone_output_to_float16_precision_and_feed_the_encoder()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(2);
        var backbone = new SmallCnn(8); backbone.eval();
        var images = randn([7, 3, 32, 32], generator: new Generator(4));
        string dir = Path.Combine(Path.GetTempPath(), $"pcme-cache-{Guid.NewGuid():N}");
        try
        {
            var ids = Enumerable.Range(0, 7).Select(i => $"img{i}").ToArray();
            using var cache = GridFeatureCache.Build(backbone, ids, rows => images.index_select(0, tensor(rows.Select(r => (long)r).ToArray())), Path.Combine(dir, "small"), 3, CPU);
            Assert.Equal(7, cache.Count);
            Assert.Equal(new long[] { 32, 4, 4 }, new[] { cache.Header.Channels, cache.Header.Height, cache.Header.Width });
            var expected = backbone.forward(images);
            var got = cache.Read([6, 0, 3]);
            var want = expected.index_select(0, tensor(new long[] { 6, 0, 3 }));
            Assert.True(got.sub(want).abs().max().item<float>() <= 2e-3 * Math.Max(1, want.abs().max().item<float>()));
            AllClose(D1(got), D1(cache.ReadIds(["img6", "img0", "img3"])));

            using var reopened = GridFeatureCache.Open(Path.Combine(dir, "small"), backbone.Kind);
            Assert.Equal("small-8", backbone.Kind);
            AllClose(D1(got), D1(reopened.Read([6, 0, 3])));
            Assert.Throws<Pcme.Modules.WeightFileException>(() => GridFeatureCache.Open(Path.Combine(dir, "small"), "resnet18"));
            Assert.Throws<KeyNotFoundException>(() => reopened.ReadIds(["nope"]));

            // A truncated file is detected when opened.
            File.WriteAllBytes(Path.Combine(dir, "small.bin"), new byte[100]);
            var e = Assert.Throws<Pcme.Modules.WeightFileException>(() => GridFeatureCache.Open(Path.Combine(dir, "small")));
            Assert.Contains("rebuild", e.Message);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
