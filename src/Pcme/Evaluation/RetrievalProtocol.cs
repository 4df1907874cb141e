using System.Text.Json.Nodes;
using Pcme.Data;
using static TorchSharp.torch;

namespace Pcme.Evaluation;

/// <summary>
/// Scores a set of queries against a gallery: returns [queries.Count, gallery.Count], higher = better
/// match. Indices are into the data set's images or captions (image-to-text: queries are images, gallery
/// captions; text-to-image the reverse). Any scorer plugs in (cosine of means, match probability, ELK, ...);
/// the protocol calls it once per query block, so it only ever builds a block of scores.
/// </summary>
public delegate Tensor ScoreFunction(IReadOnlyList<int> queries, IReadOnlyList<int> gallery);

/// <summary>A subset of an image-caption set evaluated on its own (a COCO 1K fold, the 5K set, a CUB split).</summary>
/// <param name="Name">For reports ("5K", "1K fold 3").</param>
/// <param name="Images">Image indices, in query/gallery order.</param>
/// <param name="Captions">Caption indices, in query/gallery order.</param>
public sealed record CrossModalSplit(string Name, IReadOnlyList<int> Images, IReadOnlyList<int> Captions);

/// <summary>One split evaluated in both directions.</summary>
/// <param name="Split">What was evaluated.</param>
/// <param name="Metrics">i2t and t2i metrics.</param>
/// <param name="ImageToText">Per-query outcomes of the image queries (order of <see cref="CrossModalSplit.Images"/>).</param>
/// <param name="TextToImage">Per-query outcomes of the caption queries (order of <see cref="CrossModalSplit.Captions"/>).</param>
public sealed record CrossModalEvaluation(CrossModalSplit Split, CrossModalMetrics Metrics, QueryOutcomes ImageToText, QueryOutcomes TextToImage)
{
    /// <summary>As JSON: <c>{"split", "images", "captions", "i2t", "t2i", "rsum"}</c>.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["split"] = Split.Name, ["images"] = Split.Images.Count, ["captions"] = Split.Captions.Count };
        foreach (var (key, value) in Metrics.ToJson()) json[key] = value?.DeepClone();
        return json;
    }
}

/// <summary>
/// The result of a protocol: the per-split evaluations and their mean (for one split, the mean is that split).
/// </summary>
/// <param name="Name">"5K", "1K", or a caller's name.</param>
/// <param name="Mean">The unweighted mean over <see cref="Folds"/> (<see cref="CrossModalMetrics.Average"/>).</param>
/// <param name="Folds">Each split's evaluation.</param>
public sealed record ProtocolResult(string Name, CrossModalMetrics Mean, IReadOnlyList<CrossModalEvaluation> Folds)
{
    /// <summary>As JSON: <c>{"protocol", "mean": {"i2t", "t2i", "rsum"}, "folds": [...]}</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["protocol"] = Name,
        ["mean"] = Mean.ToJson(),
        ["folds"] = new JsonArray(Folds.Select(f => (JsonNode)f.ToJson()).ToArray()),
    };

    /// <summary>A text table of the mean (<see cref="CrossModalMetrics.ToTable"/>) under a title line.</summary>
    public string ToTable() => $"{Name} ({Folds.Count} fold{(Folds.Count == 1 ? "" : "s")}){Environment.NewLine}{Mean.ToTable()}";
}

/// <summary>
/// Evaluates an image-caption set in both directions with any pair of score functions: image-to-text
/// (image queries over the caption gallery) and text-to-image (caption queries over the image gallery).
/// Knows which image each caption was written for (to form splits), the relevance, and optionally the
/// images' multi-hot labels (then PMRP is reported; a caption carries its image's labels).
/// </summary>
public sealed class RetrievalProtocol
{
    readonly int[] captionImages;

