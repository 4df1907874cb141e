using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Data;

/// <summary>What goes into the rows of words without a pretrained vector (and of the special tokens).</summary>
public enum MissingWordRows
{
    /// <summary>
    /// Seeded N(0, <see cref="WordVectorOptions.MissingStd"/>^2) draws: what the official code leaves
    /// there (PyTorch's <c>nn.Embedding</c> initialises with N(0, 1) and only overwrites hits).
    /// </summary>
    Normal,
    /// <summary>All zeros.</summary>
    Zeros,
}

/// <summary>How pretrained word vectors are read and matched to a vocabulary.</summary>
public sealed record WordVectorOptions
{
    /// <summary>Vector length; null = from the first line (its word must not contain spaces, true for GloVe files).</summary>
    public int? Dimension { get; init; }
    /// <summary>
    /// Retry a missing word with '-', '.', "'" removed and then only the part before the first '/'
    /// (the official code's "quick-and-dirty trick to improve word-hit rate"). Default on.
    /// </summary>
    public bool NormaliseMisses { get; init; } = true;
    /// <summary>Rows of misses and special tokens. Default <see cref="MissingWordRows.Normal"/> (official).</summary>
    public MissingWordRows MissingRows { get; init; } = MissingWordRows.Normal;
    /// <summary>Standard deviation of <see cref="MissingWordRows.Normal"/> rows (official: 1).</summary>
    public double MissingStd { get; init; } = 1.0;
    /// <summary>Seed of the <see cref="MissingWordRows.Normal"/> rows (row r's draws depend only on the seed and r).</summary>
    public int Seed { get; init; }
}

/// <summary>How well pretrained vectors covered a vocabulary. Special tokens are not counted.</summary>
/// <param name="Source">The file (or name) the vectors came from.</param>
/// <param name="Dimension">Vector length.</param>
/// <param name="Words">Vocabulary words looked up (vocabulary size minus the 4 special tokens).</param>
/// <param name="Hits">Words that got a pretrained vector, directly or after normalisation.</param>
/// <param name="NormalisedHits">Of <paramref name="Hits"/>, those found only after the normalisation trick.</param>
/// <param name="MissingWords">Words without a vector, in id order.</param>
/// <param name="LinesRead">Lines of the file read (0 for in-memory vectors).</param>
public sealed record WordVectorReport(string Source, int Dimension, int Words, int Hits, int NormalisedHits, IReadOnlyList<string> MissingWords, long LinesRead)
{
    /// <summary>Words without a vector.</summary>
    public int Misses => MissingWords.Count;
    /// <summary>Hits / Words (0 for an empty vocabulary).</summary>
    public double HitRate => Words == 0 ? 0 : (double)Hits / Words;
}

/// <summary>An embedding matrix for a vocabulary and how it was filled.</summary>
/// <param name="Weights">float32 [vocabulary size, dimension]; row = word id.</param>
/// <param name="Report">Hits, misses, hit rate.</param>
public sealed record PretrainedEmbeddings(Tensor Weights, WordVectorReport Report);

/// <summary>
/// Reads GloVe text files (<c>glove.840B.300d.txt</c> layout: a word, then <c>dim</c> numbers, all
/// separated by single spaces, one word per line) into an embedding matrix for a vocabulary.
/// <para>The file is streamed: only vectors of vocabulary words (and of their normalised forms) are
/// kept, so a 5.6 GB file needs memory for the vocabulary only. Some 840B "words" contain spaces
/// (". . ."), so the vector is always the last <c>dim</c> fields and the word is everything before
/// them. A word listed twice takes its last vector (as torchtext's look-up table does). Blank lines
/// are skipped; a fastText-style header line ("count dim") is skipped when the dimension is taken
/// from the file. Lines end at '\n' only, as in torchtext's reader. Any other line with fewer than <c>dim + 1</c> fields, or a field that is not a
/// number, is a <see cref="DataException"/> naming the file and line number.</para>
/// <para>Rows: hits get their vector; misses and the special tokens get what
/// <see cref="WordVectorOptions.MissingRows"/> says (default: seeded N(0, 1), like the official code).</para>
/// </summary>
public static class GloVe
{
    /// <summary>
    /// The official normalisation of a missing word: remove '-', '.', "'", then keep the part
    /// before the first '/' if there is one ("t-shirt" → "tshirt", "and/or" → "and").
    /// </summary>
    public static string Normalise(string word)
    {
        var w = word.Replace("-", "").Replace(".", "").Replace("'", "");
        int slash = w.IndexOf('/');
        return slash >= 0 ? w[..slash] : w;
    }

