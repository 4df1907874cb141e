using Pcme.Data;

namespace Pcme.Tests.Data;

public class VocabularyTests
{
    static readonly string[] Captions = ["A red circle.", "a red square", "a blue circle", "Some shapes"];

    [Fact]
    public void Specials_come_first_then_words_by_descending_count_ties_alphabetical()
    {
        var vocab = Vocabulary.Build(Captions);
        Assert.Equal(["<pad>", "<start>", "<end>", "<unk>", "a", "circle", "red", ".", "blue", "shapes", "some", "square"], vocab.Words);
        Assert.Equal([0L, 0, 0, 0, 3, 2, 2, 1, 1, 1, 1, 1], vocab.Counts);
        Assert.Equal(0, vocab["<pad>"]); Assert.Equal(1, vocab["<start>"]); Assert.Equal(2, vocab["<end>"]); Assert.Equal(3, vocab["<unk>"]);
    }

    [Fact]
    public void Min_count_drops_rare_words()
    {
        var vocab = Vocabulary.Build(Captions, minCount: 2);
        Assert.Equal(["<pad>", "<start>", "<end>", "<unk>", "a", "circle", "red"], vocab.Words);
        Assert.False(vocab.Contains("blue"));
        Assert.Equal(Vocabulary.UnknownId, vocab["blue"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Vocabulary.Build(Captions, minCount: 0));
    }

    [Fact]
    public void Encode_wraps_ids_in_start_and_end_and_decode_inverts_it()
    {
        var vocab = Vocabulary.Build(Captions, minCount: 2);
        var ids = vocab.Encode("A red dog", "c1");
        Assert.Equal([Vocabulary.StartId, 4, 6, Vocabulary.UnknownId, Vocabulary.EndId], ids);
        Assert.Equal("a red <unk>", vocab.DecodeText(ids));
        Assert.Equal(["<start>", "a", "red", "<unk>", "<end>"], vocab.Decode(ids, keepSpecialTokens: true));
        Assert.Equal(ids, vocab.Encode(new CaptionItem("c1", 0, "A red dog")));
        Assert.Throws<ArgumentOutOfRangeException>(() => vocab.Decode([99]).ToList());
    }

    [Fact]
    public void A_caption_without_a_known_word_is_an_error_naming_it_or_a_counted_skip()
    {
        var vocab = Vocabulary.Build(Captions, minCount: 2);
        var empty = Assert.Throws<DataException>(() => vocab.Encode("  ", "coco-123"));
        Assert.Contains("'coco-123'", empty.Message);
        Assert.Contains("empty", empty.Message);
        var unknown = Assert.Throws<DataException>(() => vocab.Encode(new CaptionItem("cub-7", 0, "zebra stripes")));
        Assert.Contains("'cub-7'", unknown.Message);
        Assert.False(vocab.TryEncode("zebra", "x9", out var encoded, out var skipped));
        Assert.Null(encoded);
        Assert.Contains("x9", skipped!.Source);
        Assert.True(vocab.TryEncode("a zebra", "x10", out encoded, out skipped));
        Assert.Null(skipped);
        Assert.Equal([1L, 4, 3, 2], encoded);
    }

    [Fact]
    public void Save_and_load_round_trip()
    {
        var vocab = Vocabulary.Build(Captions, minCount: 1);
        var path = Path.Combine(Path.GetTempPath(), $"pcme-vocab-{Guid.NewGuid():N}.json");
        try
        {
            vocab.Save(path);
            var loaded = Vocabulary.Load(path);
            Assert.Equal(vocab.Words, loaded.Words);
            Assert.Equal(vocab.Counts, loaded.Counts);
            Assert.Equal(vocab.MinCount, loaded.MinCount);
            Assert.Equal(vocab.Encode("a blue square!", "c"), loaded.Encode("a blue square!", "c"));

            File.WriteAllText(path, vocab.ToJson().Replace("\"<unk>\"", "\"<oov>\""));
            var bad = Assert.Throws<DataException>(() => Vocabulary.Load(path));
            Assert.Contains(path, bad.Message);
            File.WriteAllText(path, "{ not json");
            Assert.Contains(path, Assert.Throws<DataException>(() => Vocabulary.Load(path)).Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Unknown_token_rate_counts_tokens_and_captions()
    {
        var vocab = Vocabulary.Build(Captions, minCount: 2);
        var report = vocab.UnknownTokenRate(["a red zebra", "a circle", "zebra zebra .", ""]);
        Assert.Equal(4, report.Captions);
        Assert.Equal(8, report.Tokens);
        Assert.Equal(4, report.UnknownTokens);
        Assert.Equal(0.5, report.Rate);
        Assert.Equal(2, report.CaptionsWithUnknown);
        Assert.Equal(2, report.CaptionsWithoutKnownWord);   // "zebra zebra ." and the empty one
        Assert.Equal([new WordCount("zebra", 3), new WordCount(".", 1)], report.MostFrequentUnknown);
    }
}
