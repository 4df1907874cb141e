using Pcme.Data;
using static TorchSharp.torch;

namespace Pcme.Tests.Data;

public sealed class GloVeTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("pcme-glove-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string Write(string name, params string[] lines)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    static float[] Row(Tensor weights, long id) => weights[id].data<float>().ToArray();

    // 840B layout: a word (possibly with spaces), then the numbers; "tshirt" and "dog" are only
    // reachable through the normalisation trick; "red" is listed twice (the last vector wins).
    string Fixture() => Write("glove.test.3d.txt",
        "the 0.1 0.2 0.3",
        ". . . 1 2 3",
        "tshirt 0.4 -0.5 6e-1",
        "red 9 9 9",
        "dog -1 -2 -3",
        "red 1.5 2.5 3.5",
        "unrelated 7 7 7");

    static Vocabulary Vocab() => Vocabulary.FromWords(["the", ". . .", "t-shirt", "red", "dog/cat", "missing"]);

    [Fact]
    public void Loads_vocabulary_words_with_spaces_normalisation_and_last_duplicate()
    {
        var path = Fixture();
        var result = GloVe.Load(path, Vocab());
        Assert.Equal([10L, 3], result.Weights.shape);
        Assert.Equal(ScalarType.Float32, result.Weights.dtype);
        Assert.Equal([0.1f, 0.2f, 0.3f], Row(result.Weights, 4));
        Assert.Equal([1f, 2f, 3f], Row(result.Weights, 5));
        Assert.Equal([0.4f, -0.5f, 0.6f], Row(result.Weights, 6));
        Assert.Equal([1.5f, 2.5f, 3.5f], Row(result.Weights, 7));
        Assert.Equal([-1f, -2f, -3f], Row(result.Weights, 8));

        var r = result.Report;
        Assert.Equal(path, r.Source);
        Assert.Equal(3, r.Dimension);
        Assert.Equal(6, r.Words);
        Assert.Equal(5, r.Hits);
        Assert.Equal(2, r.NormalisedHits);
        Assert.Equal(["missing"], r.MissingWords);
        Assert.Equal(1, r.Misses);
        Assert.Equal(5.0 / 6, r.HitRate, 12);
        Assert.Equal(7, r.LinesRead);
    }

    [Fact]
    public void Normalisation_follows_the_official_trick()
    {
        Assert.Equal("tshirt", GloVe.Normalise("t-shirt"));
        Assert.Equal("dont", GloVe.Normalise("don't"));
        Assert.Equal("us", GloVe.Normalise("u.s."));
        Assert.Equal("and", GloVe.Normalise("and/or"));
        var strict = GloVe.Load(Fixture(), Vocab(), new WordVectorOptions { NormaliseMisses = false });
        Assert.Equal(["t-shirt", "dog/cat", "missing"], strict.Report.MissingWords);
    }

    [Fact]
    public void Missing_rows_are_seeded_normal_draws_or_zeros()
    {
        var path = Fixture();
        var a = GloVe.Load(path, Vocab(), new WordVectorOptions { Seed = 5 });
        var b = GloVe.Load(path, Vocab(), new WordVectorOptions { Seed = 5 });
        var c = GloVe.Load(path, Vocab(), new WordVectorOptions { Seed = 6 });
        Assert.Equal(Row(a.Weights, 9), Row(b.Weights, 9));                 // "missing"
        Assert.Equal(Row(a.Weights, 0), Row(b.Weights, 0));                 // <pad>
        Assert.NotEqual(Row(a.Weights, 9), Row(c.Weights, 9));
        Assert.NotEqual(Row(a.Weights, 9), Row(a.Weights, 3));              // rows differ from each other
        var zeros = GloVe.Load(path, Vocab(), new WordVectorOptions { MissingRows = MissingWordRows.Zeros });
        Assert.Equal([0f, 0f, 0f], Row(zeros.Weights, 9));
        Assert.Equal([0f, 0f, 0f], Row(zeros.Weights, 1));
    }

    [Fact]
    public void A_line_with_too_few_fields_names_file_and_line()
    {
        var path = Write("bad.txt", "the 0.1 0.2 0.3", "red 1 2 3", "oops 0.1", "dog 1 2 3");
        var e = Assert.Throws<DataException>(() => GloVe.Load(path, Vocab()));
        Assert.Contains($"{path}:3:", e.Message);
        var notNumber = Write("nan.txt", "the 0.1 0.2 0.3", "red 1 x 3");
        e = Assert.Throws<DataException>(() => GloVe.Load(notNumber, Vocab()));
        Assert.Contains($"{notNumber}:2:", e.Message);
        Assert.Contains("'x'", e.Message);
        Assert.Contains("not found", Assert.Throws<DataException>(() => GloVe.Load(Path.Combine(dir, "absent.txt"), Vocab())).Message);
    }

    [Fact]
    public void Dimension_can_be_given_and_a_fasttext_header_is_skipped()
    {
        var withHeader = Write("header.vec", "2 3", "the 1 2 3", "red 4 5 6");
        var result = GloVe.Load(withHeader, Vocab());
        Assert.Equal(3, result.Report.Dimension);
        Assert.Equal([4f, 5f, 6f], Row(result.Weights, 7));
        // Given the dimension, a first line whose word contains spaces is read correctly too.
        var spaced = Write("spaced.txt", ". . . 1 2", "red 3 4");
        var given = GloVe.Load(spaced, Vocab(), new WordVectorOptions { Dimension = 2 });
        Assert.Equal([1f, 2f], Row(given.Weights, 5));
        Assert.Equal([3f, 4f], Row(given.Weights, 7));
    }

    [Fact]
    public void Lines_break_at_newline_only_and_crlf_files_load()
    {
        var path = Path.Combine(dir, "crlf.txt");
        File.WriteAllText(path, "the 1 2\r\nre\rd 3 4\r\nred 5 6\r\n");
        var result = GloVe.Load(path, Vocab());
        Assert.Equal([1f, 2f], Row(result.Weights, 4));
        Assert.Equal([5f, 6f], Row(result.Weights, 7));
        Assert.Equal(3, result.Report.LinesRead);
    }

    [Fact]
    public void Written_vectors_load_back()
    {
        var vectors = new Dictionary<string, float[]> { ["red"] = [0.125f, -3e-7f], ["the"] = [1f / 3, 2f] };
        var path = Path.Combine(dir, "written.txt");
        GloVe.Write(path, vectors);
        var result = GloVe.Load(path, Vocab());
        Assert.Equal(vectors["red"], Row(result.Weights, 7));
        Assert.Equal(vectors["the"], Row(result.Weights, 4));
    }
}
