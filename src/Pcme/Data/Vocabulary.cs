using System.Diagnostics.CodeAnalysis;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pcme.Data;

/// <summary>A word and how often it occurred.</summary>
/// <param name="Word">The token.</param>
/// <param name="Count">Occurrences.</param>
public sealed record WordCount(string Word, long Count);

/// <summary>How many caption tokens a vocabulary does not know (<see cref="Vocabulary.UnknownTokenRate"/>).</summary>
/// <param name="Captions">Captions read.</param>
/// <param name="Tokens">Tokens in them.</param>
/// <param name="UnknownTokens">Tokens that map to <c>&lt;unk&gt;</c>.</param>
/// <param name="CaptionsWithUnknown">Captions with at least one unknown token.</param>
/// <param name="CaptionsWithoutKnownWord">Captions that are empty or whose every token is unknown (<see cref="Vocabulary.Encode(string, string)"/> rejects them).</param>
/// <param name="MostFrequentUnknown">The most frequent unknown tokens (up to 20), descending count, ties alphabetical.</param>
public sealed record UnknownTokenReport(int Captions, long Tokens, long UnknownTokens, int CaptionsWithUnknown, int CaptionsWithoutKnownWord, IReadOnlyList<WordCount> MostFrequentUnknown)
{
    /// <summary>UnknownTokens / Tokens (0 when there are no tokens).</summary>
    public double Rate => Tokens == 0 ? 0 : (double)UnknownTokens / Tokens;
}

/// <summary>
/// Word ids for captions. Ids 0-3 are the official special tokens <c>&lt;pad&gt;</c>, <c>&lt;start&gt;</c>,
/// <c>&lt;end&gt;</c>, <c>&lt;unk&gt;</c>; then the words of the training captions by descending count, ties in
/// ordinal (alphabetical) order, so that the same captions always give the same ids. (The official
/// vocabulary keeps first-seen order instead; the ids differ, the set of words does not.)
/// <para>Saved as JSON (<see cref="Save"/>) so it travels with a model checkpoint; the file records the
/// tokenizer scheme so a vocabulary is never used with different tokens.</para>
/// <para><b>Captions without a known word.</b> <see cref="Encode(string, string)"/> throws a
/// <see cref="DataException"/> naming the caption when a caption has no tokens or only unknown ones,
/// because its embedding would carry no information; loaders that prefer to skip such captions call
/// <see cref="TryEncode"/>, which reports a <see cref="SkippedItem"/> for them to count.</para>
/// </summary>
public sealed class Vocabulary
{
    /// <summary>Padding token (id 0).</summary>
    public const string PadToken = "<pad>";
    /// <summary>Start-of-caption token (id 1).</summary>
    public const string StartToken = "<start>";
    /// <summary>End-of-caption token (id 2).</summary>
    public const string EndToken = "<end>";
    /// <summary>Unknown-word token (id 3).</summary>
    public const string UnknownToken = "<unk>";
    /// <summary>Id of <see cref="PadToken"/>.</summary>
    public const long PadId = 0;
    /// <summary>Id of <see cref="StartToken"/>.</summary>
    public const long StartId = 1;
    /// <summary>Id of <see cref="EndToken"/>.</summary>
    public const long EndId = 2;
    /// <summary>Id of <see cref="UnknownToken"/>.</summary>
    public const long UnknownId = 3;
    /// <summary>The number of special tokens before the first word.</summary>
    public const int SpecialCount = 4;

    const string FileFormat = "pcme-vocabulary";
    const int FileVersion = 1;
    static readonly string[] Specials = [PadToken, StartToken, EndToken, UnknownToken];

    readonly string[] words;
    readonly long[] counts;
    readonly Dictionary<string, long> ids;

    /// <summary>The tokenizer used to encode captions.</summary>
    public CaptionTokenizer Tokenizer { get; }
    /// <summary>The minimum count a word needed to be included (recorded for reports).</summary>
    public int MinCount { get; }

    Vocabulary(string[] words, long[] counts, int minCount, CaptionTokenizer tokenizer)
    {
        this.words = words;
        this.counts = counts;
        MinCount = minCount;
        Tokenizer = tokenizer;
        ids = new Dictionary<string, long>(words.Length, StringComparer.Ordinal);
        for (int i = 0; i < words.Length; i++)
            if (!ids.TryAdd(words[i], i)) throw new DataException($"Vocabulary lists the word '{words[i]}' twice (ids {ids[words[i]]} and {i}).");
    }

