using System.Text.RegularExpressions;

namespace Pcme.Tests;

/// <summary>
/// The layout of DESIGN §4 kept by a test: which library folders may use which (read from the sources'
/// <c>using Pcme.X</c> directives and <c>Pcme.X.</c> qualified names), no cycles between folders, and one
/// name, one thing (no two public types of the kit share a name).
/// </summary>
public partial class LayoutTests
{
    static readonly string Library = Path.Combine(RepoPaths.Root, "src", "Pcme");

    [GeneratedRegex(@"(?:^\s*using\s+(?:static\s+)?|[^\w.])Pcme\.(?<to>[A-Z]\w*)", RegexOptions.Multiline)]
    private static partial Regex Reference();

    [GeneratedRegex(@"^\s*(///|//).*$", RegexOptions.Multiline)]
    private static partial Regex Comment();

    /// <summary>Folder -> folders its code refers to (comments excluded, so a cref in prose does not count).</summary>
    static Dictionary<string, HashSet<string>> FolderGraph()
    {
        var folders = Directory.GetDirectories(Library).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).ToHashSet()!;
        var graph = folders.ToDictionary(f => f!, _ => new HashSet<string>());
        foreach (var folder in folders)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(Library, folder!), "*.cs", SearchOption.AllDirectories))
            {
                string code = Comment().Replace(File.ReadAllText(file), "");
                foreach (Match m in Reference().Matches(code))
                {
                    string to = m.Groups["to"].Value;
                    if (to != folder && (folders.Contains(to) || to is "Cli" or "Interactive")) graph[folder!].Add(to);
                }
            }
        return graph;
    }

    public static TheoryData<string, string> Forbidden => new()
    {
        { "Probabilistic", "Modules" }, { "Probabilistic", "Data" }, { "Probabilistic", "Training" },
        { "Losses", "Data" }, { "Losses", "Training" },
        { "Retrieval", "Training" },
        { "Inference", "Training" },
        { "Modules", "Training" }, { "Data", "Training" }, { "Evaluation", "Training" },
    };

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void A_folder_does_not_use_what_the_layout_forbids(string from, string to)
    {
        var graph = FolderGraph();
        Assert.True(graph.ContainsKey(from), $"src/Pcme/{from} is missing");
        Assert.DoesNotContain(to, graph[from]);
    }

    [Fact]
    public void The_library_uses_neither_the_command_nor_the_notebook_kernel()
    {
        foreach (var (folder, uses) in FolderGraph())
        {
            Assert.DoesNotContain("Cli", uses);
            Assert.DoesNotContain("Interactive", uses);
        }
    }

    [Fact]
    public void There_is_no_cycle_between_folders()
    {
        var graph = FolderGraph();
        // Depth-first search: a back edge is a cycle; report it as a path.
        var state = graph.Keys.ToDictionary(k => k, _ => 0);
        var stack = new List<string>();
        string? cycle = null;
        void Visit(string n)
        {
            state[n] = 1; stack.Add(n);
            foreach (var m in graph[n].Where(graph.ContainsKey).Order())
            {
                if (cycle is not null) return;
                if (state[m] == 1) cycle = string.Join(" -> ", stack.SkipWhile(s => s != m).Append(m));
                else if (state[m] == 0) Visit(m);
            }
            stack.RemoveAt(stack.Count - 1); state[n] = 2;
        }
        foreach (var n in graph.Keys.Order()) if (state[n] == 0 && cycle is null) Visit(n);
        Assert.True(cycle is null, $"folder cycle: {cycle}");
        // The check sees real edges (a broken regex would pass vacuously).
        Assert.Contains("Probabilistic", graph["Retrieval"]);
        Assert.Contains("Inference", graph["Training"]);
    }

    [Fact]
    public void No_two_public_types_of_the_kit_share_a_name()
    {
        var assemblies = new[] { typeof(Pcme.Training.Experiment).Assembly, typeof(Pcme.Cli.Program).Assembly, typeof(Pcme.Interactive.SyntheticRuns).Assembly };
        var clashes = assemblies.SelectMany(a => a.GetExportedTypes()).Where(t => !t.IsNested)
            .GroupBy(t => t.Name).Where(g => g.Count() > 1).Select(g => string.Join(", ", g.Select(t => t.FullName))).ToArray();
        Assert.True(clashes.Length == 0, "public types sharing a name: " + string.Join("; ", clashes));
    }
}
