namespace Pcme.Data;

/// <summary>Which part of a synthetic data set to use.</summary>
public enum SyntheticSplit
{
    /// <summary>Every image.</summary>
    All,
    /// <summary>The first <see cref="SyntheticOptions.TrainFraction"/> of a seeded permutation of the images.</summary>
    Train,
    /// <summary>The next <see cref="SyntheticOptions.ValidationFraction"/>.</summary>
    Validation,
    /// <summary>The rest.</summary>
    Test,
}

/// <summary>Settings of a <see cref="SyntheticDataset"/>. The same options always give the same images, captions and splits.</summary>
public sealed record SyntheticOptions
{
    /// <summary>Seed of everything random: scenes, captions, split permutation.</summary>
    public int Seed { get; init; }
    /// <summary>Images in the whole set (all splits together).</summary>
    public int ImageCount { get; init; } = 1000;
    /// <summary>Width = height of an image in pixels (at least 32).</summary>
    public int ImageSize { get; init; } = 64;
    /// <summary>Captions written for each image.</summary>
    public int CaptionsPerImage { get; init; } = 5;
    /// <summary>Fewest shapes in a scene (at least 1).</summary>
    public int MinShapes { get; init; } = 1;
    /// <summary>Most shapes in a scene (at most 3: the caption grammar talks about pairs, and boxes must fit).</summary>
    public int MaxShapes { get; init; } = 3;
    /// <summary>Smallest shape half-extent as a fraction of <see cref="ImageSize"/> (at least 2 pixels after rounding).</summary>
    public double MinShapeRadius { get; init; } = 0.08;
    /// <summary>Largest shape half-extent as a fraction of <see cref="ImageSize"/>.</summary>
    public double MaxShapeRadius { get; init; } = 0.14;
    /// <summary>
    /// Caption levels to generate (<see cref="SyntheticGrammar"/>; 0 = most specific, 4 = vaguest). Each
    /// image cycles through the levels its scene allows (0-1 need two shapes) in a seeded order, so
    /// five captions of a three-shape scene cover all five levels.
    /// </summary>
    public IReadOnlyList<int> Specificities { get; init; } = [0, 1, 2, 3, 4];
    /// <summary>Fraction of images in <see cref="SyntheticSplit.Train"/> (rounded down).</summary>
    public double TrainFraction { get; init; } = 0.8;
    /// <summary>Fraction of images in <see cref="SyntheticSplit.Validation"/> (rounded down); the test split gets the rest.</summary>
    public double ValidationFraction { get; init; } = 0.1;
    /// <summary>Keep rendered pixels (3 x ImageSize^2 bytes per image) after the first <see cref="SyntheticDataset.LoadImage"/>.</summary>
    public bool CacheImages { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (ImageCount < 1) throw new ArgumentException($"ImageCount must be positive, not {ImageCount}.");
        if (ImageSize < 32) throw new ArgumentException($"ImageSize must be at least 32 pixels, not {ImageSize}.");
        if (CaptionsPerImage < 1) throw new ArgumentException($"CaptionsPerImage must be positive, not {CaptionsPerImage}.");
        if (MinShapes < 1 || MaxShapes > 3 || MinShapes > MaxShapes) throw new ArgumentException($"Shapes per scene must satisfy 1 <= MinShapes <= MaxShapes <= 3; got {MinShapes}..{MaxShapes}.");
        if (!(MinShapeRadius > 0) || MaxShapeRadius < MinShapeRadius || MaxShapeRadius > 0.25)
            throw new ArgumentException($"Shape radii must satisfy 0 < MinShapeRadius <= MaxShapeRadius <= 0.25 (fractions of ImageSize); got {MinShapeRadius}..{MaxShapeRadius}.");
        if (Specificities is null || Specificities.Count == 0 || Specificities.Any(l => l < SyntheticGrammar.MostSpecific || l > SyntheticGrammar.Vaguest))
            throw new ArgumentException($"Specificities must be a non-empty subset of {SyntheticGrammar.MostSpecific}..{SyntheticGrammar.Vaguest}.");
        if (MinShapes == 1 && !Specificities.Any(l => l >= 2))
            throw new ArgumentException("One-shape scenes have only level 2-4 captions: include one of them in Specificities or set MinShapes = 2.");
        if (TrainFraction < 0 || ValidationFraction < 0 || TrainFraction + ValidationFraction > 1)
            throw new ArgumentException($"TrainFraction and ValidationFraction must be non-negative and add up to at most 1; got {TrainFraction} + {ValidationFraction}.");
    }
}

