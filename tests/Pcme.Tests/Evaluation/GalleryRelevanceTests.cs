using Pcme.Data;
using Pcme.Evaluation;

namespace Pcme.Tests.Evaluation;

public class GalleryRelevanceTests
{
    [Fact]
    public void Lists_are_sorted_deduplicated_and_checked()
    {
        var r = GalleryRelevance.FromLists([[3, 1, 3], [], [0]], 4);
        Assert.Equal(3, r.QueryCount);
        Assert.Equal(4, r.GalleryCount);
        Assert.Equal([1, 3], r.For(0));
        Assert.Empty(r.For(1));
        Assert.Equal(2, r.CountFor(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => GalleryRelevance.FromLists([[4]], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => GalleryRelevance.FromLists([[-1]], 4));
    }

    [Fact]
    public void Ids_match_by_equality_in_both_directions()
    {
        // Captions' image ids vs image ids: t2i has one relevant image per caption, i2t all captions of an image.
        string[] imageIds = ["a", "b", "c"];
        string[] captionImageIds = ["b", "a", "a", "z", "b"];
        var t2i = GalleryRelevance.FromIds(captionImageIds, imageIds);
        Assert.Equal([1], t2i.For(0));
        Assert.Equal([0], t2i.For(1));
        Assert.Empty(t2i.For(3));   // "z" is no image
        var i2t = GalleryRelevance.FromIds(imageIds, captionImageIds);
        Assert.Equal([1, 2], i2t.For(0));
        Assert.Equal([0, 4], i2t.For(1));
        Assert.Empty(i2t.For(2));
        var byClass = GalleryRelevance.FromClasses([7, 8], [8, 7, 7]);
        Assert.Equal([1, 2], byClass.For(0));
        Assert.Equal([0], byClass.For(1));
    }

    [Fact]
    public void Data_set_relevance_gives_both_directions()
    {
        // Captions 0,1 -> image 0; 2 -> image 2; 3 -> image 1; 4 -> image 0.
        var captions = new[] { 0, 0, 2, 1, 0 }.Select((image, c) => new CaptionItem($"c{c}", image, "text")).ToArray();
        var both = CrossModalRelevance.From(new OwnImageRelevance(captions, 3), imageCount: 3, captionCount: 5);
        Assert.Equal([0, 1, 4], both.ImageToText.For(0));
        Assert.Equal([3], both.ImageToText.For(1));
        Assert.Equal([2], both.ImageToText.For(2));
        Assert.Equal([0], both.TextToImage.For(4));
        Assert.Equal([1], both.TextToImage.For(3));

        // An explicit relevance with a caption relevant to two images.
        var explicitPairs = new ExplicitRelevance([(0, 0), (0, 2), (1, 1)], captionCount: 2, imageCount: 3);
        var e = CrossModalRelevance.From(explicitPairs, 3, 2);
        Assert.Equal([0, 2], e.TextToImage.For(0));
        Assert.Equal([0], e.ImageToText.For(2));

        // A subset: images [2, 0] against captions [4, 2]: image 2 -> caption 2 (local 1), image 0 -> caption 4 (local 0).
        var sub = GalleryRelevance.ImageToText(new OwnImageRelevance(captions, 3), [2, 0], [4, 2]);
        Assert.Equal([1], sub.For(0));
        Assert.Equal([0], sub.For(1));
        var subT2i = GalleryRelevance.TextToImage(new OwnImageRelevance(captions, 3), [4, 2, 3], [2, 0]);
        Assert.Equal([1], subT2i.For(0));
        Assert.Equal([0], subT2i.For(1));
        Assert.Empty(subT2i.For(2));   // caption 3's image 1 is not in the subset
    }

    [Fact]
    public void Restrict_reindexes_queries_and_gallery()
    {
        var r = GalleryRelevance.FromLists([[0, 3], [1], [2, 3]], 4);
        var sub = r.Restrict([2, 0], [3, 0]);
        Assert.Equal(2, sub.QueryCount);
        Assert.Equal(2, sub.GalleryCount);
        Assert.Equal([0], sub.For(0));      // query 2: item 3 -> local 0 (item 2 dropped)
        Assert.Equal([0, 1], sub.For(1));   // query 0: items 3, 0 -> local 0, 1
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Restrict([3], [0]));
        Assert.Throws<ArgumentException>(() => r.Restrict([0], [1, 1]));
    }
}