    /// <summary>Creates the protocol.</summary>
    /// <param name="captionImages">For each caption, the index of the image it was written for.</param>
    /// <param name="imageCount">Number of images.</param>
    /// <param name="relevance">Relevance between captions and images (data set indices); null = each caption's own image only.</param>
    /// <param name="imageLabels">Multi-hot labels of the images for PMRP, or null for none.</param>
    /// <param name="options">Cut-offs, block size, PMRP settings.</param>
    public RetrievalProtocol(IReadOnlyList<int> captionImages, int imageCount, IRelevance? relevance = null, MultiHotLabels? imageLabels = null, EvaluationOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(imageCount);
        this.captionImages = captionImages.ToArray();
        for (int c = 0; c < this.captionImages.Length; c++)
            if (this.captionImages[c] < 0 || this.captionImages[c] >= imageCount)
                throw new ArgumentOutOfRangeException(nameof(captionImages), $"Caption {c} belongs to image {this.captionImages[c]}, outside [0, {imageCount}).");
        if (imageLabels is not null && imageLabels.Count != imageCount)
            throw new ArgumentException($"Image labels cover {imageLabels.Count} images; there are {imageCount}.", nameof(imageLabels));
        ImageCount = imageCount;
        Relevance = relevance;
        ImageLabels = imageLabels;
        Options = (options ?? new EvaluationOptions()).Validated();
        All = new CrossModalSplit("all", Enumerable.Range(0, imageCount).ToArray(), Enumerable.Range(0, this.captionImages.Length).ToArray());
    }

    /// <summary>
    /// The protocol of a data set: its captions' images, its <see cref="ICrossModalDataset.Relevance"/>, and, when
    /// any image has <see cref="ImageItem.Labels"/>, those labels for PMRP (images with none are unlabelled).
    /// </summary>
    public static RetrievalProtocol FromDataset(ICrossModalDataset dataset, EvaluationOptions? options = null)
    {
        var labels = dataset.Images.Any(i => i.Labels is not null)
            ? MultiHotLabels.FromIndices(dataset.Images.Select(i => i.Labels).ToArray())
            : null;
        return new RetrievalProtocol(dataset.Captions.Select(c => c.ImageIndex).ToArray(), dataset.Images.Count, dataset.Relevance, labels, options);
    }

    /// <summary>Number of images.</summary>
    public int ImageCount { get; }
    /// <summary>Number of captions.</summary>
    public int CaptionCount => captionImages.Length;
    /// <summary>For each caption, the image it was written for.</summary>
    public IReadOnlyList<int> CaptionImages => captionImages;
    /// <summary>The relevance, or null for "own image only".</summary>
    public IRelevance? Relevance { get; }
    /// <summary>Image labels for PMRP, or null.</summary>
    public MultiHotLabels? ImageLabels { get; }
    /// <summary>The evaluation settings.</summary>
    public EvaluationOptions Options { get; }
    /// <summary>Every image and every caption.</summary>
    public CrossModalSplit All { get; }

    /// <summary>The split of <paramref name="images"/> and the captions written for them (ascending caption index).</summary>
    public CrossModalSplit Split(string name, IReadOnlyList<int> images)
    {
        var inSplit = new bool[ImageCount];
        foreach (var i in images)
        {
            if (i < 0 || i >= ImageCount) throw new ArgumentOutOfRangeException(nameof(images), $"Image {i} is outside [0, {ImageCount}).");
            inSplit[i] = true;
        }
        var captions = Enumerable.Range(0, CaptionCount).Where(c => inSplit[captionImages[c]]).ToArray();
        return new CrossModalSplit(name, images.ToArray(), captions);
    }

    /// <summary>Evaluates one split (default: everything) in both directions.</summary>
    /// <param name="imageToText">Scores image queries against captions.</param>
    /// <param name="textToImage">Scores caption queries against images.</param>
    /// <param name="split">What to evaluate; null = <see cref="All"/>.</param>
    public CrossModalEvaluation Evaluate(ScoreFunction imageToText, ScoreFunction textToImage, CrossModalSplit? split = null)
    {
        split ??= All;
        var images = split.Images.ToArray();
        var captions = split.Captions.ToArray();
        var captionsImages = captions.Select(c => captionImages[c]).ToArray();
        GalleryRelevance i2tRelevance, t2iRelevance;
        if (Relevance is null)
        {
            // Own image only: a caption's id is its image's index.
            i2tRelevance = GalleryRelevance.FromIds(images, captionsImages);
            t2iRelevance = GalleryRelevance.FromIds(captionsImages, images);
        }
        else
        {
            i2tRelevance = GalleryRelevance.ImageToText(Relevance, images, captions);
            t2iRelevance = GalleryRelevance.TextToImage(Relevance, captions, images);
        }
        PlausibleMatchLabels? i2tLabels = null, t2iLabels = null;
        if (ImageLabels is not null)
        {
            var imageLabels = ImageLabels.Select(images);
            var captionLabels = ImageLabels.Select(captionsImages);
            i2tLabels = new PlausibleMatchLabels(imageLabels, captionLabels);
            t2iLabels = new PlausibleMatchLabels(captionLabels, imageLabels);
        }
        var i2t = RetrievalEvaluator.Evaluate((start, count) => imageToText(new ArraySegment<int>(images, start, count), captions),
            images.Length, captions.Length, i2tRelevance, Options, i2tLabels);
        var t2i = RetrievalEvaluator.Evaluate((start, count) => textToImage(new ArraySegment<int>(captions, start, count), images),
            captions.Length, images.Length, t2iRelevance, Options, t2iLabels);
        return new CrossModalEvaluation(split, new CrossModalMetrics(i2t.Metrics, t2i.Metrics), i2t.Queries, t2i.Queries);
    }

