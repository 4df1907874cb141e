using Pcme.Data;

namespace Pcme.Tests.Data;

public class CaptionAugmentationTests
{
    static long[] Encoded(int words) => [Vocabulary.StartId, .. Enumerable.Range(10, words).Select(i => (long)i), Vocabulary.EndId];

    [Fact]
    public void Same_seed_gives_the_same_augmentations_other_seed_differs()
    {
        var a = new CaptionAugmentation(seed: 1);
        var b = new CaptionAugmentation(seed: 1);
        var c = new CaptionAugmentation(seed: 2);
        var fromA = Enumerable.Range(0, 50).Select(_ => a.Apply(Encoded(20))).ToList();
        var fromB = Enumerable.Range(0, 50).Select(_ => b.Apply(Encoded(20))).ToList();
        var fromC = Enumerable.Range(0, 50).Select(_ => c.Apply(Encoded(20))).ToList();
        Assert.Equal(fromA, fromB);
        Assert.NotEqual(fromA, fromC);
    }

    [Fact]
    public void Keyed_augmentation_depends_on_seed_and_key_only()
    {
        var a = new CaptionAugmentation(seed: 3);
        var b = new CaptionAugmentation(seed: 3);
        b.Apply(Encoded(12));                     // advancing b's own stream changes nothing keyed
        Assert.Equal(a.Apply(Encoded(12), key: 77), b.Apply(Encoded(12), key: 77));
        Assert.NotEqual(
            Enumerable.Range(0, 20).Select(k => a.Apply(Encoded(12), k)).ToList(),
            Enumerable.Range(20, 20).Select(k => a.Apply(Encoded(12), k)).ToList());
    }

    [Fact]
    public void Masks_then_drops_floor_of_len_times_p_words_keeping_start_and_end()
    {
        var aug = new CaptionAugmentation(CaptionAugmentationOptions.Official(0.1), seed: 9);
        long masked = 0, words = 0;
        for (int key = 0; key < 400; key++)
        {
            var input = Encoded(25);
            var output = aug.Apply(input, key);
            Assert.Equal(Vocabulary.StartId, output[0]);
            Assert.Equal(Vocabulary.EndId, output[^1]);
            Assert.Equal(25 - 2, output.Length - 2);                      // floor(25 x 0.1) = 2 dropped
            var kept = output[1..^1];
            Assert.All(kept, id => Assert.True(id == Vocabulary.UnknownId || (id >= 10 && id < 35)));
            var survivors = kept.Where(id => id != Vocabulary.UnknownId).ToList();
            Assert.Equal(survivors.Order(), survivors);                   // order preserved
            masked += kept.Count(id => id == Vocabulary.UnknownId);
            words += kept.Length;
        }
        Assert.InRange((double)masked / words, 0.07, 0.13);               // p = 0.1 per word
        var off = new CaptionAugmentation(new CaptionAugmentationOptions { MaskProbability = 0, DropFraction = 0 });
        Assert.Equal(Encoded(7), off.Apply(Encoded(7)));
        Assert.Equal(7, new CaptionAugmentation().Apply(Encoded(5)).Length);      // floor(5 x 0.1) = 0 dropped
        Assert.Throws<ArgumentException>(() => aug.Apply([5L, 6L]));
    }
}
