using System.Collections.Concurrent;
using System.Text.Json;
using Pcme.Runtime;

namespace Pcme.Modules;

/// <summary>A backbone weight file ready for <see cref="WeightLoader.Load"/>, and, for converted weights, what they need.</summary>
/// <param name="WeightsPath">The <c>.pth</c> / <c>.safetensors</c> state dict to load.</param>
/// <param name="Info">For weights converted from ONNX: their origin and preprocessing; null for plain torchvision files.</param>
/// <param name="MeanImagePath">The mean image file (<c>NAME.preprocess.safetensors</c>) when <paramref name="Info"/> names one.</param>
public sealed record PretrainedWeights(string WeightsPath, PretrainedBackboneInfo? Info, string? MeanImagePath)
{
    /// <summary>The preprocessing the weights need (<c>caffe-bgr-mean</c>), or null when they carry no such record (torchvision's ImageNet normalisation).</summary>
    public string? Normalize => Info?.Normalize;
}

/// <summary>
/// Resolves <c>model.pretrained_resnet_model_path</c>: a torchvision <c>.pth</c> / <c>.safetensors</c> file as it is;
/// a <c>.onnx</c> ResNet-18, converted once by <see cref="OnnxResNetConverter"/> into the kit cache
/// (<c>$PCME_CACHE/pretrained/NAME-SHA</c>, keyed by the file's SHA-256) and loaded from there afterwards; or the
/// shorthand <c>nuget:PACKAGE[/VERSION]</c>, the ONNX inside that package in the NuGet cache
/// (<c>$NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>), e.g. <see cref="OnnxResNetConverter.NuGetShorthand"/>.
/// </summary>
public static class PretrainedBackbones
{
    static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> Hashes = new();

    /// <summary>Resolves <paramref name="path"/>; conversion output goes to <paramref name="cacheDirectory"/> (default the kit cache's <c>pretrained/</c>).</summary>
    public static PretrainedWeights Resolve(string path, string? cacheDirectory = null, string? packagesRoot = null)
    {
        string file = path.StartsWith("nuget:", StringComparison.Ordinal) ? FindInNuGetCache(path, packagesRoot) : path;
        if (file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            return ConvertCached(file, cacheDirectory ?? Path.Combine(TorchRuntime.CacheDirectory(), "pretrained"));
        // A converted file passed directly (e.g. copied to a GPU machine): its header beside it says what it needs.
        if (file.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) && ReadHeader(Path.ChangeExtension(file, ".json")) is { } info)
            return new PretrainedWeights(file, info, MeanImageOf(file, info));
        return new PretrainedWeights(file, null, null);
    }

    /// <summary>The NuGet global packages folder: <c>$NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>.</summary>
    public static string PackagesRoot()
    {
        string? env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        return !string.IsNullOrEmpty(env) ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    }

    /// <summary>
    /// The ONNX file of <c>nuget:PACKAGE[/VERSION]</c> in the NuGet cache (the highest version present when none is
    /// named). Only <see cref="OnnxResNetConverter.PackageId"/> is known; a missing package is a
    /// <see cref="WeightFileException"/> with the command that fetches it.
    /// </summary>
    public static string FindInNuGetCache(string shorthand, string? packagesRoot = null)
    {
        string spec = shorthand["nuget:".Length..];
        int slash = spec.IndexOf('/');
        string id = slash < 0 ? spec : spec[..slash], version = slash < 0 ? "" : spec[(slash + 1)..];
        if (!string.Equals(id, OnnxResNetConverter.PackageId, StringComparison.OrdinalIgnoreCase))
            throw new WeightFileException($"model.pretrained_resnet_model_path '{shorthand}': the kit knows the ONNX inside NuGet package {OnnxResNetConverter.PackageId} only. Use {OnnxResNetConverter.NuGetShorthand}, or the path of a .onnx file.");
        string root = packagesRoot ?? PackagesRoot();
        string packageDir = Path.Combine(root, id.ToLowerInvariant());
        string fetch = $"Fetch it with `dotnet restore data/pretrained` (NuGet package {OnnxResNetConverter.PackageId} {OnnxResNetConverter.PackageVersion}, about 60 MB, MIT).";
        if (version.Length == 0)
        {
            var versions = Directory.Exists(packageDir) ? Directory.GetDirectories(packageDir).Select(Path.GetFileName).OfType<string>()
                .Where(v => File.Exists(Path.Combine(packageDir, v, OnnxResNetConverter.ModelPathInPackage)))
                .OrderBy(v => Version.TryParse(v.Split('-')[0], out var p) ? p : new Version()).ToArray() : [];
            if (versions.Length == 0) throw new WeightFileException($"'{shorthand}': NuGet package {id} is not in the NuGet cache '{root}'. {fetch}");
            version = versions[^1];
        }
        string onnx = Path.Combine(packageDir, version.ToLowerInvariant(), OnnxResNetConverter.ModelPathInPackage);
        if (!File.Exists(onnx)) throw new WeightFileException($"'{shorthand}': {onnx} does not exist (NuGet cache '{root}'). {fetch}");
        return onnx;
    }

    /// <summary>The converted weights of <paramref name="onnx"/> in <paramref name="cacheDirectory"/>, converting them first when absent.</summary>
    static PretrainedWeights ConvertCached(string onnx, string cacheDirectory)
    {
        if (!File.Exists(onnx)) throw new WeightFileException($"ONNX model '{onnx}' does not exist. Pass the path of a .onnx file or {OnnxResNetConverter.NuGetShorthand}.");
        var fileInfo = new FileInfo(onnx);
        string sha = Hashes.GetOrAdd((fileInfo.FullName, fileInfo.Length, fileInfo.LastWriteTimeUtc), _ => OnnxResNetConverter.Sha256(onnx));
        string baseName = Path.Combine(cacheDirectory, $"{Path.GetFileNameWithoutExtension(onnx)}-{sha[..16]}");
        string weights = baseName + ".safetensors";
        var info = ReadHeader(baseName + ".json");
        if (info is null || info.SourceSha256 != sha || !File.Exists(weights) || !File.Exists(Path.Combine(cacheDirectory, info.MeanImage)))
        {
            try { info = OnnxResNetConverter.Convert(onnx, baseName); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not WeightFileException)
            {
                throw new WeightFileException($"Cannot write the converted weights of '{onnx}' to '{cacheDirectory}' ({e.Message}). Set PCME_CACHE to a writable folder.", e);
            }
        }
        return new PretrainedWeights(weights, info, MeanImageOf(weights, info));
    }

    static string MeanImageOf(string weights, PretrainedBackboneInfo info) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weights))!, info.MeanImage);

    /// <summary>A converter header, or null when the file is absent or is not one (another tool's JSON).</summary>
    static PretrainedBackboneInfo? ReadHeader(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var info = JsonSerializer.Deserialize<PretrainedBackboneInfo>(File.ReadAllText(path), OnnxResNetConverter.HeaderJson);
            return info is { Kind: not null, Normalize: not null, MeanImage: not null, SourceSha256: not null } ? info : null;
        }
        catch (JsonException) { return null; }
    }
}
