namespace Pcme.Data;

/// <summary>
/// The caption grammar of the synthetic data set, one form per specificity level:
/// <list type="table">
/// <item><term>0</term><description>a relation: "a red circle to the left of a blue square" (also "to the right of", "above", "below")</description></item>
/// <item><term>1</term><description>two shapes: "a red circle and a blue square"</description></item>
/// <item><term>2</term><description>one shape, colour and kind: "a red circle"</description></item>
/// <item><term>3</term><description>one shape, colour or kind: "a red shape", "a circle"</description></item>
/// <item><term>4</term><description>just shapes: "a shape" (every image), "some shapes" (two or more)</description></item>
/// </list>
/// Each caption is a <see cref="CaptionPredicate"/> and <see cref="Parse"/> turns any grammatical
/// caption (also one never generated) back into it, so a notebook can ask which images a caption fits.
/// </summary>
public static class SyntheticGrammar
{
    /// <summary>The most specific level.</summary>
    public const int MostSpecific = 0;
    /// <summary>The vaguest level.</summary>
    public const int Vaguest = 4;

    /// <summary>Colour words, in <see cref="ShapeColor"/> order.</summary>
    public static IReadOnlyList<string> ColorWords { get; } = Enum.GetValues<ShapeColor>().Select(Word).ToArray();
    /// <summary>Kind words, in <see cref="ShapeKind"/> order, then the generic "shape" and "shapes".</summary>
    public static IReadOnlyList<string> ShapeWords { get; } = [.. Enum.GetValues<ShapeKind>().Select(Word), "shape", "shapes"];
    /// <summary>Words of the relation phrases.</summary>
    public static IReadOnlyList<string> RelationWords { get; } = ["left", "right", "above", "below"];
    /// <summary>The remaining words: articles, prepositions, conjunction, quantifiers.</summary>
    public static IReadOnlyList<string> FunctionWords { get; } = ["a", "an", "and", "at", "least", "of", "some", "the", "to"];
    /// <summary>Every word a generated caption can contain (digits of "at least N shapes" aside).</summary>
    public static IReadOnlyList<string> AllWords { get; } = [.. ColorWords, .. ShapeWords, .. RelationWords, .. FunctionWords];

