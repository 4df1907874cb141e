using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.DotNet.Interactive.Formatting;
using Pcme.Data;
using Pcme.Evaluation;
using Pcme.Probabilistic;
using Pcme.Runtime;
using Plotly.NET;
using static Pcme.Interactive.NotebookHtml;
using static TorchSharp.torch;

namespace Pcme.Interactive;

/// <summary>
/// The kit's notebook formatters (text/html), registered with the kernel's own
/// <c>Microsoft.DotNet.Interactive.Formatting</c> (this assembly compiles against it but does not ship
/// it, so it binds to the copy the engine has loaded):
/// <list type="bullet">
/// <item><see cref="GenericChart"/>: the chart, drawn by plotly.js (<see cref="ChartHtml"/>).</item>
/// <item><see cref="GaussianEmbedding"/>: N, D, sigma statistics, dtype and device (<see cref="GaussianSummary"/>).</item>
/// <item><see cref="CrossModalMetrics"/>, <see cref="ScorerResult"/> and sequences of them: metric tables.</item>
/// <item><see cref="RgbImage"/>: the image; <see cref="Html"/>: its markup; <see cref="TorchRuntimeStatus"/>: one line.</item>
/// </list>
/// Every HTML string is also available directly (<see cref="GaussianSummary"/>, <see cref="MetricsHtml"/>,
/// <see cref="ScorerTable"/>, <see cref="RuntimeSummary"/>), so they can be tested and reused outside a kernel.
/// </summary>
public static class PcmeFormatters
{
    static int registered;

    /// <summary>
    /// Registers the formatters once per process; false when no .NET Interactive formatter is loaded
    /// (outside a notebook kernel), in which case nothing happens.
    /// </summary>
    public static bool Register()
    {
        if (Volatile.Read(ref registered) == 1) return true;
        try
        {
            RegisterCore();
        }
        catch (FileNotFoundException e) when (e.FileName?.StartsWith("Microsoft.DotNet.Interactive", StringComparison.Ordinal) == true)
        {
            return false;
        }
        Volatile.Write(ref registered, 1);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void RegisterCore()
    {
        const string html = "text/html";
        Formatter.Register<GenericChart>((chart, writer) => writer.Write(ChartHtml.Render(chart)), html);
        Formatter.Register<Html>((value, writer) => writer.Write(value.Markup), html);
        Formatter.Register<GaussianEmbedding>((value, writer) => writer.Write(GaussianSummary(value).Markup), html);
        Formatter.Register<CrossModalMetrics>((value, writer) => writer.Write(MetricsHtml(value).Markup), html);
        Formatter.Register<ScorerResult>((value, writer) => writer.Write(ScorerTable([value]).Markup), html);
        Formatter.Register<IEnumerable<ScorerResult>>((value, writer) => writer.Write(ScorerTable(value.ToArray()).Markup), html);
        Formatter.Register<RgbImage>((value, writer) => writer.Write(Image(value, 3).Markup), html);
        Formatter.Register<TorchRuntimeStatus>((value, writer) => writer.Write(RuntimeSummary(value).Markup), html);
        foreach (var type in new[] { typeof(GenericChart), typeof(Html), typeof(GaussianEmbedding), typeof(CrossModalMetrics), typeof(ScorerResult), typeof(RgbImage), typeof(TorchRuntimeStatus) })
            Formatter.SetPreferredMimeTypesFor(type, html);
    }

    /// <summary>
    /// A Gaussian embedding set in one table row: N, D, the instance uncertainty sigma = exp(mean_d h / 2)
    /// (mean, min, max over items), the range of sigma over all entries, dtype and device.
    /// </summary>
    public static Html GaussianSummary(GaussianEmbedding embedding)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var u = embedding.Uncertainty().detach().to(ScalarType.Float64).cpu();
        var all = embedding.Sigma.detach().to(ScalarType.Float64).cpu();
        bool any = u.numel() > 0;
        return Table(
            ["N", "D", "mean sigma", "min sigma", "max sigma", "sigma entries", "dtype", "device"],
            [[
                embedding.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                embedding.Dimension.ToString(System.Globalization.CultureInfo.InvariantCulture),
                any ? Number(u.mean().item<double>(), "0.0000") : "-",
                any ? Number(u.min().item<double>(), "0.0000") : "-",
                any ? Number(u.max().item<double>(), "0.0000") : "-",
                any ? $"{Number(all.min().item<double>(), "0.0000")} .. {Number(all.max().item<double>(), "0.0000")}" : "-",
                embedding.Mean.dtype.ToString(), embedding.Device.ToString(),
            ]],
            "Gaussian embeddings (sigma = exp(mean(h)/2) per item)");
    }

