using System.Text.RegularExpressions;

namespace Pcme.Data;

/// <summary>
/// Splits a caption into words the way the official code does: <c>nltk.word_tokenize(str(caption).lower())</c>
/// (NLTK 3.8: Punkt sentence splitting, then <c>NLTKWordTokenizer</c> on each sentence). Vocabularies
/// and GloVe look-ups only line up with the official ones when the tokens are the same, so the word
/// rules are a literal port of NLTK's regular expressions, applied in NLTK's order.
/// <para><b>Rules</b>, on the lower-cased text:</para>
/// <list type="number">
/// <item><b>Sentences</b> (approximating Punkt's English model, which is trained data we do not ship):
/// a whitespace-separated chunk ending in one '.' (optionally followed by closing quotes or brackets)
/// ends a sentence when more text follows, except (a) a known abbreviation (<see cref="Abbreviations"/>)
/// or a chunk with an inner period ("u.s.", "e.g."), never a break; (b) a single letter ("j.") or a
/// number ("3.") followed by a word starting with a lower-case letter or by one of <c>;:,.!?</c>,
/// not a break (Punkt's orthographic heuristic on lower-cased text). Why it matters: only the last
/// period of a sentence is split off, so "a dog. a cat." gives "dog", ".", ... and not "dog.".</item>
/// <item><b>Starting quotes</b>: « “ ‘ „ and runs of ` become tokens; a '"' at the start, or after
/// a space or ( [ { &lt;, becomes <c>``</c> (so does '' there).</item>
/// <item><b>Punctuation</b>: the sentence-final '.' (before any closing quotes/brackets) is split off;
/// ':' and ',' are split off unless a digit follows ("3,000" and "10:30" stay whole); runs of two or
/// more '.' ("...") are one token; ; @ # $ % &amp; ? ! * are always split off; a "'" followed by a space
/// is split off.</item>
/// <item><b>Brackets</b> ( ) [ ] { } &lt; &gt; are split off; "--" is a token.</item>
/// <item><b>Ending quotes</b>: » ” ’ become tokens; '"' and '' elsewhere become <c>''</c>.</item>
/// <item><b>Clitics</b> (the Penn Treebank way): 's 'm 'd ' 'll 're 've n't become separate tokens
/// ("dog's" → "dog", "'s"; "can't" → "ca", "n't"; "isn't" → "is", "n't"); "cannot", "gonna",
/// "gotta", "wanna", "gimme", "lemme", "d'ye", "more'n" are split in two; "'tis", "'twas" too.</item>
/// <item>Everything else splits on white space only: hyphenated words ("black-and-white"),
/// decimals ("3.5"), inner periods ("e.g.") and slashes ("and/or") stay one token.</item>
/// </list>
/// Checked against NLTK 3.8's <c>NLTKWordTokenizer</c> (see the tests' expected tokens).
/// </summary>
public sealed class CaptionTokenizer
{
    /// <summary>The shared instance (lower-casing, like the official code).</summary>
    public static CaptionTokenizer Default { get; } = new();

    /// <summary>Names these rules in saved vocabularies, so a vocabulary is not used with other tokens.</summary>
    public const string Scheme = "nltk-word-tokenize-lower/1";

    /// <summary>Lower-case the text first (official: yes). Lower-casing uses the invariant culture.</summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>
    /// Abbreviations that never end a sentence (lower case, without the final period). A small,
    /// common subset of what Punkt's English model learned; chunks with an inner period are always
    /// treated as abbreviations as well.
    /// </summary>
    public static IReadOnlySet<string> Abbreviations { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "prof", "inc", "ltd", "corp", "co", "mt", "ave", "etc",
    };

    const RegexOptions Options = RegexOptions.CultureInvariant;

    // NLTK 3.8 NLTKWordTokenizer, in its order; Python's \1 and \g<0> are .NET's $1 and $0.
    static readonly (Regex Pattern, string Replacement)[] StartingQuotes =
    [
        (new("([«“‘„]|[`]+)", Options), " $1 "),
        (new("^\"", Options), "``"),
        (new("(``)", Options), " $1 "),
        (new("([ \\(\\[{<])(\"|'{2})", Options), "$1 `` "),
        (new("(?i)(')(?!re|ve|ll|m|t|s|d|n)(\\w)\\b", Options), "$1 $2"),
    ];

    static readonly (Regex Pattern, string Replacement)[] Punctuation =
    [
        (new("([^\\.])(\\.)([\\]\\)}>\"'»”’ ]*)\\s*$", Options), "$1 $2 $3 "),
        (new("([:,])([^\\d])", Options), " $1 $2"),
        (new("([:,])$", Options), " $1 "),
        (new("\\.{2,}", Options), " $0 "),
        (new("[;@#$%&]", Options), " $0 "),
        (new("([^\\.])(\\.)([\\]\\)}>\"']*)\\s*$", Options), "$1 $2$3 "),
        (new("[?!]", Options), " $0 "),
        (new("([^'])' ", Options), "$1 ' "),
        (new("[*]", Options), " $0 "),
    ];