    /// <summary>The caption word of a colour.</summary>
    public static string Word(ShapeColor color) => color.ToString().ToLowerInvariant();
    /// <summary>The caption word of a kind.</summary>
    public static string Word(ShapeKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>The words between the two shape descriptions of a relation caption.</summary>
    public static string Phrase(SpatialRelation relation) => relation switch
    {
        SpatialRelation.LeftOf => "to the left of",
        SpatialRelation.RightOf => "to the right of",
        SpatialRelation.Above => "above",
        SpatialRelation.Below => "below",
        _ => throw new ArgumentOutOfRangeException(nameof(relation), relation, null),
    };

    /// <summary>The levels a caption of <paramref name="scene"/> can have: 0-1 need two shapes.</summary>
    public static IReadOnlyList<int> LevelsFor(SyntheticScene scene) => scene.Shapes.Count >= 2 ? [0, 1, 2, 3, 4] : [2, 3, 4];

    /// <summary>A random true caption of <paramref name="scene"/> at <paramref name="level"/> (which must be in <see cref="LevelsFor"/>).</summary>
    internal static CaptionPredicate Describe(SyntheticScene scene, int level, SeededRandom random)
    {
        var shapes = scene.Shapes;
        int n = shapes.Count;
        if (!LevelsFor(scene).Contains(level)) throw new ArgumentOutOfRangeException(nameof(level), level, $"A scene with {n} shape(s) has no level-{level} caption.");
        switch (level)
        {
            case 0:
            {
                var (a, b) = DistinctPair(n, random);
                var holding = Enum.GetValues<SpatialRelation>().Where(r => shapes[a].Is(r, shapes[b])).ToArray();
                // Shapes are generated with separated boxes, so at least one relation holds; the check documents it.
                if (holding.Length == 0) throw new InvalidOperationException($"Shapes {shapes[a]} and {shapes[b]} stand in no relation; the scene generator broke its separation guarantee.");
                return new RelationPredicate(ShapeDescription.Of(shapes[a]), random.Pick(holding), ShapeDescription.Of(shapes[b]));
            }
            case 1:
            {
                var (a, b) = DistinctPair(n, random);
                return new PairPredicate(ShapeDescription.Of(shapes[a]), ShapeDescription.Of(shapes[b]));
            }
            case 2:
                return new ExistsPredicate(ShapeDescription.Of(shapes[random.Next(n)]));
            case 3:
            {
                var s = shapes[random.Next(n)];
                return new ExistsPredicate(random.Next(2) == 0 ? new ShapeDescription(s.Color, null) : new ShapeDescription(null, s.Kind));
            }
            default:
                return n >= 2 && random.Next(2) == 0 ? new CountPredicate(2) : new ExistsPredicate(new ShapeDescription(null, null));
        }
    }

    static (int A, int B) DistinctPair(int n, SeededRandom random)
    {
        int a = random.Next(n);
        int b = random.Next(n - 1);
        return (a, b >= a ? b + 1 : b);
    }

    /// <summary>
    /// The predicate a caption states. Tokenised with <see cref="CaptionTokenizer.Default"/>, so case,
    /// extra spaces and a final period do not matter. Throws <see cref="FormatException"/> for text
    /// outside the grammar.
    /// </summary>
    public static CaptionPredicate Parse(string caption)
    {
        var t = CaptionTokenizer.Default.Tokenize(caption).ToList();
        if (t.Count > 0 && t[^1] == ".") t.RemoveAt(t.Count - 1);
        if (t.SequenceEqual(["some", "shapes"])) return new CountPredicate(2);
        if (t.Count == 4 && t[0] == "at" && t[1] == "least" && int.TryParse(t[2], out int count) && count >= 1 && t[3] == "shapes")
            return new CountPredicate(count);
        int p = 0;
        var first = ParseDescription(t, ref p, caption);
        if (p == t.Count) return new ExistsPredicate(first);
        if (t[p] == "and")
        {
            p++;
            var second = ParseDescription(t, ref p, caption);
            return p == t.Count ? new PairPredicate(first, second) : throw NotInGrammar(caption, $"unexpected '{t[p]}' after the second shape");
        }
        foreach (var relation in Enum.GetValues<SpatialRelation>())
        {
            var phrase = Phrase(relation).Split(' ');
            if (t.Count - p < phrase.Length || !t.Skip(p).Take(phrase.Length).SequenceEqual(phrase)) continue;
            p += phrase.Length;
            var obj = ParseDescription(t, ref p, caption);
            return p == t.Count ? new RelationPredicate(first, relation, obj) : throw NotInGrammar(caption, $"unexpected '{t[p]}' after the second shape");
        }
        throw NotInGrammar(caption, $"expected 'and', a relation ({string.Join(", ", Enum.GetValues<SpatialRelation>().Select(Phrase))}) or the end after '{first.Text}', found '{t[p]}'");
    }

    static ShapeDescription ParseDescription(List<string> t, ref int p, string caption)
    {
        // Either article is accepted anywhere; generated captions use "an" before a vowel.
        if (p >= t.Count || t[p] is not ("a" or "an")) throw NotInGrammar(caption, $"expected 'a' or 'an' at word {p + 1}");
        p++;
        ShapeColor? color = null;
        if (p < t.Count && ColorWords.IndexOf(t[p]) is int c and >= 0) { color = (ShapeColor)c; p++; }
        if (p >= t.Count) throw NotInGrammar(caption, "expected a shape word at the end");
        var kinds = Enum.GetValues<ShapeKind>();
        var word = t[p];
        int k = Array.FindIndex(kinds, kind => Word(kind) == word);
        if (k < 0 && word != "shape") throw NotInGrammar(caption, $"expected a shape word ({string.Join(", ", kinds.Select(Word))}, shape), found '{word}'");
        p++;
        return new ShapeDescription(color, k >= 0 ? kinds[k] : null);
    }

    static FormatException NotInGrammar(string caption, string why) =>
        new($"'{caption}' is not a synthetic caption: {why}. Forms: 'a|an [colour] circle|square|triangle|shape', 'X and Y', 'X to the left of|to the right of|above|below Y', 'some shapes'.");

    static int IndexOf(this IReadOnlyList<string> list, string word)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == word) return i;
        return -1;
    }
}
