using System.Text.RegularExpressions;
using Pcme.Data;

namespace Pcme.Tests.Data;

public class SyntheticDatasetTests
{
    static readonly SyntheticOptions Small = new() { Seed = 7, ImageCount = 120 };

    // ---- An independent reading of the caption text, evaluated on the scene graph by brute force. ----

    static readonly Regex Description = new("^an? (?:(red|green|blue|yellow|purple|orange) )?(circle|square|triangle|shape)$");

    static Func<SyntheticShape, bool> Fits(string description)
    {
        var m = Description.Match(description);
        Assert.True(m.Success, $"not a shape description: '{description}'");
        string? color = m.Groups[1].Success ? m.Groups[1].Value : null, kind = m.Groups[2].Value;
        return s => (color is null || s.Color.ToString().Equals(color, StringComparison.OrdinalIgnoreCase))
            && (kind == "shape" || s.Kind.ToString().Equals(kind, StringComparison.OrdinalIgnoreCase));
    }

    static bool TrueOf(string caption, SyntheticScene scene)
    {
        var s = scene.Shapes;
        if (caption == "some shapes") return s.Count >= 2;
        foreach (var (phrase, holds) in new (string, Func<SyntheticShape, SyntheticShape, bool>)[]
        {
            (" to the left of ", (a, b) => a.CenterX + a.Radius < b.CenterX - b.Radius),
            (" to the right of ", (a, b) => a.CenterX - a.Radius > b.CenterX + b.Radius),
            (" above ", (a, b) => a.CenterY + a.Radius < b.CenterY - b.Radius),
            (" below ", (a, b) => a.CenterY - a.Radius > b.CenterY + b.Radius),
            (" and ", (_, _) => true),
        })
        {
            int at = caption.IndexOf(phrase, StringComparison.Ordinal);
            if (at < 0) continue;
            var first = Fits(caption[..at]);
            var second = Fits(caption[(at + phrase.Length)..]);
            return s.Any(a => s.Any(b => !ReferenceEquals(a, b) && first(a) && second(b) && holds(a, b)));
        }
        return s.Any(Fits(caption));
    }

    [Fact]
    public void Relevance_is_the_caption_predicate_on_every_scene()
    {
        var data = new SyntheticDataset(Small);
        Assert.Equal(120, data.Images.Count);
        Assert.Equal(600, data.Captions.Count);
        var relevance = data.Relevance;
        var expectedCaptionsFor = Enumerable.Range(0, data.Images.Count).Select(_ => new List<int>()).ToArray();
        for (int c = 0; c < data.Captions.Count; c++)
        {
            var caption = data.Captions[c];
            var expected = Enumerable.Range(0, data.Images.Count).Where(i => TrueOf(caption.Text, data.Scenes[i])).ToArray();
            Assert.Contains(caption.ImageIndex, expected);                // true of the image it was written for
            Assert.Equal(expected, relevance.ImagesFor(c));
            for (int i = 0; i < data.Images.Count; i++) Assert.Equal(expected.Contains(i), relevance.IsRelevant(c, i));
            foreach (var i in expected) expectedCaptionsFor[i].Add(c);
            Assert.Equal(data.Predicates[c], SyntheticGrammar.Parse(caption.Text));
            Assert.Equal(data.Predicates[c].Specificity, caption.Specificity);
        }
        for (int i = 0; i < data.Images.Count; i++) Assert.Equal(expectedCaptionsFor[i], relevance.CaptionsFor(i));
        Assert.Equal(data.Images.Count, data.ImagesMatching("a shape").Count);
        Assert.Contains(data.Captions, c => c.Text.Contains("an orange"));
        Assert.DoesNotContain(data.Captions, c => c.Text.Contains("a orange"));
        Assert.Equal(Enumerable.Range(0, 120).Where(i => TrueOf("a red shape to the left of a circle", data.Scenes[i])),
            data.ImagesMatching("A red shape to the left of a circle."));
    }

