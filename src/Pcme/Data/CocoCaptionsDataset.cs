using System.Globalization;
using System.Text.Json.Serialization;

namespace Pcme.Data;

/// <summary>The splits of Karpathy's <c>dataset_coco.json</c>.</summary>
public enum KarpathySplit
{
    /// <summary>"train" (82,783 COCO images); with <see cref="KarpathyLoadOptions.TrainIncludesRestVal"/> also "restval" (113,287 in all).</summary>
    Train,
    /// <summary>"restval": the 30,504 val2014 images that are neither val nor test.</summary>
    RestVal,
    /// <summary>"val": 5,000 images.</summary>
    Val,
    /// <summary>"test": 5,000 images (COCO 5K; its five 1,000-image folds are COCO 1K).</summary>
    Test,
}

/// <summary>Options of <see cref="CocoCaptionsDataset.LoadKarpathy"/>.</summary>
public sealed record KarpathyLoadOptions
{
    /// <summary>
    /// Whether <see cref="KarpathySplit.Train"/> also takes the "restval" images. Default true:
    /// the 113,287-image training set PCME, VSE++ and PVSE train on.
    /// </summary>
    public bool TrainIncludesRestVal { get; init; } = true;
    /// <summary>Listing options (missing image files).</summary>
    public DatasetLoadOptions Listing { get; init; } = new();
}

/// <summary>
/// COCO Captions, from either the official <c>captions_*2014.json</c> or Karpathy's
/// <c>dataset_coco.json</c> (one split). Images keep the order of the file; captions are grouped by
/// image (image order, then file order) so the captions of image i are contiguous. Captions are
/// trimmed. Relevance is the caption's own image; attach category labels for PMRP with
/// <see cref="WithLabels"/>.
/// </summary>
public sealed class CocoCaptionsDataset : ICrossModalDataset
{
    /// <inheritdoc />
    public string Name { get; }
    /// <inheritdoc />
    public IReadOnlyList<ImageItem> Images { get; }
    /// <inheritdoc />
    public IReadOnlyList<CaptionItem> Captions { get; }
    /// <inheritdoc />
    public IRelevance Relevance { get; }
    /// <inheritdoc />
    public IReadOnlyList<SkippedItem> Skipped { get; }
    /// <summary>The COCO image id of each image (<see cref="ImageItem.Id"/> as a number), for joining with instances files.</summary>
    public IReadOnlyList<long> CocoImageIds { get; }

    CocoCaptionsDataset(string name, IReadOnlyList<ImageItem> images, IReadOnlyList<long> cocoIds, IReadOnlyList<CaptionItem> captions, IReadOnlyList<SkippedItem> skipped)
    {
        Name = name; Images = images; CocoImageIds = cocoIds; Captions = captions; Skipped = skipped;
        Relevance = new OwnImageRelevance(captions, images.Count);
    }

    /// <inheritdoc />
    public RgbImage LoadImage(int index) =>
        ImageDecoder.Decode(Images[index].Path ?? throw new DataException($"Image '{Images[index].Id}' of {Name} has no file path."));

    const string CaptionsLayout = "a COCO captions file (captions_train2014.json layout: top-level 'images' [{id, file_name}] and 'annotations' [{id, image_id, caption}])";
    const string KarpathyLayout = "a Karpathy split file (dataset_coco.json layout: top-level 'images' [{filepath, filename, cocoid, split, sentences: [{raw, sentid}]}])";

    /// <summary>
    /// Loads an official COCO captions file. Captions that are empty, or point at an image id the
    /// file does not list, are skipped and recorded; so are images whose file is missing (with their
    /// captions) and images left without captions.
    /// </summary>
    /// <param name="captionsJson">e.g. <c>annotations/captions_val2014.json</c>.</param>
    /// <param name="imagesFolder">The folder holding the images' <c>file_name</c>s, e.g. <c>val2014/</c>.</param>
    /// <param name="options">Listing options.</param>
    public static CocoCaptionsDataset LoadCaptions(string captionsJson, string imagesFolder, DatasetLoadOptions? options = null)
    {
        options ??= new();
        var file = DataFiles.ReadJson<CaptionsFile>(captionsJson, CaptionsLayout);
        if (file.Images is null)
            throw new DataException($"'{captionsJson}' has no 'images' list, so it is not {CaptionsLayout}. Pass the captions file, not the instances or a Karpathy file.");
        if (file.Annotations is null)
            throw new DataException($"'{captionsJson}' has no 'annotations' list, so it is not {CaptionsLayout}."
                + (file.Images.Any(i => i.Sentences is not null) ? " It looks like Karpathy's dataset_coco.json: load it with CocoCaptionsDataset.LoadKarpathy." : ""));
        if (options.SkipMissingImageFiles) DataFiles.RequireFolder(imagesFolder, "the COCO images folder");

        var listing = new Listing(captionsJson, options);
        var indexById = new Dictionary<long, int>();
        foreach (var image in file.Images)
        {
            long id = image.Id ?? throw new DataException($"'{captionsJson}': an entry of 'images' has no 'id' (file_name '{image.FileName}'). The file is damaged; re-download it.");
            if (string.IsNullOrWhiteSpace(image.FileName))
                throw new DataException($"'{captionsJson}': image id {id} has no 'file_name'. The file is damaged; re-download it.");
            if (indexById.ContainsKey(id))
                throw new DataException($"'{captionsJson}': image id {id} is listed twice in 'images'. The file is damaged; re-download it.");
            indexById[id] = listing.AddImage(id, Path.Combine(imagesFolder, image.FileName));
        }
        foreach (var annotation in file.Annotations)
        {
            long id = annotation.Id ?? throw new DataException($"'{captionsJson}': an entry of 'annotations' has no 'id' (image_id {annotation.ImageId}). The file is damaged; re-download it.");
            string source = $"{captionsJson} (annotation id {id})";
            if (annotation.ImageId is not long imageId || !indexById.TryGetValue(imageId, out int imageIndex))
            {
                listing.Skip(source, annotation.ImageId is null ? "the annotation has no image_id" : $"it points at image id {annotation.ImageId}, which 'images' does not list");
                continue;
            }
            listing.AddCaption(imageIndex, id.ToString(CultureInfo.InvariantCulture), annotation.Caption, source);
        }
        string name = "coco-" + Path.GetFileNameWithoutExtension(captionsJson).Replace("captions_", "", StringComparison.Ordinal);
        return listing.Build(name);
    }

