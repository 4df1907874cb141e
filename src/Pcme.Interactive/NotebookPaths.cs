namespace Pcme.Interactive;

/// <summary>Where notebooks find the repository and write their runs.</summary>
public static class NotebookPaths
{
    /// <summary>Environment variable naming the folder for notebook runs (default: runs/notebooks in the repository).</summary>
    public const string RunsVariable = "PCME_NOTEBOOK_RUNS";

    /// <summary>
    /// The repository root: the first folder holding Pcme.sln at or above the current directory (a
    /// notebook kernel runs in the notebook's folder in VS Code, in the shell's folder under dotnet-repl).
    /// </summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Pcme.sln"))) return d.FullName;
            throw new DirectoryNotFoundException($"No Pcme.sln at or above {Directory.GetCurrentDirectory()}: run the notebooks inside the Pcme.NET repository.");
        }
    }

    /// <summary>The folder for notebook runs: <c>$PCME_NOTEBOOK_RUNS</c>, else <c>runs/notebooks</c> in the repository (git-ignored).</summary>
    public static string RunsRoot => Environment.GetEnvironmentVariable(RunsVariable) is { Length: > 0 } dir
        ? Path.GetFullPath(dir)
        : Path.Combine(RepositoryRoot, "runs", "notebooks");

    /// <summary>The run folder <paramref name="name"/> under <see cref="RunsRoot"/> (not created).</summary>
    public static string Run(string name) => Path.Combine(RunsRoot, name);
}