    /// <summary>Evaluates each split on its own and averages them (unweighted, as the official n-fold evaluation).</summary>
    /// <param name="name">The protocol's name for reports.</param>
    /// <param name="splits">The splits (folds).</param>
    /// <param name="imageToText">Scores image queries against captions.</param>
    /// <param name="textToImage">Scores caption queries against images.</param>
    public ProtocolResult EvaluateSplits(string name, IReadOnlyList<CrossModalSplit> splits, ScoreFunction imageToText, ScoreFunction textToImage)
    {
        if (splits.Count == 0) throw new ArgumentException("At least one split is needed.", nameof(splits));
        var folds = splits.Select(s => Evaluate(imageToText, textToImage, s)).ToArray();
        return new ProtocolResult(name, CrossModalMetrics.Average(folds.Select(f => f.Metrics).ToArray()), folds);
    }
}

/// <summary>
/// The two MS-COCO test protocols (Karpathy test split: 5,000 images, 25,000 captions).
/// <list type="bullet">
/// <item><b>5K</b>: every image against every caption, both directions.</item>
/// <item><b>1K</b>: five folds, fold f = images [1000 f, 1000 f + 1000) and the captions written for them;
/// each fold is evaluated on its own (a 1,000 x 5,000 problem) and the five results are averaged metric
/// by metric (official <c>evaluate_n_fold</c>; PMRP too, as <c>evaluate_pmrp_coco.py --n_fold</c>). The
/// official code slices captions [5000 f, 5000 f + 5000) after ordering them by image, which is the same
/// set when every image has five captions.</item>
/// </list>
/// </summary>
public static class CocoProtocol
{
    /// <summary>Images per 1K fold.</summary>
    public const int DefaultFoldSize = 1000;
    /// <summary>Folds of the 1K protocol.</summary>
    public const int DefaultFoldCount = 5;

    /// <summary>
    /// The 1K folds: fold f = images [f * foldSize, (f + 1) * foldSize) and their captions. Needs at least
    /// foldCount * foldSize images; images after those are in no fold.
    /// </summary>
    public static IReadOnlyList<CrossModalSplit> OneKFolds(RetrievalProtocol protocol, int foldSize = DefaultFoldSize, int foldCount = DefaultFoldCount)
    {
        if (foldSize < 1 || foldCount < 1) throw new ArgumentOutOfRangeException(nameof(foldSize), "Fold size and count must be positive.");
        if ((long)foldSize * foldCount > protocol.ImageCount)
            throw new ArgumentException($"{foldCount} folds of {foldSize} images need {(long)foldSize * foldCount} images; the set has {protocol.ImageCount}.", nameof(protocol));
        return Enumerable.Range(0, foldCount)
            .Select(f => protocol.Split($"1K fold {f + 1}", Enumerable.Range(f * foldSize, foldSize).ToArray()))
            .ToArray();
    }

    /// <summary>The 5K protocol: all images x all captions (one "fold").</summary>
    public static ProtocolResult FiveK(RetrievalProtocol protocol, ScoreFunction imageToText, ScoreFunction textToImage) =>
        protocol.EvaluateSplits("5K", [protocol.All with { Name = "5K" }], imageToText, textToImage);

    /// <summary>The 1K protocol: the mean over <paramref name="foldCount"/> folds of <paramref name="foldSize"/> images.</summary>
    public static ProtocolResult OneK(RetrievalProtocol protocol, ScoreFunction imageToText, ScoreFunction textToImage, int foldSize = DefaultFoldSize, int foldCount = DefaultFoldCount) =>
        protocol.EvaluateSplits("1K", OneKFolds(protocol, foldSize, foldCount), imageToText, textToImage);
}
