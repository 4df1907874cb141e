using Pcme.Data;
using Pcme.Inference;
using Pcme.Training;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Inference;

[Collection("torch-global")]
public class DatasetEmbedderTests
{
    [Fact]
    public void EmbedTexts_matches_the_data_set_embedding_of_the_same_captions_and_rejects_unknown_text()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var data = new SyntheticDataset(new SyntheticOptions { Seed = 2, ImageCount = 6 });
        var vocabulary = Vocabulary.Build(data.Captions.Select(c => c.Text));
        var model = new ArchitectureInfo("small-16", 8, 8, vocabulary.Count, true).CreateModel();
        var (all, unknown) = DatasetEmbedder.EmbedCaptions(model, data, vocabulary, 7, CPU);
        Assert.Equal(0, unknown);
        var texts = data.Captions.Select(c => c.Text).ToArray();
        var some = DatasetEmbedder.EmbedTexts(model, vocabulary, [texts[3], texts[0], texts[11]], CPU, batchSize: 2);
        var expected = all.Select(tensor(new long[] { 3, 0, 11 }));
        AllClose(D1(expected.Mean), D1(some.Mean), rel: 1e-5, abs: 1e-6);
        AllClose(D1(expected.LogVariance), D1(some.LogVariance), rel: 1e-5, abs: 1e-6);
        var e = Assert.Throws<ArgumentException>(() => DatasetEmbedder.EmbedTexts(model, vocabulary, ["zebra crossing"], CPU));
        Assert.Contains("zebra crossing", e.Message);
        Assert.Throws<ArgumentException>(() => DatasetEmbedder.EmbedTexts(model, vocabulary, [], CPU));
    }
}
