namespace Pcme.Tests;

/// <summary>Locations in the repository, found from the test binary.</summary>
static class RepoPaths
{
    /// <summary>The repository root (the folder holding Pcme.sln).</summary>
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Pcme.sln"))) return d.FullName;
        throw new InvalidOperationException("Pcme.sln not found above " + AppContext.BaseDirectory);
    }
}
