using Pcme.Data;

namespace Pcme.Tests.Data;

public sealed class RelevanceFileTests : IDisposable
{
    readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    // Images i0, i1, i2; captions c0, c1 of i0, c2 of i1, c3 of i2.
    static ListDataset Dataset() => ListDataset.WithCounts([2, 1, 1]);

    [Fact]
    public void Loads_caption_to_image_lists_as_explicit_relevance_over_indices()
    {
        var path = folder.Write("relevance.json", """{"c0": ["i0", "i2"], "c1": ["i0"], "c2": [], "c3": ["i2", "i1", "i2"]}""");
        var relevance = RelevanceFile.Load(path, Dataset());

        Assert.Equal([0, 2], relevance.ImagesFor(0));
        Assert.Equal([0], relevance.ImagesFor(1));
        Assert.Empty(relevance.ImagesFor(2));
        Assert.Equal([1, 2], relevance.ImagesFor(3));
        Assert.Equal([0, 3], relevance.CaptionsFor(2));
        Assert.True(relevance.IsRelevant(0, 2));
        Assert.False(relevance.IsRelevant(2, 1));
    }

    [Fact]
    public void Numeric_image_ids_match_like_coco_ids()
    {
        var images = new[] { new ImageItem("9", null), new ImageItem("11", null) };
        var captions = new[] { new CaptionItem("123", 0, "a"), new CaptionItem("124", 1, "b") };
        var data = new ListDataset(images, captions);
        var path = folder.Write("r.json", """{"123": [9, 11], "124": ["11"]}""");
        var relevance = RelevanceFile.Load(path, data);
        Assert.Equal([0, 1], relevance.ImagesFor(0));
        Assert.Equal([1], relevance.ImagesFor(1));
    }

    [Fact]
    public void Options_add_own_images_and_allow_partial_files()
    {
        var data = Dataset();
        var path = folder.Write("partial.json", """{"c0": ["i2"]}""");

        var e = Assert.Throws<DataException>(() => RelevanceFile.Load(path, data));
        Assert.Contains(path, e.Message);
        Assert.Contains("3 of the 4 captions", e.Message);
        Assert.Contains("'c1'", e.Message);

        var partial = RelevanceFile.Load(path, data, new RelevanceFileOptions { RequireEveryCaption = false });
        Assert.Equal([2], partial.ImagesFor(0));
        Assert.Equal([0], partial.ImagesFor(1));
        Assert.Equal([2], partial.ImagesFor(3));

        var withOwn = RelevanceFile.Load(path, data, new RelevanceFileOptions { RequireEveryCaption = false, IncludeOwnImage = true });
        Assert.Equal([0, 2], withOwn.ImagesFor(0));
    }

    [Fact]
    public void Unknown_ids_are_errors_naming_the_id_and_the_file()
    {
        var data = Dataset();
        var badCaption = folder.Write("bad-caption.json", """{"c0": ["i0"], "c9": ["i0"]}""");
        var e = Assert.Throws<DataException>(() => RelevanceFile.Load(badCaption, data));
        Assert.Contains("caption id 'c9'", e.Message);
        Assert.Contains(badCaption, e.Message);

        var badImage = folder.Write("bad-image.json", """{"c0": ["i0", "i7"]}""");
        e = Assert.Throws<DataException>(() => RelevanceFile.Load(badImage, data));
        Assert.Contains("image id 'i7'", e.Message);
        Assert.Contains("'c0'", e.Message);
        Assert.Contains(badImage, e.Message);
    }

    [Fact]
    public void Wrong_layout_and_malformed_json_are_named()
    {
        var data = Dataset();
        var array = folder.Write("array.json", """[["c0", "i0"]]""");
        var e = Assert.Throws<DataException>(() => RelevanceFile.Load(array, data));
        Assert.Contains(array, e.Message);
        Assert.Contains("caption id -> list", e.Message);

        var notList = folder.Write("notlist.json", """{"c0": "i0"}""");
        e = Assert.Throws<DataException>(() => RelevanceFile.Load(notList, data));
        Assert.Contains("'c0'", e.Message);
        Assert.Contains("list of image ids", e.Message);

        var broken = folder.Write("broken.json", "{\"c0\": [\"i0\"],\n \"c1\": [\"i0\"\n");
        e = Assert.Throws<DataException>(() => RelevanceFile.Load(broken, data));
        Assert.Contains(broken, e.Message);
        Assert.Contains("line 3", e.Message);  // the file ends on line 3 with the list still open
        Assert.Contains("position 1", e.Message);
    }

    [Fact]
    public void Wrapper_replaces_only_the_relevance_and_save_round_trips()
    {
        var data = Dataset();
        var path = folder.Write("relevance.json", """{"c0": ["i0", "i1"], "c1": ["i0"], "c2": ["i1"], "c3": ["i2", "i0"]}""");

        var annotated = data.WithRelevanceFile(path);
        Assert.Same(data.Images, annotated.Images);
        Assert.Same(data.Captions, annotated.Captions);
        Assert.Equal(data.Name, annotated.Name);
        Assert.Equal([0, 1], annotated.Relevance.ImagesFor(0));
        Assert.Equal([0, 1, 3], annotated.Relevance.CaptionsFor(0));

        var renamed = data.WithRelevance(data.Relevance, "renamed");
        Assert.Equal("renamed", renamed.Name);
        Assert.Same(data.Relevance, renamed.Relevance);

        var copy = folder.PathOf("copy.json");
        RelevanceFile.Save(copy, data, annotated.Relevance);
        var again = RelevanceFile.Load(copy, data);
        for (int c = 0; c < data.Captions.Count; c++) Assert.Equal(annotated.Relevance.ImagesFor(c), again.ImagesFor(c));
    }
}