    static readonly (Regex Pattern, string Replacement) ParensBrackets = (new("[\\]\\[\\(\\)\\{\\}\\<\\>]", Options), " $0 ");
    static readonly (Regex Pattern, string Replacement) DoubleDashes = (new("--", Options), " -- ");

    static readonly (Regex Pattern, string Replacement)[] EndingQuotes =
    [
        (new("([»”’])", Options), " $1 "),
        (new("''", Options), " '' "),
        (new("\"", Options), " '' "),
        (new("([^' ])('[sS]|'[mM]|'[dD]|') ", Options), "$1 $2 "),
        (new("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", Options), "$1 $2 "),
    ];

    // Robert MacIntyre's contractions, as in NLTK (CONTRACTIONS2 and CONTRACTIONS3).
    static readonly Regex[] Contractions =
    [
        new("(?i)\\b(can)(?#X)(not)\\b", Options),
        new("(?i)\\b(d)(?#X)('ye)\\b", Options),
        new("(?i)\\b(gim)(?#X)(me)\\b", Options),
        new("(?i)\\b(gon)(?#X)(na)\\b", Options),
        new("(?i)\\b(got)(?#X)(ta)\\b", Options),
        new("(?i)\\b(lem)(?#X)(me)\\b", Options),
        new("(?i)\\b(more)(?#X)('n)\\b", Options),
        new("(?i)\\b(wan)(?#X)(na)(?=\\s)", Options),
        new("(?i) ('t)(?#X)(is)\\b", Options),
        new("(?i) ('t)(?#X)(was)\\b", Options),
    ];

    // Punkt's number type (^-?[.,]?\d[\d,.-]*\.?$) and initial (a single letter and a period).
    static readonly Regex PunktNumber = new("^-?[\\.,]?\\d[\\d,\\.-]*\\.?$", Options);
    static readonly Regex PunktInitial = new("^[^\\W\\d]\\.$", Options);
    static readonly Regex Chunks = new("\\S+", Options);
    const string ClosingChars = "\"')]}»”’";
    const string OpeningChars = "\"'([{«“‘`";

    /// <summary>The tokens of <paramref name="text"/> (empty for empty or white-space-only text).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (LowerCase) text = text.ToLowerInvariant();
        var tokens = new List<string>();
        foreach (var sentence in Sentences(text)) tokens.AddRange(TokenizeSentence(sentence));
        return tokens;
    }

    /// <summary>The sentences of <paramref name="text"/> under the approximate Punkt rule of the class summary.</summary>
    public static IReadOnlyList<string> Sentences(string text)
    {
        var chunks = Chunks.Matches(text);
        var sentences = new List<string>();
        int start = 0;
        for (int k = 0; k < chunks.Count - 1; k++)
        {
            if (!EndsSentence(chunks[k].Value, chunks[k + 1].Value)) continue;
            int end = chunks[k].Index + chunks[k].Length;
            sentences.Add(text[start..end]);
            start = chunks[k + 1].Index;
        }
        if (start < text.Length && !string.IsNullOrWhiteSpace(text[start..])) sentences.Add(text[start..]);
        return sentences;
    }

    static bool EndsSentence(string chunk, string next)
    {
        var core = chunk.TrimEnd(ClosingChars.ToCharArray());
        if (!core.EndsWith('.') || core.EndsWith("..")) return false;
        core = core.TrimStart(OpeningChars.ToCharArray());
        var word = core[..^1];
        if (word.Length == 0) return false;
        if (word.Contains('.') || Abbreviations.Contains(word) || Abbreviations.Contains(word.Split('-')[^1])) return false;
        if (PunktInitial.IsMatch(core) || PunktNumber.IsMatch(core))
        {
            bool nextIsLowerWord = char.IsLower(next[0]);
            bool nextIsPunctuation = next.Length == 1 && ";:,.!?".Contains(next[0]);
            return !(nextIsLowerWord || nextIsPunctuation);
        }
        return true;
    }

    /// <summary>NLTK's <c>NLTKWordTokenizer.tokenize</c> on one sentence (no lower-casing, no sentence splitting).</summary>
    public static IReadOnlyList<string> TokenizeSentence(string sentence)
    {
        var text = sentence;
        foreach (var (pattern, replacement) in StartingQuotes) text = pattern.Replace(text, replacement);
        foreach (var (pattern, replacement) in Punctuation) text = pattern.Replace(text, replacement);
        text = ParensBrackets.Pattern.Replace(text, ParensBrackets.Replacement);
        text = DoubleDashes.Pattern.Replace(text, DoubleDashes.Replacement);
        // NLTK pads with spaces so the ending-quote and clitic patterns can require one on either side.
        text = " " + text + " ";
        foreach (var (pattern, replacement) in EndingQuotes) text = pattern.Replace(text, replacement);
        foreach (var pattern in Contractions) text = pattern.Replace(text, " $1 $2 ");
        return text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
    }
}
