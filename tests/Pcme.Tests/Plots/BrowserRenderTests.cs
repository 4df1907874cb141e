using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Pcme.Tests.Plots;

/// <summary>
/// Opens a written report in headless Chromium with the network switched off and checks that
/// plotly.js really drew every chart. Needs a Chromium-based browser (<see cref="Chromium"/>; .ci/run
/// installs Debian's <c>chromium</c>): without it the test is skipped outside CI and fails under CI (<see cref="BrowserFactAttribute"/>).
/// </summary>
public class BrowserRenderTests
{
    /// <summary>
    /// The browser: <c>PCME_CHROMIUM</c> when set, else the first of Debian's chromium, Google Chrome and
    /// Ubuntu's chromium-browser that exists (Ubuntu's apt chromium is a snap wrapper that does not run in
    /// containers; install Google Chrome there and, if it lives elsewhere, point PCME_CHROMIUM at it).
    /// </summary>
    internal static string Chromium { get; } = Environment.GetEnvironmentVariable("PCME_CHROMIUM") is { Length: > 0 } path ? path
        : new[] { "/usr/bin/chromium", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable", "/usr/bin/chromium-browser" }.FirstOrDefault(IsProgram)
          ?? "/usr/bin/chromium";

    /// <summary>A non-empty regular file (a path hidden by a bind mount of /dev/null, or a 0-byte stub, is no browser).</summary>
    internal static bool IsProgram(string path) => File.Exists(path) && new FileInfo(path) is { Length: > 0 } f && !f.Attributes.HasFlag(FileAttributes.Device);

    /// <summary>Whether <see cref="Chromium"/> is there to run.</summary>
    internal static bool Available => IsProgram(Chromium);

    internal static string InstallHint =>
        $"{Chromium} not found: these tests render HTML in a real browser. Install it with " +
        "`apt-get update && apt-get install -y --no-install-recommends chromium` (Debian; .ci/run does this), " +
        "or install Google Chrome, or set PCME_CHROMIUM to a Chromium-based browser.";

    [BrowserFact]
    public void Headless_chromium_draws_every_chart_of_the_report_offline()
    {
        if (!Available)
            Assert.Fail(InstallHint);

        string dir = Directory.CreateTempSubdirectory("pcme-browser-").FullName;
        try
        {
            string page = HtmlReportTests.TwoChartReport().Write(Path.Combine(dir, "report.html"));
            string dom = DumpDom(page, Path.Combine(dir, "profile"));

            // Decoded as UTF-8 (our paragraph and the axis title plotly drew into its SVG).
            Assert.Contains("σ should grow with vagueness", dom);
            Assert.Contains("sigma (mean ± std)", dom);

            var sections = Regex.Matches(dom, "<section class=\"pcme-chart\" id=\"(pcme-chart-\\d+)\"");
            Assert.Equal(["pcme-chart-1", "pcme-chart-2"], sections.Select(m => m.Groups[1].Value));
            for (int i = 0; i < sections.Count; i++)
            {
                int end = i + 1 < sections.Count ? sections[i + 1].Index : dom.Length;
                string section = dom[sections[i].Index..end];
                Assert.True(section.Contains("class=\"main-svg\""), $"plotly drew no SVG in {sections[i].Groups[1].Value}");
                Assert.Contains("js-plotly-plot", section);
                Assert.Contains("class=\"scatterlayer", section);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>The DOM after scripts ran; every host name resolves to nothing, so only inlined code can draw.</summary>
    internal static string DumpDom(string page, string profile)
    {
        var start = new ProcessStartInfo(Chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", $"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=10000", "--dump-dom", new Uri(page).AbsoluteUri,
        }) start.ArgumentList.Add(arg);

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish within 90 s");
        }
        string dom = stdout.GetAwaiter().GetResult();
        Assert.True(process.ExitCode == 0 && dom.Length > 0,
            $"chromium exited with {process.ExitCode}; stderr:\n{stderr.GetAwaiter().GetResult()}");
        return dom;
    }
}
