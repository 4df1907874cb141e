namespace Pcme.Data;

/// <summary>Colours of synthetic shapes (the caption word is the lower-case name).</summary>
public enum ShapeColor
{
    /// <summary>"red".</summary>
    Red,
    /// <summary>"green".</summary>
    Green,
    /// <summary>"blue".</summary>
    Blue,
    /// <summary>"yellow".</summary>
    Yellow,
    /// <summary>"purple".</summary>
    Purple,
    /// <summary>"orange".</summary>
    Orange,
}

/// <summary>Kinds of synthetic shapes (the caption word is the lower-case name).</summary>
public enum ShapeKind
{
    /// <summary>"circle".</summary>
    Circle,
    /// <summary>"square".</summary>
    Square,
    /// <summary>"triangle" (apex up).</summary>
    Triangle,
}

/// <summary>Where one shape is relative to another, by bounding boxes (image y grows downwards).</summary>
public enum SpatialRelation
{
    /// <summary>The subject's box ends left of the object's box: subject.Right &lt; object.Left.</summary>
    LeftOf,
    /// <summary>subject.Left &gt; object.Right.</summary>
    RightOf,
    /// <summary>The subject's box ends above the object's box: subject.Bottom &lt; object.Top.</summary>
    Above,
    /// <summary>subject.Top &gt; object.Bottom.</summary>
    Below,
}

/// <summary>An 8-bit RGB colour.</summary>
/// <param name="R">Red.</param>
/// <param name="G">Green.</param>
/// <param name="B">Blue.</param>
public readonly record struct Rgb(byte R, byte G, byte B);

/// <summary>The exact colours the renderer paints (no anti-aliasing, so every pixel is one of these).</summary>
public static class SyntheticPalette
{
    /// <summary>The plain background (light grey: differs from every shape colour in every channel pattern).</summary>
    public static Rgb Background { get; } = new(240, 240, 240);

    /// <summary>The RGB of a shape colour.</summary>
    public static Rgb Of(ShapeColor color) => color switch
    {
        ShapeColor.Red => new(220, 30, 30),
        ShapeColor.Green => new(30, 160, 60),
        ShapeColor.Blue => new(30, 70, 220),
        ShapeColor.Yellow => new(235, 205, 20),
        ShapeColor.Purple => new(140, 50, 180),
        ShapeColor.Orange => new(245, 130, 20),
        _ => throw new ArgumentOutOfRangeException(nameof(color), color, null),
    };
}

/// <summary>
/// One shape of a scene, in pixel coordinates: its bounding box is the pixels
/// [CenterX - Radius, CenterX + Radius] x [CenterY - Radius, CenterY + Radius] (inclusive).
/// A circle fills the pixels whose centres lie within Radius + 0.5 of the centre pixel's centre; a
/// square fills its whole box; a triangle has its apex at the top middle and its base on the box's
/// bottom edge. The pixel at (CenterX, CenterY) always has the shape's colour.
/// </summary>
/// <param name="Color">Fill colour.</param>
/// <param name="Kind">Circle, square or triangle.</param>
/// <param name="CenterX">Column of the centre pixel.</param>
/// <param name="CenterY">Row of the centre pixel.</param>
/// <param name="Radius">Half extent in pixels (box side = 2 Radius + 1).</param>
public sealed record SyntheticShape(ShapeColor Color, ShapeKind Kind, int CenterX, int CenterY, int Radius)
{
    /// <summary>First column of the box.</summary>
    public int Left => CenterX - Radius;
    /// <summary>Last column of the box.</summary>
    public int Right => CenterX + Radius;
    /// <summary>First row of the box.</summary>
    public int Top => CenterY - Radius;
    /// <summary>Last row of the box.</summary>
    public int Bottom => CenterY + Radius;

    /// <summary>Category index Color * 3 + Kind (0..17), used for multi-hot labels.</summary>
    public int Category => SyntheticScene.CategoryOf(Color, Kind);

    /// <summary>"red circle at (10, 12) r=6" (for notebooks and assertion messages).</summary>
    public override string ToString() => $"{Color.ToString().ToLowerInvariant()} {Kind.ToString().ToLowerInvariant()} at ({CenterX}, {CenterY}) r={Radius}";

    /// <summary>Whether this shape's box and <paramref name="other"/>'s are separated by at least <paramref name="gap"/> empty pixels along x or y.</summary>
    public bool IsSeparatedFrom(SyntheticShape other, int gap) =>
        Right + gap < other.Left || other.Right + gap < Left || Bottom + gap < other.Top || other.Bottom + gap < Top;

    /// <summary>Whether this shape stands in <paramref name="relation"/> to <paramref name="other"/> (see <see cref="SpatialRelation"/>).</summary>
    public bool Is(SpatialRelation relation, SyntheticShape other) => relation switch
    {
        SpatialRelation.LeftOf => Right < other.Left,
        SpatialRelation.RightOf => Left > other.Right,
        SpatialRelation.Above => Bottom < other.Top,
        SpatialRelation.Below => Top > other.Bottom,
        _ => throw new ArgumentOutOfRangeException(nameof(relation), relation, null),
    };
}

/// <summary>
/// The scene graph of one synthetic image: its shapes (1-3, each (colour, kind) at most once,
/// bounding boxes separated by empty pixels) on <see cref="SyntheticPalette.Background"/>. Caption
/// predicates are evaluated on this, so relevance is exact.
/// </summary>
/// <param name="Size">Image width = height in pixels.</param>
/// <param name="Shapes">The shapes in drawing order.</param>
public sealed record SyntheticScene(int Size, IReadOnlyList<SyntheticShape> Shapes)
{
    /// <summary>Number of (colour, kind) categories.</summary>
    public static int CategoryCount => Enum.GetValues<ShapeColor>().Length * Enum.GetValues<ShapeKind>().Length;

    /// <summary>Category index of a (colour, kind) pair: Color * 3 + Kind.</summary>
    public static int CategoryOf(ShapeColor color, ShapeKind kind) => (int)color * Enum.GetValues<ShapeKind>().Length + (int)kind;

    /// <summary>The distinct categories present, ascending (multi-hot labels for PMRP-style evaluation).</summary>
    public IReadOnlyList<int> Categories => Shapes.Select(s => s.Category).Distinct().Order().ToArray();

    /// <summary>The shape whose box contains pixel (x, y), or null (the background or the gap between boxes).</summary>
    public SyntheticShape? ShapeAt(int x, int y) =>
        Shapes.FirstOrDefault(s => x >= s.Left && x <= s.Right && y >= s.Top && y <= s.Bottom);

    /// <summary>"red circle at (10, 12) r=6; blue square at ...".</summary>
    public override string ToString() => string.Join("; ", Shapes);
}
