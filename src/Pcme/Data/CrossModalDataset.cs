namespace Pcme.Data;

/// <summary>An image of a data set.</summary>
/// <param name="Id">The data set's own id (COCO image id, CUB image name, synthetic index), unique within the set.</param>
/// <param name="Path">Where its pixels are (null for generated images).</param>
/// <param name="ClassId">Class index (CUB, synthetic), or null.</param>
/// <param name="Labels">Multi-hot category indices (COCO instances, for PMRP), or null.</param>
public sealed record ImageItem(string Id, string? Path, int? ClassId = null, IReadOnlyList<int>? Labels = null);

/// <summary>A caption of a data set.</summary>
/// <param name="Id">The data set's own caption id, unique within the set.</param>
/// <param name="ImageIndex">Index into <see cref="ICrossModalDataset.Images"/> of the image it was written for.</param>
/// <param name="Text">The raw caption.</param>
/// <param name="Specificity">Synthetic data only: 0 = most specific ... higher = vaguer; null elsewhere.</param>
public sealed record CaptionItem(string Id, int ImageIndex, string Text, int? Specificity = null);

/// <summary>An 8-bit RGB image, row-major, 3 bytes per pixel (HWC).</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Pixels">Width * Height * 3 bytes.</param>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    /// <summary>The (r, g, b) at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    public (byte R, byte G, byte B) this[int x, int y]
    {
        get { int o = (y * Width + x) * 3; return (Pixels[o], Pixels[o + 1], Pixels[o + 2]); }
    }
}

/// <summary>Which images are relevant to which captions (for losses' match matrices and for evaluation).</summary>
public interface IRelevance
{
    /// <summary>Whether image <paramref name="image"/> is a correct match for caption <paramref name="caption"/> (indices).</summary>
    bool IsRelevant(int caption, int image);
    /// <summary>All images relevant to a caption, ascending indices.</summary>
    IReadOnlyList<int> ImagesFor(int caption);
    /// <summary>All captions relevant to an image, ascending indices.</summary>
    IReadOnlyList<int> CaptionsFor(int image);
}

/// <summary>Something a loader skipped on purpose, counted and reported at the end of a run.</summary>
/// <param name="Source">The file (and line or id) it came from.</param>
/// <param name="Reason">Why it was skipped.</param>
public sealed record SkippedItem(string Source, string Reason);

/// <summary>
/// A cross-modal data set behind one interface: images, captions (each written for one image),
/// pixels on demand, relevance, and what was skipped while loading. Loaders are lazy: pixels are
/// decoded only when <see cref="LoadImage"/> is called.
/// </summary>
public interface ICrossModalDataset
{
    /// <summary>A short name for reports ("coco-karpathy-test", "cub-trainval", "synthetic").</summary>
    string Name { get; }
    /// <summary>The images.</summary>
    IReadOnlyList<ImageItem> Images { get; }
    /// <summary>The captions.</summary>
    IReadOnlyList<CaptionItem> Captions { get; }
    /// <summary>Relevance between captions and images.</summary>
    IRelevance Relevance { get; }
    /// <summary>Items skipped while loading (never silently dropped).</summary>
    IReadOnlyList<SkippedItem> Skipped { get; }
    /// <summary>Decodes image <paramref name="index"/>; throws <see cref="DataException"/> naming the file when it cannot.</summary>
    RgbImage LoadImage(int index);
}

/// <summary>Bad input data: the message names the file or id and says what to do.</summary>
public sealed class DataException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Relevance = the caption's own image only (COCO without labels, Flickr-style sets).</summary>
public sealed class OwnImageRelevance(IReadOnlyList<CaptionItem> captions, int imageCount) : IRelevance
{
    readonly int[][] byImage = Group(captions, imageCount);

    static int[][] Group(IReadOnlyList<CaptionItem> captions, int imageCount)
    {
        var lists = Enumerable.Range(0, imageCount).Select(_ => new List<int>()).ToArray();
        for (int c = 0; c < captions.Count; c++) lists[captions[c].ImageIndex].Add(c);
        return lists.Select(l => l.ToArray()).ToArray();
    }

    /// <inheritdoc />
    public bool IsRelevant(int caption, int image) => captions[caption].ImageIndex == image;
    /// <inheritdoc />
    public IReadOnlyList<int> ImagesFor(int caption) => [captions[caption].ImageIndex];
    /// <inheritdoc />
    public IReadOnlyList<int> CaptionsFor(int image) => byImage[image];
}

/// <summary>Relevance = same class (CUB, synthetic by class).</summary>
public sealed class SameClassRelevance : IRelevance
{
    readonly IReadOnlyList<CaptionItem> captions;
    readonly IReadOnlyList<ImageItem> images;
    readonly Dictionary<int, int[]> imagesByClass, captionsByClass;

    /// <summary>Builds the class index; every image needs a <see cref="ImageItem.ClassId"/>.</summary>
    public SameClassRelevance(IReadOnlyList<ImageItem> images, IReadOnlyList<CaptionItem> captions)
    {
        this.images = images; this.captions = captions;
        for (int i = 0; i < images.Count; i++)
            if (images[i].ClassId is null) throw new DataException($"Image '{images[i].Id}' has no class; same-class relevance needs one for every image.");
        imagesByClass = Enumerable.Range(0, images.Count).GroupBy(i => images[i].ClassId!.Value).ToDictionary(g => g.Key, g => g.ToArray());
        captionsByClass = Enumerable.Range(0, captions.Count).GroupBy(c => images[captions[c].ImageIndex].ClassId!.Value).ToDictionary(g => g.Key, g => g.ToArray());
    }

    /// <inheritdoc />
    public bool IsRelevant(int caption, int image) => images[captions[caption].ImageIndex].ClassId == images[image].ClassId;
    /// <inheritdoc />
    public IReadOnlyList<int> ImagesFor(int caption) => imagesByClass[images[captions[caption].ImageIndex].ClassId!.Value];
    /// <inheritdoc />
    public IReadOnlyList<int> CaptionsFor(int image) => captionsByClass.TryGetValue(images[image].ClassId!.Value, out var c) ? c : [];
}

/// <summary>Relevance from an explicit set of (caption, image) index pairs.</summary>
public sealed class ExplicitRelevance : IRelevance
{
    readonly HashSet<(int, int)> pairs;
    readonly int[][] imagesFor, captionsFor;

    /// <summary>Builds the index from pairs (caption index, image index).</summary>
    public ExplicitRelevance(IEnumerable<(int Caption, int Image)> relevantPairs, int captionCount, int imageCount)
    {
        pairs = relevantPairs.ToHashSet();
        var ifc = Enumerable.Range(0, captionCount).Select(_ => new List<int>()).ToArray();
        var cfi = Enumerable.Range(0, imageCount).Select(_ => new List<int>()).ToArray();
        foreach (var (c, i) in pairs.OrderBy(p => p.Item1).ThenBy(p => p.Item2)) { ifc[c].Add(i); cfi[i].Add(c); }
        imagesFor = ifc.Select(l => l.ToArray()).ToArray();
        captionsFor = cfi.Select(l => l.OrderBy(x => x).ToArray()).ToArray();
    }

    /// <inheritdoc />
    public bool IsRelevant(int caption, int image) => pairs.Contains((caption, image));
    /// <inheritdoc />
    public IReadOnlyList<int> ImagesFor(int caption) => imagesFor[caption];
    /// <inheritdoc />
    public IReadOnlyList<int> CaptionsFor(int image) => captionsFor[image];
}
