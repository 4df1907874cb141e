using Pcme.Data;
using static Pcme.Tests.TensorData;

namespace Pcme.Tests.Data;

public class BatchSamplersTests
{
    // 12 images with 1..5 captions (COCO-like, uneven), 4 classes.
    static readonly int[] CaptionCounts = [5, 5, 1, 3, 5, 2, 5, 4, 5, 1, 5, 5];
    static readonly int[] Classes = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3];

    static void AssertPermutation(IReadOnlyList<int[]> batches, int count) =>
        Assert.Equal(Enumerable.Range(0, count), batches.SelectMany(b => b).Order());

    [Fact]
    public void Random_pairs_cover_each_caption_once_per_epoch_and_reshuffle_per_epoch()
    {
        var data = ListDataset.WithCounts(CaptionCounts);
        var sampler = BatchSamplers.RandomPairs(data, batchSize: 8, seed: 3);
        var epoch0 = sampler.Epoch(0);
        AssertPermutation(epoch0, data.Captions.Count);
        Assert.Equal([8, 8, 8, 8, 8, 6], epoch0.Select(b => b.Length));
        Assert.Equal(epoch0, BatchSamplers.RandomPairs(data, 8, 3).Epoch(0));
        Assert.NotEqual(epoch0, sampler.Epoch(1));
        Assert.NotEqual(epoch0, BatchSamplers.RandomPairs(data, 8, 4).Epoch(0));
        // seed + epoch: epoch 1 of seed 3 is epoch 0 of seed 4.
        Assert.Equal(sampler.Epoch(1), BatchSamplers.RandomPairs(data, 8, 4).Epoch(0));

        var dropped = BatchSamplers.RandomPairs(data, 8, 3, dropLast: true).Epoch(0);
        Assert.Equal(5, dropped.Count);
        Assert.All(dropped, b => Assert.Equal(8, b.Length));
    }

    [Fact]
    public void No_repeated_image_sampler_never_puts_two_captions_of_one_image_in_a_batch()
    {
        var data = ListDataset.WithCounts(CaptionCounts);
        var sampler = BatchSamplers.NoRepeatedImage(data, batchSize: 6, seed: 1);
        for (int epoch = 0; epoch < 20; epoch++)
        {
            var batches = sampler.Epoch(epoch);
            AssertPermutation(batches, data.Captions.Count);
            Assert.All(batches, b => Assert.Equal(b.Length, BatchSamplers.ImagesOf(data, b).Distinct().Count()));
            Assert.All(batches, b => Assert.InRange(b.Length, 1, 6));
        }
        Assert.Equal(sampler.Epoch(2), BatchSamplers.NoRepeatedImage(data, 6, 1).Epoch(2));
        Assert.NotEqual(sampler.Epoch(2), sampler.Epoch(3));
        // Most batches are full: only the tail can run short.
        Assert.True(sampler.Epoch(0).Count(b => b.Length == 6) >= 6);

        var full = BatchSamplers.NoRepeatedImage(data, 6, 1, dropLast: true).Epoch(0);
        Assert.All(full, b => Assert.Equal(6, b.Length));
    }

    [Fact]
    public void No_repeated_image_sampler_handles_one_image_with_all_captions()
    {
        var data = ListDataset.WithCounts([4]);
        var batches = BatchSamplers.NoRepeatedImage(data, 3, 0).Epoch(0);
        Assert.Equal(4, batches.Count);
        AssertPermutation(batches, 4);
    }

    [Fact]
    public void One_per_class_sampler_gives_distinct_classes()
    {
        var data = ListDataset.WithCounts(CaptionCounts, Classes);
        var sampler = BatchSamplers.OnePerClass(data, batchSize: 3, seed: 9);
        var batches = sampler.Epoch(0);
        Assert.Equal(data.Captions.Count / 3, batches.Count);
        foreach (var batch in batches)
        {
            Assert.Equal(3, batch.Length);
            Assert.Equal(3, batch.Select(c => data.Images[data.Captions[c].ImageIndex].ClassId).Distinct().Count());
        }
        Assert.Equal(batches, BatchSamplers.OnePerClass(data, 3, 9).Epoch(0));
        Assert.NotEqual(batches, sampler.Epoch(1));
    }

    [Fact]
    public void One_per_class_sampler_with_every_class_covers_a_balanced_set_exactly()
    {
        // 4 classes x 3 captions, B = 4 (the official CUB setting: every class in every batch).
        var data = ListDataset.WithCounts([1, 1, 1, 1, 2, 2, 2, 2], [0, 1, 2, 3, 0, 1, 2, 3]);
        var batches = BatchSamplers.OnePerClass(data, 4, 0).Epoch(5);
        Assert.Equal(3, batches.Count);
        AssertPermutation(batches, 12);
    }

    [Fact]
    public void One_per_class_sampler_rejects_impossible_settings()
    {
        var classed = ListDataset.WithCounts(CaptionCounts, Classes);
        var e = Assert.Throws<DataException>(() => BatchSamplers.OnePerClass(classed, 5, 0));
        Assert.Contains("has 4", e.Message);
        Assert.Contains("at most 4 (dataloader.batch_size)", e.Message);

        var unclassed = ListDataset.WithCounts(CaptionCounts);
        var d = Assert.Throws<DataException>(() => BatchSamplers.OnePerClass(unclassed, 2, 0));
        Assert.Contains("'i0'", d.Message);
        Assert.Contains("class", d.Message);
    }

    [Fact]
    public void Relevance_matrix_has_images_as_rows_and_captions_as_columns()
    {
        var data = ListDataset.WithCounts(CaptionCounts, Classes);
        int[] batch = [0, 1, 5, 30, 11];  // captions 0, 1 share image 0; caption 5 is image 1; 30 is image 8 (class 0)
        using var m = BatchSamplers.RelevanceMatrix(data, batch);
        Assert.Equal(TorchSharp.torch.ScalarType.Bool, m.dtype);
        Assert.Equal([5L, 5], m.shape);
        var values = B2(m);
        var images = BatchSamplers.ImagesOf(data, batch);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++)
                Assert.Equal(data.Relevance.IsRelevant(batch[j], images[i]), values[i][j]);
        Assert.True(values[3][0]);   // same class 0
        Assert.False(values[2][0]);

        var own = ListDataset.WithCounts(CaptionCounts);
        using var ownMatrix = BatchSamplers.RelevanceMatrix(own, batch);
        var expected = new[]
        {
            new[] { true, true, false, false, false },
            new[] { true, true, false, false, false },
            new[] { false, false, true, false, false },
            new[] { false, false, false, true, false },
            new[] { false, false, false, false, true },
        };
        Assert.Equal(expected, B2(ownMatrix));
    }
}
