namespace Pcme.Tests.Plots;

/// <summary>
/// Whether the browser tests run: always under CI (<c>CI=true</c>, set by .ci/run), where a missing browser
/// fails them with the install hint; elsewhere they are skipped with a one-line reason when no browser is
/// installed, so a fresh machine with only the .NET SDK passes <c>dotnet test</c>.
/// </summary>
static class BrowserAvailability
{
    /// <summary>True under a CI environment (CI=true or CI=1, as GitHub Actions, GitLab and .ci/run set it).</summary>
    public static bool UnderCi => Environment.GetEnvironmentVariable("CI") is { } ci && (ci.Equals("true", StringComparison.OrdinalIgnoreCase) || ci == "1");

    /// <summary>The skip reason, or null when the test must run.</summary>
    public static string? SkipReason => BrowserRenderTests.Available || UnderCi ? null
        : "needs a headless browser (skipped outside CI): " + BrowserRenderTests.InstallHint;
}

/// <summary>A fact that renders HTML in a real browser (see <see cref="BrowserAvailability"/>).</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when no browser is installed outside CI.</summary>
    public BrowserFactAttribute() => Skip = BrowserAvailability.SkipReason;
}

/// <summary>A theory that renders HTML in a real browser (see <see cref="BrowserAvailability"/>).</summary>
public sealed class BrowserTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when no browser is installed outside CI.</summary>
    public BrowserTheoryAttribute() => Skip = BrowserAvailability.SkipReason;
}