    /// <summary>
    /// Counts the tokens of <paramref name="captions"/> and keeps the words that occur at least
    /// <paramref name="minCount"/> times (official <c>threshold</c>).
    /// </summary>
    /// <param name="captions">Raw caption texts (training split only, so evaluation words stay unknown as in the official setup).</param>
    /// <param name="minCount">Minimum occurrences, at least 1.</param>
    /// <param name="tokenizer">Tokenizer; <see cref="CaptionTokenizer.Default"/> when null.</param>
    public static Vocabulary Build(IEnumerable<string> captions, int minCount = 1, CaptionTokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(captions);
        if (minCount < 1) throw new ArgumentOutOfRangeException(nameof(minCount), minCount, "A word must occur at least once to be counted; use 1 to keep every word.");
        tokenizer ??= CaptionTokenizer.Default;
        var counter = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var caption in captions)
            foreach (var token in tokenizer.Tokenize(caption))
                counter[token] = counter.GetValueOrDefault(token) + 1;
        foreach (var s in Specials) counter.Remove(s);
        var kept = counter.Where(kv => kv.Value >= minCount)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        return new Vocabulary([.. Specials, .. kept.Select(kv => kv.Key)], [0, 0, 0, 0, .. kept.Select(kv => kv.Value)], minCount, tokenizer);
    }

    /// <summary>A vocabulary of the given words in the given order after the special tokens (counts unknown: 0).</summary>
    public static Vocabulary FromWords(IEnumerable<string> words, CaptionTokenizer? tokenizer = null)
    {
        var list = words.ToArray();
        if (list.Any(w => Specials.Contains(w))) throw new ArgumentException("Pass the words only: the special tokens are added in front.", nameof(words));
        return new Vocabulary([.. Specials, .. list], new long[SpecialCount + list.Length], 1, tokenizer ?? CaptionTokenizer.Default);
    }

    /// <summary>Number of entries, special tokens included (the embedding matrix has this many rows).</summary>
    public int Count => words.Length;

    /// <summary>All entries by id.</summary>
    public IReadOnlyList<string> Words => words;

    /// <summary>Each entry's count in the captions the vocabulary was built from (0 for specials and for <see cref="FromWords"/>).</summary>
    public IReadOnlyList<long> Counts => counts;

    /// <summary>The id of <paramref name="word"/>, or <see cref="UnknownId"/>.</summary>
    public long this[string word] => ids.TryGetValue(word, out var id) ? id : UnknownId;

    /// <summary>The entry with id <paramref name="id"/>.</summary>
    public string this[long id] => id >= 0 && id < words.Length ? words[id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"Not an id of this vocabulary (0..{words.Length - 1}).");

    /// <summary>Whether <paramref name="word"/> has its own id.</summary>
    public bool Contains(string word) => ids.ContainsKey(word);

    /// <summary>
    /// <c>&lt;start&gt;</c>, the ids of the caption's tokens (unknown words → <c>&lt;unk&gt;</c>), <c>&lt;end&gt;</c>.
    /// Throws a <see cref="DataException"/> naming <paramref name="captionId"/> when the caption has no
    /// token or no known token.
    /// </summary>
    public long[] Encode(string text, string captionId)
    {
        if (TryEncode(text, captionId, out var encoded, out var skipped)) return encoded;
        throw new DataException($"{skipped.Source}: {skipped.Reason}");
    }

    /// <summary><see cref="Encode(string, string)"/> for a data set caption.</summary>
    public long[] Encode(CaptionItem caption) => Encode(caption.Text, caption.Id);

    /// <summary>
    /// Like <see cref="Encode(string, string)"/>, but returns false with the reason (for a loader's
    /// skip list) instead of throwing when the caption has no token or no known token.
    /// </summary>
    public bool TryEncode(string text, string captionId, [NotNullWhen(true)] out long[]? encoded, [NotNullWhen(false)] out SkippedItem? skipped)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = Tokenizer.Tokenize(text);
        encoded = null; skipped = null;
        if (tokens.Count == 0)
        {
            skipped = new SkippedItem($"caption '{captionId}'", "the caption is empty (no tokens after tokenisation); fix or remove it in the annotation file.");
            return false;
        }
        var result = new long[tokens.Count + 2];
        result[0] = StartId;
        bool anyKnown = false;
        for (int i = 0; i < tokens.Count; i++)
        {
            result[i + 1] = this[tokens[i]];
            anyKnown |= result[i + 1] != UnknownId;
        }
        result[^1] = EndId;
        if (!anyKnown)
        {
            var preview = string.Join(" ", tokens.Take(8));
            skipped = new SkippedItem($"caption '{captionId}'", $"none of its {tokens.Count} tokens is in the vocabulary ('{preview}'); build the vocabulary from captions that include it or lower the min count ({MinCount}).");
            return false;
        }
        encoded = result;
        return true;
    }

    /// <summary>The tokens of <paramref name="ids"/>; special tokens are left out unless <paramref name="keepSpecialTokens"/>.</summary>
    public IReadOnlyList<string> Decode(IEnumerable<long> ids, bool keepSpecialTokens = false) =>
        ids.Where(id => keepSpecialTokens || id >= SpecialCount || id == UnknownId).Select(id => this[id]).ToArray();

    /// <summary><see cref="Decode"/> joined with single spaces (unknown words show as <c>&lt;unk&gt;</c>).</summary>
    public string DecodeText(IEnumerable<long> ids, bool keepSpecialTokens = false) => string.Join(" ", Decode(ids, keepSpecialTokens));

    /// <summary>How many tokens of <paramref name="captions"/> this vocabulary does not know.</summary>
    public UnknownTokenReport UnknownTokenRate(IEnumerable<string> captions)
    {
        int n = 0, withUnknown = 0, withoutKnown = 0;
        long tokens = 0, unknown = 0;
        var unknownCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var caption in captions)
        {
            n++;
            var t = Tokenizer.Tokenize(caption);
            int u = 0;
            foreach (var token in t)
                if (!ids.ContainsKey(token)) { u++; unknownCounts[token] = unknownCounts.GetValueOrDefault(token) + 1; }
            tokens += t.Count; unknown += u;
            if (u > 0) withUnknown++;
            if (u == t.Count) withoutKnown++;
        }
        var top = unknownCounts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(20).Select(kv => new WordCount(kv.Key, kv.Value)).ToArray();
        return new UnknownTokenReport(n, tokens, unknown, withUnknown, withoutKnown, top);
    }

    sealed record FileModel(
        [property: JsonPropertyName("format")] string Format,
        [property: JsonPropertyName("version")] int Version,
        [property: JsonPropertyName("tokenizer")] string Tokenizer,
        [property: JsonPropertyName("lowerCase")] bool LowerCase,
        [property: JsonPropertyName("minCount")] int MinCount,
        [property: JsonPropertyName("words")] string[] Words,
        [property: JsonPropertyName("counts")] long[] Counts);

    // Relaxed escaping keeps "<unk>" and non-ASCII words readable in the file (it is never embedded in HTML).
    static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The vocabulary as JSON: format tag, version, tokenizer scheme, min count, words by id, counts.</summary>
    public string ToJson() => JsonSerializer.Serialize(
        new FileModel(FileFormat, FileVersion, CaptionTokenizer.Scheme, Tokenizer.LowerCase, MinCount, words, counts), JsonOptions);

    /// <summary>Reads <see cref="ToJson"/> output; <paramref name="source"/> names it in errors.</summary>
    public static Vocabulary FromJson(string json, string source = "vocabulary JSON")
    {
        FileModel? model;
        try { model = JsonSerializer.Deserialize<FileModel>(json); }
        catch (JsonException e) { throw new DataException($"{source}: not a vocabulary file ({e.Message}).", e); }
        if (model is null || model.Format != FileFormat)
            throw new DataException($"{source}: not a vocabulary file (expected \"format\": \"{FileFormat}\").");
        if (model.Version != FileVersion)
            throw new DataException($"{source}: vocabulary file version {model.Version}; this build reads version {FileVersion}.");
        if (model.Tokenizer != CaptionTokenizer.Scheme)
            throw new DataException($"{source}: made with tokenizer '{model.Tokenizer}', this build tokenizes as '{CaptionTokenizer.Scheme}'; rebuild the vocabulary.");
        if (model.Words is null || model.Words.Length < SpecialCount || !model.Words.Take(SpecialCount).SequenceEqual(Specials))
            throw new DataException($"{source}: the first ids must be {string.Join(", ", Specials)}.");
        var counts = model.Counts ?? new long[model.Words.Length];
        if (counts.Length != model.Words.Length)
            throw new DataException($"{source}: {model.Words.Length} words but {counts.Length} counts.");
        try { return new Vocabulary(model.Words, counts, model.MinCount, new CaptionTokenizer { LowerCase = model.LowerCase }); }
        catch (DataException e) { throw new DataException($"{source}: {e.Message}", e); }
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> (UTF-8).</summary>
    public void Save(string path) => Pcme.Runtime.AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Reads a file written by <see cref="Save"/>; errors name the file.</summary>
    public static Vocabulary Load(string path)
    {
        string json;
        try { json = File.ReadAllText(path); }
        catch (IOException e) { throw new DataException($"{path}: cannot read the vocabulary ({e.Message}).", e); }
        return FromJson(json, path);
    }
}