/// <summary>
/// A many-to-many synthetic image-caption set generated in-process: 1-3 coloured shapes on a plain
/// background (<see cref="SyntheticScene"/>), rendered exactly (<see cref="SyntheticRenderer"/>), and
/// captions from a small grammar at five levels of specificity (<see cref="SyntheticGrammar"/>;
/// the level is <see cref="CaptionItem.Specificity"/>). Every caption is a predicate over scenes, so
/// relevance is exact for every caption-image pair, not only a caption's own image: vague captions
/// ("a circle") fit many images, precise ones ("a red circle to the left of a blue square") few —
/// the structure PCME's variances should learn.
/// <para>Determinism: image g's scene and captions come from streams seeded by (seed, g), so they do
/// not depend on <see cref="SyntheticOptions.ImageCount"/>; the split is a seeded permutation of all
/// images. Ids name the image's index in the whole set ("synthetic-000042", caption
/// "synthetic-000042-3") and stay the same in every split. Relevance of a split is among its own
/// images. Pixels are rendered on the first <see cref="LoadImage"/>.</para>
/// </summary>
public sealed class SyntheticDataset : ICrossModalDataset
{
    // Stream purposes, so scenes, captions and the split draw from unrelated streams.
    const ulong SceneStream = 1, CaptionStream = 2, SplitStream = 3;
    // Empty pixels kept around the image border (so the corners are background) and between shape boxes.
    const int BorderMargin = 2, ShapeGap = 2;

    readonly SyntheticScene[] scenes;
    readonly CaptionPredicate[] predicates;
    readonly int[] globalIndices;
    readonly RgbImage?[] cache;

    /// <summary>Generates the images and captions of <paramref name="split"/> (pixels come later, on demand).</summary>
    public SyntheticDataset(SyntheticOptions? options = null, SyntheticSplit split = SyntheticSplit.All)
    {
        Options = options ?? new SyntheticOptions();
        Options.Validate();
        Split = split;
        globalIndices = SplitIndices(Options, split).ToArray();
        scenes = globalIndices.Select(g => GenerateScene(Options, g)).ToArray();
        var images = new List<ImageItem>();
        var captions = new List<CaptionItem>();
        var captionPredicates = new List<CaptionPredicate>();
        for (int i = 0; i < globalIndices.Length; i++)
        {
            int g = globalIndices[i];
            images.Add(new ImageItem(ImageId(g), null, null, scenes[i].Categories));
            var written = GenerateCaptions(Options, g, scenes[i]);
            for (int k = 0; k < written.Count; k++)
            {
                captions.Add(new CaptionItem($"{ImageId(g)}-{k}", i, written[k].Text, written[k].Specificity));
                captionPredicates.Add(written[k]);
            }
        }
        Images = images;
        Captions = captions;
        predicates = captionPredicates.ToArray();
        Relevance = new PredicateRelevance(predicates, scenes);
        cache = new RgbImage?[scenes.Length];
    }

    /// <summary>The options it was generated from.</summary>
    public SyntheticOptions Options { get; }
    /// <summary>The split it holds.</summary>
    public SyntheticSplit Split { get; }

    /// <inheritdoc />
    public string Name => Split == SyntheticSplit.All ? "synthetic" : $"synthetic-{Split.ToString().ToLowerInvariant()}";
    /// <inheritdoc />
    public IReadOnlyList<ImageItem> Images { get; }
    /// <inheritdoc />
    public IReadOnlyList<CaptionItem> Captions { get; }
    /// <inheritdoc />
    public IRelevance Relevance { get; }
    /// <inheritdoc />
    public IReadOnlyList<SkippedItem> Skipped { get; } = [];

    /// <summary>The scene graph of each image, by image index.</summary>
    public IReadOnlyList<SyntheticScene> Scenes => scenes;
    /// <summary>The predicate of each caption, by caption index (what the caption claims; see <see cref="CaptionPredicate.Holds"/>).</summary>
    public IReadOnlyList<CaptionPredicate> Predicates => predicates;
    /// <summary>Each image's index in the whole set (<see cref="SyntheticSplit.All"/>).</summary>
    public IReadOnlyList<int> GlobalIndices => globalIndices;

    /// <summary>Images of this set on which <paramref name="caption"/> holds (any grammatical caption, see <see cref="SyntheticGrammar.Parse"/>).</summary>
    public IReadOnlyList<int> ImagesMatching(string caption)
    {
        var predicate = SyntheticGrammar.Parse(caption);
        return Enumerable.Range(0, scenes.Length).Where(i => predicate.Holds(scenes[i])).ToArray();
    }

