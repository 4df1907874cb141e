namespace Pcme.Data;

/// <summary>
/// A partial description of one shape: a colour, a kind, both or neither ("a red circle",
/// "an orange shape", "a circle", "a shape"). Null parts match anything.
/// </summary>
/// <param name="Color">Required colour, or null.</param>
/// <param name="Kind">Required kind, or null.</param>
public sealed record ShapeDescription(ShapeColor? Color, ShapeKind? Kind)
{
    /// <summary>The full description of a shape (its colour and kind).</summary>
    public static ShapeDescription Of(SyntheticShape shape) => new(shape.Color, shape.Kind);

    /// <summary>Whether <paramref name="shape"/> fits this description.</summary>
    public bool Matches(SyntheticShape shape) => (Color is null || shape.Color == Color) && (Kind is null || shape.Kind == Kind);

    /// <summary>"a red circle", "an orange shape", "a circle" or "a shape" (the article follows English: "an" before a vowel).</summary>
    public string Text
    {
        get
        {
            var words = (Color is { } c ? SyntheticGrammar.Word(c) + " " : "") + (Kind is { } k ? SyntheticGrammar.Word(k) : "shape");
            return ("aeiou".Contains(words[0]) ? "an " : "a ") + words;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}

/// <summary>
/// What a synthetic caption claims about a scene. A caption is relevant to an image exactly when its
/// predicate holds on the image's scene graph, whichever image it was written for. Records, so equal
/// predicates compare equal (the relevance index evaluates each distinct predicate once).
/// </summary>
public abstract record CaptionPredicate
{
    /// <summary>Whether the claim is true of <paramref name="scene"/>.</summary>
    public abstract bool Holds(SyntheticScene scene);

    /// <summary>The caption text that states this predicate in the grammar (<see cref="SyntheticGrammar.Parse"/> reads it back).</summary>
    public abstract string Text { get; }

    /// <summary>The grammar level: 0 = a relation, 1 = two shapes, 2 = colour and kind, 3 = colour or kind, 4 = just shapes.</summary>
    public abstract int Specificity { get; }

    /// <inheritdoc />
    public override string ToString() => Text;
}

/// <summary>"a red circle", "a red shape", "a circle", "a shape": some shape fits the description.</summary>
/// <param name="Shape">The description.</param>
public sealed record ExistsPredicate(ShapeDescription Shape) : CaptionPredicate
{
    /// <inheritdoc />
    public override bool Holds(SyntheticScene scene) => scene.Shapes.Any(Shape.Matches);
    /// <inheritdoc />
    public override string Text => Shape.Text;
    /// <inheritdoc />
    public override int Specificity => (Shape.Color is null ? 1 : 0) + (Shape.Kind is null ? 1 : 0) + 2;
}

/// <summary>"a red circle and a blue square": two different shapes fit the two descriptions.</summary>
/// <param name="First">Description of one shape.</param>
/// <param name="Second">Description of another shape.</param>
public sealed record PairPredicate(ShapeDescription First, ShapeDescription Second) : CaptionPredicate
{
    /// <inheritdoc />
    public override bool Holds(SyntheticScene scene)
    {
        var s = scene.Shapes;
        for (int a = 0; a < s.Count; a++)
            for (int b = 0; b < s.Count; b++)
                if (a != b && First.Matches(s[a]) && Second.Matches(s[b])) return true;
        return false;
    }
    /// <inheritdoc />
    public override string Text => $"{First.Text} and {Second.Text}";
    /// <inheritdoc />
    public override int Specificity => 1;
}

/// <summary>"a red circle to the left of a blue square": two different shapes fit the descriptions and stand in the relation.</summary>
/// <param name="Subject">Description of the shape the relation is about.</param>
/// <param name="Relation">Where the subject is, relative to the object (by bounding boxes, see <see cref="SpatialRelation"/>).</param>
/// <param name="Object">Description of the reference shape.</param>
public sealed record RelationPredicate(ShapeDescription Subject, SpatialRelation Relation, ShapeDescription Object) : CaptionPredicate
{
    /// <inheritdoc />
    public override bool Holds(SyntheticScene scene)
    {
        var s = scene.Shapes;
        for (int a = 0; a < s.Count; a++)
            for (int b = 0; b < s.Count; b++)
                if (a != b && Subject.Matches(s[a]) && Object.Matches(s[b]) && s[a].Is(Relation, s[b])) return true;
        return false;
    }
    /// <inheritdoc />
    public override string Text => $"{Subject.Text} {SyntheticGrammar.Phrase(Relation)} {Object.Text}";
    /// <inheritdoc />
    public override int Specificity => 0;
}

/// <summary>"some shapes" (at least 2) or "at least N shapes": the scene has at least <paramref name="Count"/> shapes.</summary>
/// <param name="Count">Minimum number of shapes, at least 1.</param>
public sealed record CountPredicate(int Count) : CaptionPredicate
{
    /// <inheritdoc />
    public override bool Holds(SyntheticScene scene) => scene.Shapes.Count >= Count;
    /// <inheritdoc />
    public override string Text => Count == 2 ? "some shapes" : $"at least {Count} shapes";
    /// <inheritdoc />
    public override int Specificity => 4;
}