    [Fact]
    public void Vaguer_levels_fit_strictly_more_images_on_average()
    {
        var data = new SyntheticDataset(Small with { ImageCount = 300 });
        var meanByLevel = data.Captions.Select((c, index) => (Level: c.Specificity!.Value, Count: data.Relevance.ImagesFor(index).Count))
            .GroupBy(x => x.Level).OrderBy(g => g.Key).Select(g => g.Average(x => x.Count)).ToArray();
        Assert.Equal(5, meanByLevel.Length);
        for (int level = 1; level < meanByLevel.Length; level++)
            Assert.True(meanByLevel[level] > meanByLevel[level - 1], $"level {level}: {meanByLevel[level]:F1} images vs level {level - 1}: {meanByLevel[level - 1]:F1}");
        Assert.True(meanByLevel[0] < 0.05 * 300 && meanByLevel[4] > 0.5 * 300, string.Join(", ", meanByLevel));
    }

    [Fact]
    public void Rendered_pixels_follow_the_scene_graph()
    {
        var data = new SyntheticDataset(Small with { ImageCount = 40 });
        var background = SyntheticPalette.Background;
        for (int i = 0; i < data.Images.Count; i++)
        {
            var image = data.LoadImage(i);
            var scene = data.Scenes[i];
            Assert.Equal((64, 64), (image.Width, image.Height));
            foreach (var (x, y) in new[] { (0, 0), (63, 0), (0, 63), (63, 63) }) Assert.Equal(background, At(image, x, y));
            foreach (var s in scene.Shapes)
            {
                var color = SyntheticPalette.Of(s.Color);
                Assert.Equal(color, At(image, s.CenterX, s.CenterY));
                // Exactness: each pixel of a box is the background or its shape's colour; a square fills its
                // box, a circle every pixel within Radius - 1 of the centre.
                for (int y = s.Top; y <= s.Bottom; y++)
                    for (int x = s.Left; x <= s.Right; x++)
                    {
                        var p = At(image, x, y);
                        Assert.True(p == color || p == background, $"image {i} pixel ({x}, {y}) in {s}: {p}");
                        if (s.Kind == ShapeKind.Square) Assert.Equal(color, p);
                        double d = Math.Sqrt((x - s.CenterX) * (x - s.CenterX) + (y - s.CenterY) * (y - s.CenterY));
                        if (s.Kind == ShapeKind.Circle && d <= s.Radius - 1) Assert.Equal(color, p);
                    }
            }
            for (int y = 0; y < 64; y++)
                for (int x = 0; x < 64; x++)
                    if (scene.ShapeAt(x, y) is null) Assert.Equal(background, At(image, x, y));
        }
    }

    static Rgb At(RgbImage image, int x, int y) { var (r, g, b) = image[x, y]; return new Rgb(r, g, b); }

    [Fact]
    public void Same_seed_same_data_other_seed_different()
    {
        var options = Small with { ImageCount = 30 };
        var a = new SyntheticDataset(options);
        var b = new SyntheticDataset(options with { CacheImages = false });
        var c = new SyntheticDataset(options with { Seed = 8 });
        Assert.Equal(a.Captions, b.Captions);
        Assert.Equal(a.Images.Select(i => i.Id), b.Images.Select(i => i.Id));
        for (int i = 0; i < 30; i++)
        {
            Assert.Equal(a.LoadImage(i).Pixels, b.LoadImage(i).Pixels);
            Assert.Equal(a.LoadImage(i).Pixels, a.LoadImage(i).Pixels);       // from the cache
        }
        Assert.NotEqual(a.Captions.Select(x => x.Text), c.Captions.Select(x => x.Text));
        Assert.Contains(Enumerable.Range(0, 30), i => !a.LoadImage(i).Pixels.AsSpan().SequenceEqual(c.LoadImage(i).Pixels));
        // Image g does not depend on how many images were generated.
        var larger = new SyntheticDataset(options with { ImageCount = 60 });
        Assert.Equal(a.Scenes.Select(s => s.ToString()), larger.Scenes.Take(30).Select(s => s.ToString()));
        Assert.Equal(a.Captions, larger.Captions.Take(a.Captions.Count));
    }