    /// <summary>
    /// Loads one split of Karpathy's <c>dataset_coco.json</c> (also reads <c>dataset_flickr30k.json</c>,
    /// whose images have no cocoid: their id is then <c>imgid</c>). Image ids are COCO ids (<c>cocoid</c>),
    /// caption ids are <c>sentid</c>s, paths are <paramref name="imagesRoot"/>/filepath/filename.
    /// </summary>
    /// <param name="karpathyJson">The dataset_coco.json file.</param>
    /// <param name="imagesRoot">The folder holding <c>train2014/</c> and <c>val2014/</c> (each image's <c>filepath</c>).</param>
    /// <param name="split">Which split.</param>
    /// <param name="options">Split and listing options.</param>
    public static CocoCaptionsDataset LoadKarpathy(string karpathyJson, string imagesRoot, KarpathySplit split, KarpathyLoadOptions? options = null)
    {
        options ??= new();
        var file = DataFiles.ReadJson<KarpathyFile>(karpathyJson, KarpathyLayout);
        if (file.Images is null)
            throw new DataException($"'{karpathyJson}' has no 'images' list, so it is not {KarpathyLayout}.");
        if (file.Images.Count > 0 && file.Images.All(i => i.Sentences is null))
            throw new DataException($"'{karpathyJson}': its images have no 'sentences', so it is not {KarpathyLayout}."
                + (file.Annotations is not null ? " It looks like an official COCO captions file: load it with CocoCaptionsDataset.LoadCaptions." : ""));
        if (options.Listing.SkipMissingImageFiles) DataFiles.RequireFolder(imagesRoot, "the COCO images root (holding train2014/ and val2014/)");

        var wanted = split switch
        {
            KarpathySplit.Train => options.TrainIncludesRestVal ? new[] { "train", "restval" } : ["train"],
            KarpathySplit.RestVal => ["restval"],
            KarpathySplit.Val => ["val"],
            KarpathySplit.Test => ["test"],
            _ => throw new ArgumentOutOfRangeException(nameof(split)),
        };
        var listing = new Listing(karpathyJson, options.Listing);
        var seen = new HashSet<long>();
        int position = 0;
        foreach (var image in file.Images)
        {
            position++;
            long id = image.CocoId ?? image.ImgId
                ?? throw new DataException($"'{karpathyJson}': image #{position} (filename '{image.FileName}') has neither 'cocoid' nor 'imgid'. The file is damaged; re-download it.");
            if (image.Split is null)
                throw new DataException($"'{karpathyJson}': image {id} has no 'split'. The file is damaged; re-download it.");
            if (!wanted.Contains(image.Split)) continue;
            if (string.IsNullOrWhiteSpace(image.FileName))
                throw new DataException($"'{karpathyJson}': image {id} has no 'filename'. The file is damaged; re-download it.");
            if (!seen.Add(id))
                throw new DataException($"'{karpathyJson}': image id {id} is listed twice. The file is damaged; re-download it.");
            int index = listing.AddImage(id, Path.Combine(imagesRoot, image.FilePath ?? "", image.FileName));
            foreach (var sentence in image.Sentences ?? [])
            {
                long sentId = sentence.SentId
                    ?? throw new DataException($"'{karpathyJson}': a sentence of image {id} has no 'sentid'. The file is damaged; re-download it.");
                listing.AddCaption(index, sentId.ToString(CultureInfo.InvariantCulture), sentence.Raw, $"{karpathyJson} (sentid {sentId})");
            }
        }
        string name = $"{file.Dataset ?? "coco"}-karpathy-{split.ToString().ToLowerInvariant()}";
        return listing.Build(name);
    }

