using System.Text.Json;

namespace Pcme.Data;

/// <summary>Options of <see cref="RelevanceFile.Load"/>.</summary>
public sealed record RelevanceFileOptions
{
    /// <summary>Add each caption's own image to the images the file lists for it (for files that list only the extra positives). Default false.</summary>
    public bool IncludeOwnImage { get; init; }
    /// <summary>
    /// Require an entry for every caption of the data set (default true, so a caption left out by
    /// mistake is an error, not a query with nothing relevant). When false, a caption without an
    /// entry keeps only its own image (files that annotate a subset of queries).
    /// </summary>
    public bool RequireEveryCaption { get; init; } = true;
}

/// <summary>
/// Explicit relevance annotations as JSON: an object mapping caption id to the list of relevant
/// image ids, <c>{"123": [9, 11], "124": ["9"]}</c> (image ids as strings or integers, matching
/// <see cref="ImageItem.Id"/>; caption ids match <see cref="CaptionItem.Id"/>). An empty list means
/// no image is relevant.
/// </summary>
public static class RelevanceFile
{
    const string Layout = "a relevance file (a JSON object: caption id -> list of relevant image ids)";

    /// <summary>Reads a relevance file against <paramref name="dataset"/>'s ids; unknown caption or image ids are errors naming the id and the file.</summary>
    public static ExplicitRelevance Load(string path, ICrossModalDataset dataset, RelevanceFileOptions? options = null)
    {
        options ??= new();
        var captionIndex = IndexById(dataset.Captions.Select(c => c.Id), dataset.Name, "caption");
        var imageIndex = IndexById(dataset.Images.Select(i => i.Id), dataset.Name, "image");

        using var document = DataFiles.ReadJsonDocument(path, Layout);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new DataException($"'{path}' holds a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not {Layout}.");

        var pairs = new List<(int Caption, int Image)>();
        var annotated = new bool[dataset.Captions.Count];
        foreach (var entry in document.RootElement.EnumerateObject())
        {
            if (!captionIndex.TryGetValue(entry.Name, out int caption))
                throw new DataException($"'{path}': caption id '{entry.Name}' is not a caption of {dataset.Name}. Use the relevance file made for this data set and split (or check that the caption was not skipped while loading: see Skipped).");
            if (annotated[caption])
                throw new DataException($"'{path}': caption id '{entry.Name}' appears twice.");
            annotated[caption] = true;
            if (entry.Value.ValueKind != JsonValueKind.Array)
                throw new DataException($"'{path}': the value of caption id '{entry.Name}' is a JSON {entry.Value.ValueKind.ToString().ToLowerInvariant()}; expected a list of image ids.");
            foreach (var item in entry.Value.EnumerateArray())
            {
                string imageId = item.ValueKind switch
                {
                    JsonValueKind.String => item.GetString()!,
                    JsonValueKind.Number => item.GetRawText(),
                    _ => throw new DataException($"'{path}': caption id '{entry.Name}' lists a JSON {item.ValueKind.ToString().ToLowerInvariant()}; image ids are strings or integers."),
                };
                if (!imageIndex.TryGetValue(imageId, out int image))
                    throw new DataException($"'{path}': image id '{imageId}' (listed for caption '{entry.Name}') is not an image of {dataset.Name}. Use the relevance file made for this data set and split (or check that the image was not skipped while loading: see Skipped).");
                pairs.Add((caption, image));
            }
        }

        var missing = Enumerable.Range(0, annotated.Length).Where(c => !annotated[c]).ToList();
        if (options.RequireEveryCaption && missing.Count > 0)
            throw new DataException($"'{path}' has no entry for {missing.Count} of the {annotated.Length} captions of {dataset.Name} (e.g. caption ids {string.Join(", ", missing.Take(5).Select(c => $"'{dataset.Captions[c].Id}'"))}). "
                + "Give every caption an entry (an empty list if nothing is relevant), or load with RequireEveryCaption = false to keep only their own image.");
        foreach (int c in missing) pairs.Add((c, dataset.Captions[c].ImageIndex));
        if (options.IncludeOwnImage)
            for (int c = 0; c < dataset.Captions.Count; c++) pairs.Add((c, dataset.Captions[c].ImageIndex));
        return new ExplicitRelevance(pairs, dataset.Captions.Count, dataset.Images.Count);
    }

    /// <summary>Writes <paramref name="relevance"/> over <paramref name="dataset"/> in the format <see cref="Load"/> reads (every caption, ids as strings).</summary>
    public static void Save(string path, ICrossModalDataset dataset, IRelevance relevance)
    {
        var map = new Dictionary<string, string[]>();
        for (int c = 0; c < dataset.Captions.Count; c++)
            map[dataset.Captions[c].Id] = relevance.ImagesFor(c).Select(i => dataset.Images[i].Id).ToArray();
        Pcme.Runtime.AtomicFile.WriteAllText(path, JsonSerializer.Serialize(map));
    }

    static Dictionary<string, int> IndexById(IEnumerable<string> ids, string dataset, string kind)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        int i = 0;
        foreach (var id in ids)
            if (!index.TryAdd(id, i++))
                throw new DataException($"{dataset} has two {kind}s with id '{id}', so a relevance file cannot address them.");
        return index;
    }
}

/// <summary>A data set with its relevance replaced (e.g. by a <see cref="RelevanceFile"/>); everything else is the inner set's.</summary>
/// <param name="inner">The data set.</param>
/// <param name="relevance">The relevance to use, over <paramref name="inner"/>'s indices.</param>
/// <param name="name">A name for reports; default: the inner set's.</param>
public sealed class DatasetWithRelevance(ICrossModalDataset inner, IRelevance relevance, string? name = null) : ICrossModalDataset
{
    /// <summary>The wrapped data set.</summary>
    public ICrossModalDataset Inner => inner;
    /// <inheritdoc />
    public string Name { get; } = name ?? inner.Name;
    /// <inheritdoc />
    public IReadOnlyList<ImageItem> Images => inner.Images;
    /// <inheritdoc />
    public IReadOnlyList<CaptionItem> Captions => inner.Captions;
    /// <inheritdoc />
    public IRelevance Relevance => relevance;
    /// <inheritdoc />
    public IReadOnlyList<SkippedItem> Skipped => inner.Skipped;
    /// <inheritdoc />
    public RgbImage LoadImage(int index) => inner.LoadImage(index);
}

/// <summary>Relevance helpers on data sets.</summary>
public static class DatasetRelevanceExtensions
{
    /// <summary><paramref name="dataset"/> with <paramref name="relevance"/> instead of its own.</summary>
    public static ICrossModalDataset WithRelevance(this ICrossModalDataset dataset, IRelevance relevance, string? name = null) =>
        new DatasetWithRelevance(dataset, relevance, name);

    /// <summary><paramref name="dataset"/> annotated by the relevance file at <paramref name="path"/> (see <see cref="RelevanceFile.Load"/>).</summary>
    public static ICrossModalDataset WithRelevanceFile(this ICrossModalDataset dataset, string path, RelevanceFileOptions? options = null) =>
        new DatasetWithRelevance(dataset, RelevanceFile.Load(path, dataset, options));
}
