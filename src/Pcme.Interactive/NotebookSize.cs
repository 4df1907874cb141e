namespace Pcme.Interactive;

/// <summary>How big the notebooks' problems are: the same code path, smaller numbers in <see cref="Small"/>.</summary>
public enum ProblemSize
{
    /// <summary>Fewer images, epochs and steps: each notebook runs in a few minutes on two CPU cores (CI).</summary>
    Small,
    /// <summary>The sizes a reader should run (default).</summary>
    Full,
}

/// <summary>
/// Reads the notebooks' problem size from the environment variable <c>PCME_NOTEBOOK_SIZE</c>
/// (<c>small</c> or <c>full</c>; unset or empty means <c>full</c>), so CI runs every notebook's code
/// path with small numbers and readers get the real ones.
/// </summary>
public static class NotebookSize
{
    /// <summary>The environment variable's name.</summary>
    public const string Variable = "PCME_NOTEBOOK_SIZE";

    /// <summary>The size chosen by <c>PCME_NOTEBOOK_SIZE</c>; an unknown value is an error naming the choices.</summary>
    public static ProblemSize Current => Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>True in <see cref="ProblemSize.Small"/>.</summary>
    public static bool IsSmall => Current == ProblemSize.Small;

    /// <summary><paramref name="small"/> in small mode, else <paramref name="full"/>.</summary>
    public static T Pick<T>(T small, T full) => IsSmall ? small : full;

    /// <summary>Parses a value of <c>PCME_NOTEBOOK_SIZE</c> (case-insensitive; null or blank = full).</summary>
    public static ProblemSize Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "full" => ProblemSize.Full,
        "small" => ProblemSize.Small,
        _ => throw new ArgumentException($"{Variable}='{value}' is not a problem size: use 'small' (CI, a few minutes) or 'full' (default)."),
    };
}
