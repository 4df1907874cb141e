using System.Text.Json;

namespace Pcme.Tests;

public class DevcontainerTests
{
    [Fact]
    public void Devcontainer_uses_the_noble_dotnet_image_with_the_notebook_extensions()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "devcontainer.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var r = doc.RootElement;
        Assert.Equal("mcr.microsoft.com/devcontainers/dotnet:2-10.0-noble", r.GetProperty("image").GetString());
        Assert.Equal("optional", r.GetProperty("hostRequirements").GetProperty("gpu").GetString());
        var ext = r.GetProperty("customizations").GetProperty("vscode").GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToHashSet();
        foreach (var e in new[] { "ms-dotnettools.csharp", "ms-dotnettools.csdevkit", "ms-toolsai.jupyter", "ms-dotnettools.dotnet-interactive-vscode" })
            Assert.Contains(e, ext);
        string cmd = r.GetProperty("postCreateCommand").GetString()!;
        Assert.Contains("dotnet tool restore", cmd);
        Assert.Contains("dotnet build", cmd);
    }
}
