using System.Text.Json.Serialization;

namespace Pcme.Data;

/// <summary>A COCO object category.</summary>
/// <param name="Id">The file's category id (1..90, with gaps).</param>
/// <param name="Name">Its name ("person").</param>
/// <param name="Index">Its position in the file's <c>categories</c> list (0..79): the label index.</param>
public sealed record CocoCategory(long Id, string Name, int Index);

/// <summary>
/// The object categories present in each image, from one or more COCO instances files
/// (<c>instances_*2014.json</c>: <c>categories</c> [{id, name}], <c>annotations</c> [{id, image_id,
/// category_id}], <c>images</c> [{id}]). Label indices are positions in the categories list, so the
/// 80 COCO categories become 0..79. Used for PMRP (multi-hot labels, shared/DESIGN.md §3).
/// </summary>
public sealed class CocoInstances
{
    readonly Dictionary<long, SortedSet<int>> labels;
    // Null when some file had no 'images' list: then any image counts as covered (no annotations = no labels).
    readonly HashSet<long>? listedImages;

    /// <summary>The categories, in label-index order.</summary>
    public IReadOnlyList<CocoCategory> Categories { get; }
    /// <summary>The files read.</summary>
    public IReadOnlyList<string> Files { get; }
    /// <summary>Annotations skipped while loading (pointing at an image their file does not list).</summary>
    public IReadOnlyList<SkippedItem> Skipped { get; }

    CocoInstances(IReadOnlyList<CocoCategory> categories, Dictionary<long, SortedSet<int>> labels, HashSet<long>? listedImages, IReadOnlyList<string> files, IReadOnlyList<SkippedItem> skipped)
    {
        Categories = categories; this.labels = labels; this.listedImages = listedImages; Files = files; Skipped = skipped;
    }

    /// <summary>Whether the files list image <paramref name="cocoImageId"/> (an image with no objects is listed but has no labels).</summary>
    public bool Covers(long cocoImageId) => listedImages is null || listedImages.Contains(cocoImageId);

    /// <summary>The distinct label indices of an image's objects, ascending (empty when it has none).</summary>
    public IReadOnlyList<int> LabelsOf(long cocoImageId) => labels.TryGetValue(cocoImageId, out var set) ? [.. set] : [];

    const string Layout = "a COCO instances file (instances_train2014.json layout: top-level 'categories' [{id, name}], 'annotations' [{id, image_id, category_id}], 'images' [{id}])";

    /// <summary>
    /// Reads instances files; they must share one categories list (all official 2014/2017 files do).
    /// Pass both train2014 and val2014 files for Karpathy splits.
    /// </summary>
    public static CocoInstances Load(params string[] paths)
    {
        if (paths.Length == 0) throw new ArgumentException("Give at least one instances file.", nameof(paths));
        List<CocoCategory>? categories = null;
        Dictionary<long, int>? indexByCategory = null;
        var labels = new Dictionary<long, SortedSet<int>>();
        HashSet<long>? listed = [];
        var skipped = new List<SkippedItem>();
        foreach (var path in paths)
        {
            var file = DataFiles.ReadJson<InstancesFile>(path, Layout);
            if (file.Categories is null)
                throw new DataException($"'{path}' has no 'categories' list, so it is not {Layout}."
                    + (file.Annotations?.Any(a => a.Caption is not null) == true ? " It looks like a captions file: load it with CocoCaptionsDataset.LoadCaptions." : ""));
            if (file.Annotations is null)
                throw new DataException($"'{path}' has no 'annotations' list, so it is not {Layout}.");

            var fileCategories = file.Categories.Select((c, i) => new CocoCategory(
                c.Id ?? throw new DataException($"'{path}': category #{i + 1} ('{c.Name}') has no 'id'. The file is damaged; re-download it."),
                c.Name ?? "", i)).ToList();
            if (categories is null)
            {
                categories = fileCategories;
                indexByCategory = new Dictionary<long, int>();
                foreach (var c in categories)
                    if (!indexByCategory.TryAdd(c.Id, c.Index))
                        throw new DataException($"'{path}': category id {c.Id} is listed twice. The file is damaged; re-download it.");
            }
            else if (!categories.SequenceEqual(fileCategories))
            {
                throw new DataException($"'{path}' lists different categories from '{paths[0]}'; instances files combined for one data set must share one categories list.");
            }

            HashSet<long>? fileImages = file.Images?.Select(i => i.Id ?? throw new DataException($"'{path}': an entry of 'images' has no 'id'. The file is damaged; re-download it.")).ToHashSet();
            if (fileImages is null) listed = null; else listed?.UnionWith(fileImages);
            foreach (var a in file.Annotations)
            {
                string source = $"{path} (annotation id {a.Id?.ToString() ?? "missing"})";
                if (a.ImageId is not long imageId)
                    throw new DataException($"{source}: the annotation has no 'image_id'. The file is damaged; re-download it.");
                if (a.CategoryId is not long categoryId || !indexByCategory!.TryGetValue(categoryId, out int index))
                    throw new DataException($"{source}: category_id {a.CategoryId?.ToString() ?? "(missing)"} is not in the file's 'categories'. The file is damaged; re-download it.");
                if (fileImages is not null && !fileImages.Contains(imageId))
                {
                    skipped.Add(new SkippedItem(source, $"it points at image id {imageId}, which the file's 'images' does not list"));
                    continue;
                }
                if (!labels.TryGetValue(imageId, out var set)) labels[imageId] = set = [];
                set.Add(index);
            }
        }
        return new CocoInstances(categories!, labels, listed, paths, skipped);
    }

    sealed class InstancesFile
    {
        [JsonPropertyName("categories")] public List<Category>? Categories { get; set; }
        [JsonPropertyName("annotations")] public List<Annotation>? Annotations { get; set; }
        [JsonPropertyName("images")] public List<Image>? Images { get; set; }
    }

    sealed class Category
    {
        [JsonPropertyName("id")] public long? Id { get; set; }
        [JsonPropertyName("name")] public string? Name { get; set; }
    }

    sealed class Annotation
    {
        [JsonPropertyName("id")] public long? Id { get; set; }
        [JsonPropertyName("image_id")] public long? ImageId { get; set; }
        [JsonPropertyName("category_id")] public long? CategoryId { get; set; }
        // Present only in captions files: lets the loader recognise one and say so.
        [JsonPropertyName("caption")] public string? Caption { get; set; }
    }

    sealed class Image
    {
        [JsonPropertyName("id")] public long? Id { get; set; }
    }
}
