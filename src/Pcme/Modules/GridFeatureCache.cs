using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;
using Pcme.Runtime;

namespace Pcme.Modules;

/// <summary>The header of a grid feature cache (<c>NAME.json</c> beside <c>NAME.bin</c>).</summary>
/// <param name="Backbone">Backbone kind that produced the grids.</param>
/// <param name="Channels">C.</param>
/// <param name="Height">Grid rows h.</param>
/// <param name="Width">Grid columns w.</param>
/// <param name="Ids">Image ids in row order.</param>
/// <param name="DType">Storage type (float16).</param>
/// <param name="Version">Format version.</param>
public sealed record GridCacheHeader(string Backbone, long Channels, long Height, long Width, IReadOnlyList<string> Ids, string DType = "float16", int Version = 1)
{
    /// <summary>Bytes per cached image.</summary>
    public long RowBytes => Channels * Height * Width * 2;
}

/// <summary>
/// Feature cache for frozen backbones: every image's grid [C, h, w] is extracted once into one
/// float16 file on disk (plus a JSON header), then read back by row with positioned reads, so the
/// heads can be trained for many epochs without running the CNN again. One view per image (the
/// eval transform): random-crop augmentation is off when training from the cache.
/// </summary>
public sealed class GridFeatureCache : IDisposable
{
    readonly SafeFileHandle handle;
    readonly Dictionary<string, int> rowOfId;

    /// <summary>The header.</summary>
    public GridCacheHeader Header { get; }
    /// <summary>Number of cached images.</summary>
    public int Count => Header.Ids.Count;
    /// <summary>The .bin file.</summary>
    public string DataPath { get; }

    GridFeatureCache(string dataPath, GridCacheHeader header)
    {
        DataPath = dataPath;
        Header = header;
        handle = File.OpenHandle(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        long expected = header.RowBytes * header.Ids.Count;
        long actual = RandomAccess.GetLength(handle);
        if (actual != expected)
        {
            handle.Dispose();
            throw new WeightFileException($"Feature cache '{dataPath}' holds {actual} bytes but its header describes {expected}: it is truncated or from another run. Delete it and rebuild the cache.");
        }
        rowOfId = header.Ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);
    }

    /// <summary>
    /// Extracts grids for <paramref name="ids"/> with <paramref name="backbone"/> (eval mode, no grad),
    /// <paramref name="batchSize"/> images at a time; <paramref name="loadImages"/> turns row indices
    /// into an image batch [B, 3, H, W]. Written to a temp file and renamed, so a crash leaves no
    /// half cache. Returns the opened cache.
    /// </summary>
    public static GridFeatureCache Build(GridBackbone backbone, IReadOnlyList<string> ids, Func<int[], Tensor> loadImages,
        string path, int batchSize, Device device, IProgress<int>? progress = null)
    {
        string dataPath = path + ".bin", headerPath = path + ".json", tmp = dataPath + ".tmp";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        bool wasTraining = backbone.training;
        backbone.eval();
        GridCacheHeader? header = null;
        try
        {
            using var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            for (int start = 0; start < ids.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                int[] rows = Enumerable.Range(start, Math.Min(batchSize, ids.Count - start)).ToArray();
                var grid = backbone.forward(loadImages(rows).to(device));
                header ??= new GridCacheHeader(backbone.Kind, grid.shape[1], grid.shape[2], grid.shape[3], ids.ToArray());
                var half = grid.to(float16).cpu().contiguous();
                stream.Write(half.bytes);
                progress?.Report(start + rows.Length);
            }
        }
        finally { backbone.train(wasTraining); }
        header ??= new GridCacheHeader(backbone.Kind, backbone.Channels, 0, 0, []);
        File.Move(tmp, dataPath, overwrite: true);
        AtomicFile.WriteAllText(headerPath, JsonSerializer.Serialize(header));
        return new GridFeatureCache(dataPath, header);
    }

    /// <summary>Opens a cache written by <see cref="Build"/>; <paramref name="expectedBackbone"/> guards against mixing backbones.</summary>
    public static GridFeatureCache Open(string path, string? expectedBackbone = null)
    {
        string headerPath = path + ".json", dataPath = path + ".bin";
        if (!File.Exists(headerPath) || !File.Exists(dataPath))
            throw new WeightFileException($"No feature cache at '{path}' (.json and .bin expected). Build it first (GridFeatureCache.Build / pcme train with a cache folder).");
        GridCacheHeader header;
        try { header = JsonSerializer.Deserialize<GridCacheHeader>(File.ReadAllText(headerPath)) ?? throw new JsonException("empty header"); }
        catch (JsonException e) { throw new WeightFileException($"Feature cache header '{headerPath}' is malformed ({e.Message}). Delete the cache and rebuild it.", e); }
        if (expectedBackbone is not null && header.Backbone != expectedBackbone)
            throw new WeightFileException($"Feature cache '{path}' was built with {header.Backbone}, not {expectedBackbone}. Use a cache folder per backbone or rebuild it.");
        return new GridFeatureCache(dataPath, header);
    }

    /// <summary>Grids for cache rows <paramref name="rows"/>, float32 [B, C, h, w] on <paramref name="device"/>.</summary>
    public Tensor Read(IReadOnlyList<int> rows, Device? device = null)
    {
        long rowBytes = Header.RowBytes;
        var buffer = new byte[rowBytes * rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            if ((uint)rows[i] >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(rows), $"Row {rows[i]} is outside the cache's {Count} images.");
            int read = RandomAccess.Read(handle, buffer.AsSpan((int)(i * rowBytes), (int)rowBytes), rows[i] * rowBytes);
            if (read != rowBytes) throw new WeightFileException($"Feature cache '{DataPath}' ended early at row {rows[i]}. Delete it and rebuild.");
        }
        var half = empty([rows.Count, Header.Channels, Header.Height, Header.Width], float16);
        half.bytes = buffer;
        return half.to(float32, device ?? CPU);
    }

    /// <summary>Grids for image ids.</summary>
    public Tensor ReadIds(IReadOnlyList<string> ids, Device? device = null) =>
        Read(ids.Select(id => rowOfId.TryGetValue(id, out var r) ? r
            : throw new KeyNotFoundException($"Image '{id}' is not in feature cache '{DataPath}'. Rebuild the cache for this data set.")).ToArray(), device);

    /// <inheritdoc />
    public void Dispose() => handle.Dispose();
}