    [Fact]
    public void Splits_are_reproducible_disjoint_and_cover_the_set()
    {
        var options = Small with { ImageCount = 50 };
        var all = new SyntheticDataset(options);
        var splits = new[] { SyntheticSplit.Train, SyntheticSplit.Validation, SyntheticSplit.Test }.Select(s => new SyntheticDataset(options, s)).ToArray();
        Assert.Equal([40, 5, 5], splits.Select(s => s.Images.Count));
        Assert.Equal(Enumerable.Range(0, 50), splits.SelectMany(s => s.GlobalIndices).Order());
        Assert.Equal(splits[2].GlobalIndices, SyntheticDataset.SplitIndices(options, SyntheticSplit.Test));
        Assert.NotEqual(splits[2].GlobalIndices, SyntheticDataset.SplitIndices(options with { Seed = 99 }, SyntheticSplit.Test));
        var test = splits[2];
        Assert.Equal("synthetic-test", test.Name);
        for (int i = 0; i < test.Images.Count; i++)
        {
            int g = test.GlobalIndices[i];
            Assert.Equal(all.Images[g], test.Images[i] with { Labels = all.Images[g].Labels });
            Assert.Equal(all.Images[g].Labels, test.Images[i].Labels);
            Assert.Equal(all.LoadImage(g).Pixels, test.LoadImage(i).Pixels);
        }
        foreach (var caption in test.Captions)
            Assert.Equal(all.Captions.Single(c => c.Id == caption.Id).Text, caption.Text);
        // Relevance of a split is among its own images.
        for (int c = 0; c < test.Captions.Count; c++) Assert.All(test.Relevance.ImagesFor(c), i => Assert.InRange(i, 0, test.Images.Count - 1));
    }

    [Fact]
    public void Scenes_keep_their_invariants_and_levels_follow_the_shape_count()
    {
        var data = new SyntheticDataset(Small);
        for (int i = 0; i < data.Images.Count; i++)
        {
            var shapes = data.Scenes[i].Shapes;
            Assert.InRange(shapes.Count, 1, 3);
            Assert.Equal(shapes.Count, shapes.Select(s => (s.Color, s.Kind)).Distinct().Count());
            Assert.All(shapes, s => Assert.True(s.Left >= 2 && s.Top >= 2 && s.Right <= 61 && s.Bottom <= 61, s.ToString()));
            foreach (var a in shapes) foreach (var b in shapes) if (!ReferenceEquals(a, b)) Assert.True(a.IsSeparatedFrom(b, 2));
            var levels = data.Captions.Where(c => c.ImageIndex == i).Select(c => c.Specificity!.Value).ToArray();
            if (shapes.Count >= 2) Assert.Equal([0, 1, 2, 3, 4], levels.Order());
            else Assert.All(levels, l => Assert.InRange(l, 2, 4));
            Assert.Equal(data.Scenes[i].Categories, data.Images[i].Labels);
        }
        Assert.Contains(data.Scenes, s => s.Shapes.Count == 1);
        Assert.Contains(data.Scenes, s => s.Shapes.Count == 3);
    }

    [Fact]
    public void Options_are_validated_and_the_grammar_rejects_other_text()
    {
        Assert.Throws<ArgumentException>(() => new SyntheticDataset(Small with { ImageCount = 0 }));
        Assert.Throws<ArgumentException>(() => new SyntheticDataset(Small with { Specificities = [0, 1] }));
        Assert.Throws<ArgumentException>(() => new SyntheticDataset(Small with { MaxShapes = 4 }));
        var e = Assert.Throws<FormatException>(() => SyntheticGrammar.Parse("a red dog"));
        Assert.Contains("dog", e.Message);
        Assert.Throws<FormatException>(() => SyntheticGrammar.Parse("a red circle near a square"));
        Assert.Equal(new CountPredicate(3), SyntheticGrammar.Parse("at least 3 shapes"));
    }
}