    /// <summary>
    /// This data set with multi-hot category labels (<see cref="ImageItem.Labels"/>) from COCO
    /// instances files; their skips are added to <see cref="Skipped"/>. Throws a
    /// <see cref="DataException"/> when the instances files do not list some of the images.
    /// </summary>
    public CocoCaptionsDataset WithLabels(CocoInstances instances)
    {
        var uncovered = CocoImageIds.Where(id => !instances.Covers(id)).ToList();
        if (uncovered.Count > 0)
            throw new DataException(
                $"{uncovered.Count} of the {Images.Count} images of {Name} are not listed by the instances file(s) {string.Join(", ", instances.Files.Select(f => $"'{f}'"))} "
                + $"(e.g. image ids {string.Join(", ", uncovered.Take(5))}). Load the instances files of every COCO split the images come from: Karpathy's splits mix train2014 and val2014, so pass both instances_train2014.json and instances_val2014.json.");
        var images = Images.Select((image, i) => image with { Labels = instances.LabelsOf(CocoImageIds[i]) }).ToArray();
        return new CocoCaptionsDataset(Name, images, CocoImageIds, Captions, [.. Skipped, .. instances.Skipped]);
    }

    /// <summary>Collects images and captions, records skips, and drops images left without captions (recorded).</summary>
    sealed class Listing(string file, DatasetLoadOptions options)
    {
        readonly List<(long Id, string Path, bool Present)> images = [];
        readonly List<List<(string Id, string Text)>> captions = [];
        readonly List<SkippedItem> skipped = [];
        readonly HashSet<string> captionIds = [];

        public int AddImage(long id, string path)
        {
            bool present = !options.SkipMissingImageFiles || File.Exists(path);
            images.Add((id, path, present));
            captions.Add([]);
            return images.Count - 1;
        }

        public void AddCaption(int imageIndex, string id, string? text, string source)
        {
            if (!captionIds.Add(id))
                throw new DataException($"'{file}': caption id {id} appears twice. The file is damaged; re-download it.");
            if (string.IsNullOrWhiteSpace(text)) { Skip(source, "the caption is empty or whitespace"); return; }
            captions[imageIndex].Add((id, text.Trim()));
        }

        public void Skip(string source, string reason) => skipped.Add(new SkippedItem(source, reason));

        public CocoCaptionsDataset Build(string name)
        {
            var imageItems = new List<ImageItem>();
            var cocoIds = new List<long>();
            var captionItems = new List<CaptionItem>();
            for (int i = 0; i < images.Count; i++)
            {
                var (id, path, present) = images[i];
                string source = $"{file} (image id {id})";
                if (!present)
                {
                    Skip(source, $"its image file '{path}' does not exist ({captions[i].Count} caption(s) skipped with it)");
                    continue;
                }
                if (captions[i].Count == 0)
                {
                    Skip(source, "the image has no usable caption");
                    continue;
                }
                int index = imageItems.Count;
                imageItems.Add(new ImageItem(id.ToString(CultureInfo.InvariantCulture), path));
                cocoIds.Add(id);
                captionItems.AddRange(captions[i].Select(c => new CaptionItem(c.Id, index, c.Text)));
            }
            return new CocoCaptionsDataset(name, imageItems, cocoIds, captionItems, skipped);
        }
    }

    // The files' layouts; everything nullable so a missing field gets our message, not the serializer's.
    sealed class CaptionsFile
    {
        [JsonPropertyName("images")] public List<CaptionsImage>? Images { get; set; }
        [JsonPropertyName("annotations")] public List<CaptionsAnnotation>? Annotations { get; set; }
    }

    sealed class CaptionsImage
    {
        [JsonPropertyName("id")] public long? Id { get; set; }
        [JsonPropertyName("file_name")] public string? FileName { get; set; }
        // Present only in Karpathy files: lets the captions loader recognise one and say so.
        [JsonPropertyName("sentences")] public List<KarpathySentence>? Sentences { get; set; }
    }

    sealed class CaptionsAnnotation
    {
        [JsonPropertyName("id")] public long? Id { get; set; }
        [JsonPropertyName("image_id")] public long? ImageId { get; set; }
        [JsonPropertyName("caption")] public string? Caption { get; set; }
    }

    sealed class KarpathyFile
    {
        [JsonPropertyName("dataset")] public string? Dataset { get; set; }
        [JsonPropertyName("images")] public List<KarpathyImage>? Images { get; set; }
        // Present only in official captions files (see above).
        [JsonPropertyName("annotations")] public System.Text.Json.JsonElement? Annotations { get; set; }
    }

    sealed class KarpathyImage
    {
        [JsonPropertyName("filepath")] public string? FilePath { get; set; }
        [JsonPropertyName("filename")] public string? FileName { get; set; }
        [JsonPropertyName("imgid")] public long? ImgId { get; set; }
        [JsonPropertyName("cocoid")] public long? CocoId { get; set; }
        [JsonPropertyName("split")] public string? Split { get; set; }
        [JsonPropertyName("sentences")] public List<KarpathySentence>? Sentences { get; set; }
    }

    sealed class KarpathySentence
    {
        [JsonPropertyName("raw")] public string? Raw { get; set; }
        [JsonPropertyName("sentid")] public long? SentId { get; set; }
    }
}
