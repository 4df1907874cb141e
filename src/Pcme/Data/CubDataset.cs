using System.Globalization;

namespace Pcme.Data;

/// <summary>
/// CUB-200-2011 with Reed et al.'s captions (<c>text_c10</c>), restricted to the classes of one
/// zero-shot split file (<c>trainvalclasses.txt</c>, <c>testclasses.txt</c>, ...), as the official
/// PCME <c>CUBCaption</c> reads it. Image ids are the image file names without extension
/// ("Black_Footed_Albatross_0046_18"), caption ids are "&lt;image id&gt;#&lt;line&gt;" (0-based line of
/// its caption file), <see cref="ImageItem.ClassId"/> is the <c>classes.txt</c> id minus one
/// (0..199, the official convention). Images keep the order of <c>images.txt</c>. Relevance:
/// same class.
/// </summary>
public sealed class CubDataset : ICrossModalDataset
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
    /// <summary>The class folder name of each class id present ("001.Black_footed_Albatross"), by <see cref="ImageItem.ClassId"/>.</summary>
    public IReadOnlyDictionary<int, string> ClassNames { get; }

    CubDataset(string name, IReadOnlyList<ImageItem> images, IReadOnlyList<CaptionItem> captions, IReadOnlyList<SkippedItem> skipped, IReadOnlyDictionary<int, string> classNames)
    {
        Name = name; Images = images; Captions = captions; Skipped = skipped; ClassNames = classNames;
        Relevance = new SameClassRelevance(images, captions);
    }

    /// <inheritdoc />
    public RgbImage LoadImage(int index) =>
        ImageDecoder.Decode(Images[index].Path ?? throw new DataException($"Image '{Images[index].Id}' of {Name} has no file path."));

    /// <summary>
    /// Loads the images of the split's classes with their captions. Skipped and recorded: images
    /// without a caption file, whose file is missing, or left without a non-empty caption; empty or
    /// whitespace caption lines.
    /// </summary>
    /// <param name="cubRoot">The <c>CUB_200_2011</c> folder: <c>images.txt</c>, <c>classes.txt</c>, <c>images/</c>.</param>
    /// <param name="captionsRoot">Reed et al.'s <c>text_c10</c> folder (<c>&lt;class folder&gt;/&lt;image name&gt;.txt</c>, one caption
    /// per line), or the folder holding it.</param>
    /// <param name="splitFile">A list of class folder names, one per line (e.g. <c>cvpr2016_cub/trainvalclasses.txt</c>).</param>
    /// <param name="options">Listing options.</param>
    public static CubDataset Load(string cubRoot, string captionsRoot, string splitFile, DatasetLoadOptions? options = null)
    {
        options ??= new();
        DataFiles.RequireFolder(cubRoot, "CUB_200_2011, holding images.txt, classes.txt and images/");
        DataFiles.RequireFolder(captionsRoot, "Reed et al.'s text_c10 caption folder");
        // Accept the folder that holds text_c10/ (cvpr2016_cub, as Reed et al. ship it) as well as text_c10 itself.
        if (Directory.Exists(Path.Combine(captionsRoot, "text_c10"))) captionsRoot = Path.Combine(captionsRoot, "text_c10");
        string classesFile = Path.Combine(cubRoot, "classes.txt");
        string imagesFile = Path.Combine(cubRoot, "images.txt");

        var classIdByFolder = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (line, number, file) in Entries(classesFile, "CUB's classes.txt (\"<id> <class folder>\" per line)"))
        {
            var (id, folder) = IdAndName(line, number, file, "<id> <class folder>");
            if (!classIdByFolder.TryAdd(folder, id - 1))
                throw new DataException($"{file}:{number}: class folder '{folder}' is listed twice. The file is damaged; re-download CUB-200-2011.");
        }

        var splitClasses = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (line, number, file) in Entries(splitFile, "a split file (class folder names, one per line)"))
        {
            string folder = line.Trim();
            if (!classIdByFolder.ContainsKey(folder))
                throw new DataException($"{file}:{number}: class '{folder}' is not in '{classesFile}'. Use a split file made for CUB-200-2011 (e.g. Reed et al.'s trainvalclasses.txt).");
            splitClasses.Add(folder);
        }

        var images = new List<ImageItem>();
        var captions = new List<CaptionItem>();
        var skipped = new List<SkippedItem>();
        var classNames = new SortedDictionary<int, string>();
        var seenIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (line, number, file) in Entries(imagesFile, "CUB's images.txt (\"<id> <class folder>/<file>.jpg\" per line)"))
        {
            var (_, relative) = IdAndName(line, number, file, "<id> <class folder>/<file>.jpg");
            int slash = relative.IndexOf('/');
            if (slash <= 0 || slash == relative.Length - 1)
                throw new DataException($"{file}:{number}: '{relative}' is not '<class folder>/<file>.jpg'. The file is damaged; re-download CUB-200-2011.");
            string folder = relative[..slash];
            if (!classIdByFolder.TryGetValue(folder, out int classId))
                throw new DataException($"{file}:{number}: class folder '{folder}' is not in '{classesFile}'. The files are from different CUB versions; re-download CUB-200-2011.");
            if (!splitClasses.Contains(folder)) continue;

            string imageId = Path.GetFileNameWithoutExtension(relative);
            if (!seenIds.Add(imageId))
                throw new DataException($"{file}:{number}: image name '{imageId}' appears twice. The file is damaged; re-download CUB-200-2011.");
            string source = $"{file}:{number} ({relative})";
            string imagePath = Path.Combine(cubRoot, "images", relative);
            string captionPath = Path.Combine(captionsRoot, folder, imageId + ".txt");
            if (options.SkipMissingImageFiles && !File.Exists(imagePath))
            {
                skipped.Add(new SkippedItem(source, $"its image file '{imagePath}' does not exist"));
                continue;
            }
            if (!File.Exists(captionPath))
            {
                skipped.Add(new SkippedItem(source, $"it has no caption file '{captionPath}'"));
                continue;
            }

            int index = images.Count;
            var lines = DataFiles.ReadLines(captionPath, "a caption file (one caption per line)");
            int before = captions.Count;
            for (int l = 0; l < lines.Length; l++)
            {
                if (string.IsNullOrWhiteSpace(lines[l]))
                {
                    skipped.Add(new SkippedItem($"{captionPath}:{l + 1}", "the caption is empty or whitespace"));
                    continue;
                }
                captions.Add(new CaptionItem($"{imageId}#{l.ToString(CultureInfo.InvariantCulture)}", index, lines[l].Trim()));
            }
            if (captions.Count == before)
            {
                skipped.Add(new SkippedItem(source, $"its caption file '{captionPath}' has no non-empty caption"));
                continue;
            }
            images.Add(new ImageItem(imageId, imagePath, classId));
            classNames[classId] = folder;
        }

        string split = Path.GetFileNameWithoutExtension(splitFile);
        if (split.EndsWith("classes", StringComparison.Ordinal) && split.Length > "classes".Length) split = split[..^"classes".Length];
        return new CubDataset($"cub-{split}", images, captions, skipped, classNames);
    }

    /// <summary>The non-blank lines of a listing file with their 1-based line numbers.</summary>
    static IEnumerable<(string Line, int Number, string File)> Entries(string path, string layout)
    {
        var lines = DataFiles.ReadLines(path, layout);
        for (int i = 0; i < lines.Length; i++)
            if (!string.IsNullOrWhiteSpace(lines[i])) yield return (lines[i], i + 1, path);
    }

    /// <summary>Parses "&lt;positive integer&gt; &lt;name&gt;".</summary>
    static (int Id, string Name) IdAndName(string line, int number, string file, string expected)
    {
        var parts = line.Trim().Split(' ', 2, StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || parts[1].Length == 0 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id < 1)
            throw new DataException($"{file}:{number}: '{line}' is not '{expected}'. The file is damaged; re-download CUB-200-2011.");
        return (id, parts[1]);
    }
}