    /// <summary>Reads <paramref name="path"/> (UTF-8) and builds the matrix for <paramref name="vocabulary"/> on <paramref name="device"/>.</summary>
    public static PretrainedEmbeddings Load(string path, Vocabulary vocabulary, WordVectorOptions? options = null, Device? device = null)
    {
        if (!File.Exists(path))
            throw new DataException($"{path}: GloVe file not found. Download glove.840B.300d.zip from the Stanford NLP GloVe page and unzip it (see data/README.md), or pass another path.");
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 20);
        return Load(reader, path, vocabulary, options, device);
    }

    /// <summary>Reads GloVe text from <paramref name="reader"/>; <paramref name="source"/> names it in errors and the report.</summary>
    public static PretrainedEmbeddings Load(TextReader reader, string source, Vocabulary vocabulary, WordVectorOptions? options = null, Device? device = null)
    {
        options ??= new WordVectorOptions();
        // Every form a vocabulary word may be found under: itself, and its normalised form.
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        for (int id = Vocabulary.SpecialCount; id < vocabulary.Count; id++)
        {
            wanted.Add(vocabulary.Words[id]);
            if (options.NormaliseMisses) wanted.Add(Normalise(vocabulary.Words[id]));
        }

        int dim = options.Dimension ?? -1;
        if (options.Dimension is <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.Dimension, "Dimension must be positive.");
        var found = new Dictionary<string, float[]>(StringComparer.Ordinal);
        long lineNumber = 0;
        foreach (var line in Lines(reader))
        {
            lineNumber++;
            var text = line.AsSpan().TrimEnd();
            if (text.IsEmpty) continue;
            int fields = text.Count(' ') + 1;
            if (dim < 0)
            {
                if (IsFastTextHeader(text, out int headerDim)) { dim = headerDim; continue; }
                dim = fields - 1;
                if (dim < 1) throw new DataException($"{source}:{lineNumber}: the first line has no numbers, so the dimension cannot be read from it; pass WordVectorOptions.Dimension.");
            }
            if (fields < dim + 1)
                throw new DataException($"{source}:{lineNumber}: expected a word and {dim} numbers separated by single spaces, found {fields} fields. The file is truncated or not in GloVe text format (or the dimension {dim} is wrong).");
            // The word is everything before the last dim fields (840B words may contain spaces).
            int cut = text.Length;
            for (int k = 0; k < dim; k++) cut = text[..cut].LastIndexOf(' ');
            var word = text[..cut].ToString();
            if (!wanted.Contains(word)) continue;
            var vector = new float[dim];
            var rest = text[(cut + 1)..];
            for (int k = 0; k < dim; k++)
            {
                int space = rest.IndexOf(' ');
                var field = space < 0 ? rest : rest[..space];
                if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out vector[k]))
                    throw new DataException($"{source}:{lineNumber}: field {k + 2} ('{field.ToString()}') of word '{word}' is not a number.");
                rest = space < 0 ? [] : rest[(space + 1)..];
            }
            found[word] = vector;
        }
        if (dim < 0) throw new DataException($"{source}: no word vectors in the file.");
        return Build(found, dim, vocabulary, options, source, lineNumber, device);
    }

    /// <summary>
    /// The same matrix and report from vectors already in memory (for example
    /// <c>SyntheticWordVectors</c>); every vector must have <paramref name="dimension"/> entries.
    /// </summary>
    public static PretrainedEmbeddings FromVectors(IReadOnlyDictionary<string, float[]> vectors, int dimension, Vocabulary vocabulary,
        WordVectorOptions? options = null, string source = "in-memory vectors", Device? device = null)
    {
        foreach (var (word, v) in vectors)
            if (v.Length != dimension) throw new ArgumentException($"The vector of '{word}' has {v.Length} entries, not {dimension}.", nameof(vectors));
        return Build(vectors, dimension, vocabulary, options ?? new WordVectorOptions(), source, 0, device);
    }

    /// <summary>
    /// Lines ending at '\n' only (a trailing '\r' is trimmed later). <see cref="TextReader.ReadLine"/> would
    /// also break at a lone '\r', which would cut a line of a file whose words contain one in two.
    /// </summary>
    static IEnumerable<string> Lines(TextReader reader)
    {
        var buffer = new char[1 << 16];
        var pending = new StringBuilder();
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            int start = 0;
            while (start < read)
            {
                int newline = Array.IndexOf(buffer, '\n', start, read - start);
                if (newline < 0) { pending.Append(buffer, start, read - start); break; }
                pending.Append(buffer, start, newline - start);
                yield return pending.ToString();
                pending.Clear();
                start = newline + 1;
            }
        }
        if (pending.Length > 0) yield return pending.ToString();
    }

    static bool IsFastTextHeader(ReadOnlySpan<char> text, out int dim)
    {
        dim = 0;
        int space = text.IndexOf(' ');
        return space > 0 && text[(space + 1)..].IndexOf(' ') < 0
            && long.TryParse(text[..space], NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && int.TryParse(text[(space + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out dim) && dim > 0;
    }

    static PretrainedEmbeddings Build(IReadOnlyDictionary<string, float[]> found, int dim, Vocabulary vocabulary, WordVectorOptions options,
        string source, long lines, Device? device)
    {
        int v = vocabulary.Count;
        var weights = new float[(long)v * dim];
        var missing = new List<string>();
        int hits = 0, normalisedHits = 0;
        for (int id = 0; id < v; id++)
        {
            var row = weights.AsSpan(id * dim, dim);
            float[]? vector = null;
            if (id >= Vocabulary.SpecialCount)
            {
                var word = vocabulary.Words[id];
                if (found.TryGetValue(word, out vector)) hits++;
                else if (options.NormaliseMisses && found.TryGetValue(Normalise(word), out vector)) { hits++; normalisedHits++; }
                else missing.Add(word);
            }
            if (vector is not null) vector.CopyTo(row);
            else if (options.MissingRows == MissingWordRows.Normal)
            {
                // One stream per row: a row's values do not depend on which other words were hits.
                var random = SeededRandom.Derive((ulong)(uint)options.Seed, (ulong)id);
                for (int k = 0; k < dim; k++) row[k] = (float)(random.NextGaussian() * options.MissingStd);
            }
        }
        var report = new WordVectorReport(source, dim, v - Vocabulary.SpecialCount, hits, normalisedHits, missing, lines);
        var tensor = torch.tensor(weights, [v, dim], dtype: float32);
        return new PretrainedEmbeddings(device is null ? tensor : tensor.to(device), report);
    }

    /// <summary>
    /// Writes vectors in GloVe text layout (word, then numbers, single spaces, invariant culture,
    /// round-trip precision), words in ordinal order so the file is reproducible.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, float[]> vectors)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        foreach (var word in vectors.Keys.OrderBy(w => w, StringComparer.Ordinal))
            writer.Write(word + " " + string.Join(" ", vectors[word].Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "\n");
    }
}
