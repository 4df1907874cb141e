using Pcme.Data;

namespace Pcme.Evaluation;

/// <summary>
/// Which gallery items are correct answers for each query of one retrieval direction: for query q
/// (a row of the score matrix) the ascending, duplicate-free indices of its relevant gallery items
/// (columns). Built from explicit lists, from ids (a caption's image id against image ids), from class
/// labels (CUB: same class), or from a <see cref="IRelevance"/> of a data set.
/// </summary>
public sealed class GalleryRelevance
{
    readonly int[][] relevant;

    GalleryRelevance(int[][] relevant, int galleryCount)
    {
        this.relevant = relevant;
        GalleryCount = galleryCount;
    }

    /// <summary>Number of queries (rows of the score matrix).</summary>
    public int QueryCount => relevant.Length;

    /// <summary>Number of gallery items (columns of the score matrix).</summary>
    public int GalleryCount { get; }

    /// <summary>The relevant gallery indices of <paramref name="query"/>, ascending, without duplicates (possibly empty).</summary>
    public IReadOnlyList<int> For(int query) => relevant[query];

    /// <summary>R, the number of relevant gallery items of <paramref name="query"/>.</summary>
    public int CountFor(int query) => relevant[query].Length;

    /// <summary>Explicit lists: element q lists the gallery indices relevant to query q (any order; duplicates are dropped).</summary>
    /// <param name="relevantPerQuery">One list per query.</param>
    /// <param name="galleryCount">The gallery size; every index must lie in [0, galleryCount).</param>
    public static GalleryRelevance FromLists(IEnumerable<IEnumerable<int>> relevantPerQuery, int galleryCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(galleryCount);
        var lists = relevantPerQuery.Select((items, q) =>
        {
            var sorted = items.Distinct().Order().ToArray();
            foreach (var g in sorted)
                if (g < 0 || g >= galleryCount)
                    throw new ArgumentOutOfRangeException(nameof(relevantPerQuery), $"Query {q} lists gallery index {g}, outside [0, {galleryCount}).");
            return sorted;
        }).ToArray();
        return new GalleryRelevance(lists, galleryCount);
    }

    /// <summary>
    /// Relevant = same id: gallery item g is relevant to query q when <c>queryIds[q]</c> equals
    /// <c>galleryIds[g]</c>. For text-to-image pass each caption's image id and the image ids; for
    /// image-to-text the image ids and each caption's image id.
    /// </summary>
    public static GalleryRelevance FromIds<TId>(IReadOnlyList<TId> queryIds, IReadOnlyList<TId> galleryIds) where TId : notnull
    {
        var byId = new Dictionary<TId, List<int>>();
        for (int g = 0; g < galleryIds.Count; g++)
        {
            if (!byId.TryGetValue(galleryIds[g], out var list)) byId[galleryIds[g]] = list = [];
            list.Add(g);
        }
        var lists = new int[queryIds.Count][];
        // Gallery indices were appended in ascending order, so each list is already sorted; queries that
        // share an id share one array.
        var arrays = byId.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        for (int q = 0; q < lists.Length; q++)
            lists[q] = arrays.TryGetValue(queryIds[q], out var found) ? found : [];
        return new GalleryRelevance(lists, galleryIds.Count);
    }

    /// <summary>Relevant = same class (the CUB protocol): <see cref="FromIds{TId}"/> on class labels.</summary>
    public static GalleryRelevance FromClasses(IReadOnlyList<int> queryClasses, IReadOnlyList<int> galleryClasses) =>
        FromIds(queryClasses, galleryClasses);

    /// <summary>
    /// Image-to-text relevance from a data set's <see cref="IRelevance"/> (<see cref="IRelevance.CaptionsFor"/>),
    /// restricted to a subset: query k is image <c>images[k]</c>, gallery item j is caption <c>captions[j]</c>
    /// (indices into the data set). Relevant captions outside the subset are dropped.
    /// </summary>
    public static GalleryRelevance ImageToText(IRelevance relevance, IReadOnlyList<int> images, IReadOnlyList<int> captions) =>
        FromGlobal(images, captions, relevance.CaptionsFor);