    /// <summary>Renders image <paramref name="index"/> (a fresh copy of cached pixels when <see cref="SyntheticOptions.CacheImages"/>).</summary>
    public RgbImage LoadImage(int index)
    {
        if ((uint)index >= (uint)scenes.Length) throw new ArgumentOutOfRangeException(nameof(index), index, $"The set has {scenes.Length} images.");
        var image = Volatile.Read(ref cache[index]);
        if (image is null)
        {
            // Rendering is deterministic, so two threads racing here store identical pixels.
            image = SyntheticRenderer.Render(scenes[index]);
            if (Options.CacheImages) Volatile.Write(ref cache[index], image);
            else return image;
        }
        return image with { Pixels = (byte[])image.Pixels.Clone() };
    }

    /// <summary>The id of image <paramref name="globalIndex"/> of the whole set.</summary>
    public static string ImageId(int globalIndex) => $"synthetic-{globalIndex:D6}";

    /// <summary>Indices (in the whole set, ascending) of the images of <paramref name="split"/>.</summary>
    public static IReadOnlyList<int> SplitIndices(SyntheticOptions options, SyntheticSplit split)
    {
        options.Validate();
        int n = options.ImageCount;
        if (split == SyntheticSplit.All) return Enumerable.Range(0, n).ToArray();
        var order = Enumerable.Range(0, n).ToArray();
        SeededRandom.Derive(Seed(options), SplitStream).Shuffle(order);
        int train = (int)Math.Floor(options.TrainFraction * n), validation = (int)Math.Floor(options.ValidationFraction * n);
        var (start, count) = split switch
        {
            SyntheticSplit.Train => (0, train),
            SyntheticSplit.Validation => (train, validation),
            _ => (train + validation, n - train - validation),
        };
        return order.Skip(start).Take(count).Order().ToArray();
    }

    /// <summary>
    /// The scene of image <paramref name="globalIndex"/>: a seeded number of shapes with distinct
    /// (colour, kind), seeded radii, positions drawn until every box keeps <c>2</c> empty pixels to
    /// the border and to every other box.
    /// </summary>
    public static SyntheticScene GenerateScene(SyntheticOptions options, int globalIndex)
    {
        var random = SeededRandom.Derive(Seed(options), SceneStream, (ulong)globalIndex);
        int size = options.ImageSize;
        int minRadius = Math.Max(2, (int)Math.Round(options.MinShapeRadius * size));
        int maxRadius = Math.Max(minRadius, (int)Math.Round(options.MaxShapeRadius * size));
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            int n = random.NextInclusive(options.MinShapes, options.MaxShapes);
            var categories = Enumerable.Range(0, SyntheticScene.CategoryCount).ToArray();
            random.Shuffle(categories);
            var shapes = new List<SyntheticShape>(n);
            int kinds = Enum.GetValues<ShapeKind>().Length;
            foreach (int category in categories.Take(n))
            {
                int radius = random.NextInclusive(minRadius, maxRadius);
                int lo = BorderMargin + radius, hi = size - 1 - BorderMargin - radius;
                for (int place = 0; place < 50; place++)
                {
                    var shape = new SyntheticShape((ShapeColor)(category / kinds), (ShapeKind)(category % kinds),
                        random.NextInclusive(lo, hi), random.NextInclusive(lo, hi), radius);
                    if (shapes.All(s => s.IsSeparatedFrom(shape, ShapeGap))) { shapes.Add(shape); break; }
                }
            }
            if (shapes.Count == n) return new SyntheticScene(size, shapes);
        }
        throw new InvalidOperationException($"Could not place {options.MaxShapes} separated shapes of radius up to {maxRadius} px in a {size} px image; lower MaxShapeRadius.");
    }

    /// <summary>The captions written for image <paramref name="globalIndex"/> with scene <paramref name="scene"/> (predicates; their text is the caption).</summary>
    public static IReadOnlyList<CaptionPredicate> GenerateCaptions(SyntheticOptions options, int globalIndex, SyntheticScene scene)
    {
        var random = SeededRandom.Derive(Seed(options), CaptionStream, (ulong)globalIndex);
        var levels = SyntheticGrammar.LevelsFor(scene).Intersect(options.Specificities).Order().ToArray();
        var result = new List<CaptionPredicate>(options.CaptionsPerImage);
        var order = new List<int>();
        while (result.Count < options.CaptionsPerImage)
        {
            if (order.Count == 0) { order.AddRange(levels); random.Shuffle(order); }
            int level = order[^1];
            order.RemoveAt(order.Count - 1);
            // A few redraws avoid writing the same caption twice for one image; a scene with few
            // distinct captions at a level (one shape, "a shape") may still repeat one.
            CaptionPredicate caption = SyntheticGrammar.Describe(scene, level, random);
            for (int retry = 0; retry < 8 && result.Any(r => r.Text == caption.Text); retry++)
                caption = SyntheticGrammar.Describe(scene, level, random);
            result.Add(caption);
        }
        return result;
    }

    static ulong Seed(SyntheticOptions options) => (ulong)(uint)options.Seed;
}