    /// <summary>Both directions' metrics (R@K, P@K, R-Precision, mAP@R, PMRP when present, query and gallery counts) and RSUM.</summary>
    public static Html MetricsHtml(CrossModalMetrics metrics, string? caption = null)
    {
        var ks = metrics.ImageToText.Recalls.Select(r => r.K).ToArray();
        var pks = metrics.ImageToText.Precisions.Select(p => p.K).ToArray();
        bool pmrp = metrics.ImageToText.Pmrp is not null || metrics.TextToImage.Pmrp is not null;
        var header = new List<string> { "direction" };
        header.AddRange(ks.Select(k => $"R@{k}"));
        header.AddRange(pks.Select(k => $"P@{k}"));
        header.AddRange(["R-P", "mAP@R"]);
        if (pmrp) header.Add("PMRP");
        header.AddRange(["queries", "gallery"]);
        string[] Row(string name, RetrievalMetrics m)
        {
            var row = new List<string> { name };
            row.AddRange(ks.Select(k => m.HasRecallAt(k) ? Number(m.RecallAt(k)) : "-"));
            row.AddRange(pks.Select(k => m.HasPrecisionAt(k) ? Number(m.PrecisionAt(k)) : "-"));
            row.AddRange([Number(m.RPrecision), Number(m.MapAtR)]);
            if (pmrp) row.Add(m.Pmrp is { } p ? Number(p.Mean) : "-");
            row.AddRange([m.QueryCount.ToString(System.Globalization.CultureInfo.InvariantCulture), m.GalleryCount.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            return row.ToArray();
        }
        var table = Table(header, [Row("i2t", metrics.ImageToText), Row("t2i", metrics.TextToImage)], caption ?? "Retrieval metrics (%)");
        return new Html(table.Markup + $"<div style=\"font-size:90%\">RSUM {Escape(Number(metrics.Rsum, "0.0"))}</div>");
    }

    /// <summary>One row per scorer: R@1/5/10 and R-Precision in both directions, RSUM and the seconds scoring and ranking took.</summary>
    public static Html ScorerTable(IReadOnlyList<ScorerResult> results, string? caption = null)
    {
        string R(RetrievalMetrics m, int k) => m.HasRecallAt(k) ? Number(m.RecallAt(k)) : "-";
        var rows = results.Select(r => (IReadOnlyList<string>)
        [
            r.Scorer,
            R(r.Metrics.ImageToText, 1), R(r.Metrics.ImageToText, 5), R(r.Metrics.ImageToText, 10), Number(r.Metrics.ImageToText.RPrecision),
            R(r.Metrics.TextToImage, 1), R(r.Metrics.TextToImage, 5), R(r.Metrics.TextToImage, 10), Number(r.Metrics.TextToImage.RPrecision),
            Number(r.Metrics.Rsum, "0.0"), Number(r.Seconds, "0.000"),
        ]);
        return Table(["scorer", "i2t R@1", "i2t R@5", "i2t R@10", "i2t R-P", "t2i R@1", "t2i R@5", "t2i R@10", "t2i R-P", "RSUM", "seconds"],
            rows, caption ?? "Retrieval metrics per test-time scorer (%)");
    }

    /// <summary>The native runtime in one line: loaded or not, TorchSharp version, backend, threads, the libstdc++ fix.</summary>
    public static Html RuntimeSummary(TorchRuntimeStatus status)
    {
        if (!status.Loaded) return new Html($"<div style=\"color:#b00\">libtorch is not loaded: {Escape(status.Error ?? "unknown error")}</div>");
        var text = new StringBuilder($"libtorch loaded: TorchSharp {BuildInfo.TorchSharpVersion}, ")
            .Append(cuda.is_available() ? $"CUDA available ({cuda.device_count()} device(s))" : "CPU only")
            .Append($", {get_num_threads()} threads");
        text.Append(status.FixActive ? ", libstdc++ fix active (patched copy of libLibTorchSharp.so)" : ", no native fix needed");
        return new Html($"<div>{Escape(text.ToString())}</div>");
    }
}