    /// <summary>
    /// Text-to-image relevance from a data set's <see cref="IRelevance"/> (<see cref="IRelevance.ImagesFor"/>),
    /// restricted to a subset: query k is caption <c>captions[k]</c>, gallery item j is image <c>images[j]</c>.
    /// </summary>
    public static GalleryRelevance TextToImage(IRelevance relevance, IReadOnlyList<int> captions, IReadOnlyList<int> images) =>
        FromGlobal(captions, images, relevance.ImagesFor);

    /// <summary>
    /// The relevance of a sub-problem: queries <paramref name="queries"/> against gallery
    /// <paramref name="gallery"/> (indices into this relevance), re-indexed so that query k is
    /// <c>queries[k]</c> and gallery item j is <c>gallery[j]</c>.
    /// </summary>
    public GalleryRelevance Restrict(IReadOnlyList<int> queries, IReadOnlyList<int> gallery)
    {
        foreach (var q in queries)
            if (q < 0 || q >= QueryCount) throw new ArgumentOutOfRangeException(nameof(queries), $"Query index {q} is outside [0, {QueryCount}).");
        foreach (var g in gallery)
            if (g < 0 || g >= GalleryCount) throw new ArgumentOutOfRangeException(nameof(gallery), $"Gallery index {g} is outside [0, {GalleryCount}).");
        return FromGlobal(queries, gallery, q => relevant[q]);
    }

    // Maps each query's relevant items (global indices) to positions in `gallery`, dropping the absent ones.
    static GalleryRelevance FromGlobal(IReadOnlyList<int> queries, IReadOnlyList<int> gallery, Func<int, IReadOnlyList<int>> relevantOf)
    {
        int span = gallery.Count == 0 ? 0 : gallery.Max() + 1;
        var local = new int[span];
        Array.Fill(local, -1);
        for (int j = 0; j < gallery.Count; j++)
        {
            if (gallery[j] < 0) throw new ArgumentOutOfRangeException(nameof(gallery), $"Gallery index {gallery[j]} is negative.");
            if (local[gallery[j]] >= 0) throw new ArgumentException($"Gallery index {gallery[j]} appears twice in the subset.", nameof(gallery));
            local[gallery[j]] = j;
        }
        var lists = new int[queries.Count][];
        for (int k = 0; k < lists.Length; k++)
            lists[k] = relevantOf(queries[k]).Where(g => g >= 0 && g < span && local[g] >= 0).Select(g => local[g]).Distinct().Order().ToArray();
        return new GalleryRelevance(lists, gallery.Count);
    }
}

/// <summary>The relevance of both retrieval directions of an image-caption set.</summary>
/// <param name="ImageToText">Image queries over the caption gallery.</param>
/// <param name="TextToImage">Caption queries over the image gallery.</param>
public sealed record CrossModalRelevance(GalleryRelevance ImageToText, GalleryRelevance TextToImage)
{
    /// <summary>
    /// Both directions from a data set's <see cref="IRelevance"/>: image-to-text through
    /// <see cref="IRelevance.CaptionsFor"/>, text-to-image through <see cref="IRelevance.ImagesFor"/>,
    /// over all <paramref name="imageCount"/> images and <paramref name="captionCount"/> captions.
    /// </summary>
    public static CrossModalRelevance From(IRelevance relevance, int imageCount, int captionCount)
    {
        var images = Enumerable.Range(0, imageCount).ToArray();
        var captions = Enumerable.Range(0, captionCount).ToArray();
        return new(GalleryRelevance.ImageToText(relevance, images, captions), GalleryRelevance.TextToImage(relevance, captions, images));
    }
}
