using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pcme.Data;
using Pcme.Probabilistic;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>How a <see cref="GaussianIndex"/> is built and searched.</summary>
/// <param name="Quantization">Storage of the search vectors (f32, f16, i8).</param>
/// <param name="Connectivity">HNSW edges per node (M).</param>
/// <param name="ExpansionAdd">Candidate list while inserting (efConstruction).</param>
/// <param name="ExpansionSearch">Candidate list while searching (ef), the search width; at least the number of candidates asked for.</param>
/// <param name="Threads">Threads for building and searching; 0 = every core.</param>
public sealed record GaussianIndexOptions(IndexQuantization Quantization = IndexQuantization.F32, int Connectivity = 16, int ExpansionAdd = 128,
    int ExpansionSearch = 64, int Threads = 0);

/// <summary>One search result: the gallery row, its id, the exact score (higher = better) and the item's sigma (geometric mean).</summary>
public sealed record IndexHit(long Index, string Id, double Score, double Sigma);

/// <summary>What a caller expects of an index it loads (null = not checked); any mismatch is a <see cref="DataException"/>.</summary>
/// <param name="Scorer">The scorer it was built for.</param>
/// <param name="Dimension">The embedding dimension D of the queries.</param>
/// <param name="CheckpointHash">The <see cref="GaussianIndex.CheckpointHash(string)"/> of the model that will encode queries.</param>
/// <param name="Side">images or captions.</param>
public sealed record IndexExpectation(string? Scorer = null, long? Dimension = null, string? CheckpointHash = null, string? Side = null);

/// <summary>
/// Approximate nearest-neighbour search over Gaussian embeddings for the separable scorers, served by USearch's
/// HNSW graph over each scorer's exact search vectors (<see cref="SearchAugmentation"/>), with the candidates
/// re-scored exactly — by the index's scorer or by any other (mc, elk, bhattacharyya...), so "ANN + exact ELK" is one call.
/// Saved as a folder: <c>index.usearch</c> (the graph and vectors), <c>gallery.safetensors</c> (mu, h of the gallery,
/// for exact scores, sigma and re-ranking) and <c>index.json</c> (scorer, side, D, ids, checkpoint hash, kit version), checked on load.
/// </summary>
public sealed unsafe class GaussianIndex : IDisposable
{
    /// <summary>Version of the on-disk layout (search vectors, scales, files); an index of another layout is refused.</summary>
    public const int LayoutVersion = 1;
    const string GraphFile = "index.usearch", GalleryFile = "gallery.safetensors", SidecarFile = "index.json";

    IntPtr handle;
    readonly Tensor scale;          // per search-vector column, float64
    readonly Scorer exact;
    int expansionSearch;
    readonly Lazy<float[]> sigmas;

    GaussianIndex(IntPtr handle, SearchAugmentation augmentation, GaussianEmbedding gallery, IReadOnlyList<string> ids, string side,
        string? checkpointHash, GaussianIndexOptions options, Tensor scale, IReadOnlyList<string>? labels)
    {
        this.handle = handle; Labels = labels; Augmentation = augmentation; Gallery = gallery; Ids = ids; Side = side; CheckpointHashValue = checkpointHash;
        Options = options; this.scale = scale; exact = augmentation.CreateScorer();
        ExpansionSearch = options.ExpansionSearch;
        sigmas = new(() => { using var u = gallery.Uncertainty(); return u.data<float>().ToArray(); });
        ConfigureThreads();
    }

    /// <summary>The search form (scorer, metric, width).</summary>
    public SearchAugmentation Augmentation { get; }
    /// <summary>The indexed scorer's name.</summary>
    public string ScorerName => Augmentation.ScorerName;
    /// <summary>The gallery's Gaussians (CPU, float32), row i = key i.</summary>
    public GaussianEmbedding Gallery { get; }
    /// <summary>Gallery item ids, row order.</summary>
    public IReadOnlyList<string> Ids { get; }
    /// <summary>images or captions.</summary>
    public string Side { get; }
    /// <summary>Optional text per item, row order (a caption's text, an image's file), kept for display.</summary>
    public IReadOnlyList<string>? Labels { get; }
    /// <summary>The checkpoint that embedded the gallery (<see cref="CheckpointHash(string)"/>), if known.</summary>
    public string? CheckpointHashValue { get; }
    /// <summary>Build options (quantization, graph parameters).</summary>
    public GaussianIndexOptions Options { get; }
    /// <summary>Gallery items.</summary>
    public long Count => Gallery.Count;
    /// <summary>Embedding dimension D.</summary>
    public long Dimension => Gallery.Dimension;
    /// <summary>Search-vector width.</summary>
    public int Width => Augmentation.Width(Dimension);

    /// <summary>The search width (HNSW ef); larger = better recall, slower.</summary>
    public int ExpansionSearch
    {
        get => expansionSearch;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), "The search width must be at least 1.");
            IntPtr err; UsearchNative.ChangeExpansionSearch(Handle, (nuint)value, &err); UsearchNative.Check(err, "change_expansion_search");
            expansionSearch = value;
        }
    }

    /// <summary>Bytes the native index holds in memory (graph and vectors).</summary>
    public long MemoryBytes { get { IntPtr err; var n = UsearchNative.MemoryUsage(Handle, &err); UsearchNative.Check(err, "memory_usage"); return (long)n; } }
    /// <summary>Bytes of <c>index.usearch</c> when saved.</summary>
    public long SerializedBytes { get { IntPtr err; var n = UsearchNative.SerializedLength(Handle, &err); UsearchNative.Check(err, "serialized_length"); return (long)n; } }

    IntPtr Handle => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(GaussianIndex));
    int Threads => Options.Threads > 0 ? Options.Threads : Environment.ProcessorCount;

    /// <summary>
    /// Builds the index of <paramref name="gallery"/> for <paramref name="scorer"/> (one of <see cref="SearchAugmentation.Names"/>).
    /// <paramref name="ids"/> default to the row numbers. Insertion runs on <see cref="GaussianIndexOptions.Threads"/> threads
    /// (the graph then depends on their interleaving; one thread gives the same graph every time).
    /// </summary>
    public static GaussianIndex Build(GaussianEmbedding gallery, string scorer, IReadOnlyList<string>? ids = null, GaussianIndexOptions? options = null,
        string side = "images", string? checkpointHash = null, IReadOnlyList<string>? labels = null)
    {
        options ??= new GaussianIndexOptions();
        if (labels is not null && labels.Count != gallery.Count) throw new ArgumentException($"{labels.Count} labels for {gallery.Count} gallery items.", nameof(labels));
        var augmentation = SearchAugmentation.For(scorer);
        if (gallery.Mean.dim() != 2 || gallery.Dimension < 1) throw new ArgumentException($"The gallery must be [N, D] with D >= 1 (got [{string.Join(", ", gallery.Mean.shape)}]).", nameof(gallery));
        ids ??= Enumerable.Range(0, (int)gallery.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (ids.Count != gallery.Count) throw new ArgumentException($"{ids.Count} ids for {gallery.Count} gallery items.", nameof(ids));
        var cpu = gallery.To(CPU, float32);
        int width = augmentation.Width(gallery.Dimension);
        Tensor scale;
        var h = Create(augmentation.Metric, options, width);
        try
        {
            IntPtr err;
            UsearchNative.Reserve(h, (nuint)Math.Max(1, gallery.Count), &err); UsearchNative.Check(err, "reserve");
            using (var scope = NewDisposeScope())
            {
                var (vectors, s) = augmentation.Gallery(cpu);
                scale = s.MoveToOuterDisposeScope();
                AddAll(h, vectors.to(float32).contiguous(), options.Threads > 0 ? options.Threads : Environment.ProcessorCount);
            }
        }
        catch { FreeHandle(h); throw; }
        return new GaussianIndex(h, augmentation, cpu, ids, side, checkpointHash, options, scale, labels);
    }

    static IntPtr Create(IndexMetric metric, GaussianIndexOptions options, int width)
    {
        if (options.Connectivity < 2) throw new ArgumentException($"Connectivity must be at least 2 (got {options.Connectivity}).", nameof(options));
        var init = new UsearchNative.InitOptions
        {
            MetricKind = (int)metric, Quantization = (int)options.Quantization, Dimensions = (nuint)width,
            Connectivity = (nuint)options.Connectivity, ExpansionAdd = (nuint)Math.Max(1, options.ExpansionAdd), ExpansionSearch = (nuint)Math.Max(1, options.ExpansionSearch),
        };
        IntPtr err;
        var h = UsearchNative.Init(&init, &err);
        UsearchNative.Check(err, "init");
        return h;
    }

    static void AddAll(IntPtr h, Tensor vectors, int threads)
    {
        long n = vectors.shape[0], w = vectors.shape[1];
        if (n == 0) return;
        var basePtr = (float*)CpuKernels.Address(vectors);
        string? failure = null;
        int chunk = (int)Math.Max(1, (n + threads * 8 - 1) / (threads * 8));
        Parallel.For(0, (int)((n + chunk - 1) / chunk), new ParallelOptions { MaxDegreeOfParallelism = threads }, c =>
        {
            long end = Math.Min(n, (long)(c + 1) * chunk);
            for (long i = (long)c * chunk; i < end; i++)
            {
                IntPtr err;
                UsearchNative.Add(h, (ulong)i, basePtr + i * w, (int)IndexQuantization.F32, &err);
                if (err != IntPtr.Zero) { failure ??= Marshal.PtrToStringUTF8(err); return; }
            }
        });
        if (failure is not null) throw new InvalidOperationException("USearch add: " + failure);
    }

    void ConfigureThreads()
    {
        IntPtr err;
        UsearchNative.ChangeThreadsSearch(Handle, (nuint)Threads, &err); UsearchNative.Check(err, "change_threads_search");
    }

    /// <summary>
    /// The engine's <paramref name="count"/> nearest gallery rows per query, nearest first (fewer when the gallery is
    /// smaller): the HNSW search alone, no re-scoring. Searches run in parallel over queries.
    /// </summary>
    public long[][] Candidates(GaussianEmbedding queries, int count)
    {
        if (queries.Dimension != Dimension) throw new ArgumentException($"Queries have D={queries.Dimension}; the index has D={Dimension}.", nameof(queries));
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "Ask for at least one candidate.");
        int q = (int)queries.Count;
        var result = new long[q][];
        if (Count == 0) { for (int i = 0; i < q; i++) result[i] = []; return result; }
        int c = (int)Math.Min(count, Count);
        if (expansionSearch < c) ExpansionSearch = c;   // HNSW returns at most ef results
        using var scope = NewDisposeScope();
        var vectors = Augmentation.Queries(queries, scale).to(float32).contiguous();
        var basePtr = (float*)CpuKernels.Address(vectors);
        int w = Width;
        var h = Handle;
        string? failure = null;
        Parallel.For(0, q, new ParallelOptions { MaxDegreeOfParallelism = Threads }, () => (new ulong[c], new float[c]), (i, _, buffers) =>
        {
            var (keys, distances) = buffers;
            IntPtr err; nuint found;
            fixed (ulong* k = keys) fixed (float* d = distances)
                found = UsearchNative.Search(h, basePtr + (long)i * w, (int)IndexQuantization.F32, (nuint)c, k, d, &err);
            if (err != IntPtr.Zero) failure ??= Marshal.PtrToStringUTF8(err);
            var rows = new long[(int)found];
            for (int j = 0; j < rows.Length; j++) rows[j] = (long)keys[j];
            result[i] = rows;
            return buffers;
        }, _ => { });
        if (failure is not null) throw new InvalidOperationException("USearch search: " + failure);
        return result;
    }

    /// <summary>
    /// The top <paramref name="k"/> gallery items per query, best first, with exact scores: the engine proposes
    /// max(k, <paramref name="candidates"/>) items and they are re-scored with <paramref name="rerank"/> (any scorer;
    /// default the index's own, whose exact scores then only reorder rounding-level near-ties of the engine's).
    /// <paramref name="generator"/> draws the samples of sampling scorers (mc): query blocks' samples first, then their candidates'.
    /// </summary>
    public IndexHit[][] Search(GaussianEmbedding queries, int k, Scorer? rerank = null, int candidates = 0, Generator? generator = null)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), "k must be at least 1.");
        var cand = Candidates(queries, Math.Max(k, candidates));
        return Rerank(queries, cand, k, rerank ?? exact, generator);
    }

    /// <summary>
    /// Re-scores each query's candidate rows exactly with <paramref name="scorer"/> and keeps the best <paramref name="k"/>
    /// (ties by row). Query blocks are scored against the union of their candidates (one blocked scoring call, so
    /// non-separable and sampling scorers run as fast as in evaluation); each query keeps only its own candidates.
    /// </summary>
    public IndexHit[][] Rerank(GaussianEmbedding queries, IReadOnlyList<long[]> candidates, int k, Scorer scorer, Generator? generator = null)
    {
        if (candidates.Count != queries.Count) throw new ArgumentException($"{candidates.Count} candidate lists for {queries.Count} queries.", nameof(candidates));
        var result = new IndexHit[candidates.Count][];
        var sigma = sigmas.Value;
        const int block = 64;
        var q32 = queries.To(CPU, float32);
        for (int s = 0; s < candidates.Count; s += block)
        {
            using var scope = NewDisposeScope();
            int len = Math.Min(block, candidates.Count - s);
            var union = candidates.Skip(s).Take(len).SelectMany(c => c).Distinct().Order().ToArray();
            if (union.Length == 0) { for (int i = 0; i < len; i++) result[s + i] = []; continue; }
            var position = new Dictionary<long, int>(union.Length);
            for (int u = 0; u < union.Length; u++) position[union[u]] = u;
            var scores = RetrievalEngine.ScoreMatrix(scorer, q32.Slice(s, len), Gallery.Select(tensor(union)), null, generator);
            var data = scores.to(float64).data<double>().ToArray();
            for (int i = 0; i < len; i++)
            {
                var rows = candidates[s + i];
                result[s + i] = rows.Select(r => (Row: r, Score: data[(long)i * union.Length + position[r]]))
                    .OrderByDescending(x => x.Score).ThenBy(x => x.Row).Take(k)
                    .Select(x => new IndexHit(x.Row, Ids[(int)x.Row], x.Score, sigma[x.Row])).ToArray();
            }
        }
        return result;
    }

    /// <summary>Writes <c>index.usearch</c>, <c>gallery.safetensors</c> and <c>index.json</c> into <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        IntPtr err;
        var path = UsearchNative.Utf8(Path.Combine(directory, GraphFile));
        fixed (byte* p = path) UsearchNative.Save(Handle, p, &err);
        UsearchNative.Check(err, "save");
        Safetensors.SaveStateDict(Path.Combine(directory, GalleryFile), new Dictionary<string, Tensor> { ["mu"] = Gallery.Mean, ["h"] = Gallery.LogVariance });
        var sidecar = new JsonObject
        {
            ["format"] = "pcme-index", ["layout_version"] = LayoutVersion, ["kit_version"] = KitVersion, ["usearch_version"] = UsearchNative.PackageVersion,
            ["scorer"] = ScorerName, ["side"] = Side, ["dim"] = Dimension, ["width"] = Width, ["metric"] = Augmentation.Metric.ToString(),
            ["quantization"] = Options.Quantization.ToString().ToLowerInvariant(), ["count"] = Count,
            ["connectivity"] = Options.Connectivity, ["expansion_add"] = Options.ExpansionAdd, ["expansion_search"] = ExpansionSearch,
            ["checkpoint_sha256"] = CheckpointHashValue,
            ["gallery_scale"] = new JsonArray(scale.data<double>().ToArray().Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            ["ids"] = new JsonArray(Ids.Select(i => (JsonNode)JsonValue.Create(i)!).ToArray()),
            ["labels"] = Labels is null ? null : new JsonArray(Labels.Select(i => (JsonNode)JsonValue.Create(i)!).ToArray()),
        };
        File.WriteAllText(Path.Combine(directory, SidecarFile), sidecar.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
    }

    /// <summary>
    /// Opens an index folder written by <see cref="Save"/>: loads the graph into memory, or with <paramref name="view"/>
    /// memory-maps it (nothing is copied; pages load on demand). The sidecar is checked against the files and against
    /// <paramref name="expect"/>; any mismatch is a <see cref="DataException"/> naming the file and the fix.
    /// </summary>
    public static GaussianIndex Load(string directory, IndexExpectation? expect = null, bool view = false, int threads = 0)
    {
        string sidecarPath = Path.Combine(directory, SidecarFile), graphPath = Path.Combine(directory, GraphFile), galleryPath = Path.Combine(directory, GalleryFile);
        foreach (var f in new[] { sidecarPath, graphPath, galleryPath })
            if (!File.Exists(f)) throw new DataException($"Index folder '{directory}' has no {Path.GetFileName(f)}; build it with `pcme index build`.");
        JsonObject s;
        try { s = JsonNode.Parse(File.ReadAllText(sidecarPath))?.AsObject() ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new DataException($"{sidecarPath} is not valid JSON ({e.Message}); rebuild the index with `pcme index build`."); }
        T Field<T>(string key) => s[key] is { } n ? n.GetValue<T>() : throw new DataException($"{sidecarPath} has no '{key}'; rebuild the index with `pcme index build`.");
        if (s["format"]?.GetValue<string>() != "pcme-index") throw new DataException($"{sidecarPath} is not a pcme index sidecar (format '{s["format"]}').");
        int layout = Field<int>("layout_version");
        if (layout != LayoutVersion)
            throw new DataException($"{sidecarPath} has index layout {layout} (kit {s["kit_version"]}); this kit ({KitVersion}) reads layout {LayoutVersion}: rebuild it with `pcme index build`.");
        string scorer = Field<string>("scorer"), side = Field<string>("side");
        long dim = Field<long>("dim"), count = Field<long>("count");
        string? checkpoint = s["checkpoint_sha256"]?.GetValue<string>();
        if (expect?.Scorer is { } es && es != scorer)
            throw new DataException($"Index '{directory}' was built for scorer '{scorer}', not '{es}': rebuild it with --scorer {es}, or search it as a {scorer} index.");
        if (expect?.Side is { } esd && esd != side) throw new DataException($"Index '{directory}' holds {side}, not {esd}.");
        if (expect?.Dimension is { } ed && ed != dim)
            throw new DataException($"Index '{directory}' holds D={dim} embeddings but the queries have D={ed}: it was built from another model; rebuild it from this checkpoint's `pcme embed` output.");
        if (expect?.CheckpointHash is { } ec && ec != checkpoint)
            throw new DataException($"Index '{directory}' was built from checkpoint {Short(checkpoint)}, not {Short(ec)}: its embeddings are another model's; rebuild it from this checkpoint's `pcme embed` output.");
        var augmentation = SearchAugmentation.For(scorer);
        var quantization = Field<string>("quantization") switch
        {
            "f32" => IndexQuantization.F32, "f16" => IndexQuantization.F16, "i8" => IndexQuantization.I8,
            var q => throw new DataException($"{sidecarPath}: unknown quantization '{q}'."),
        };
        var ids = s["ids"]?.AsArray().Select(n => n!.GetValue<string>()).ToArray() ?? throw new DataException($"{sidecarPath} has no 'ids'.");
        var scaleValues = s["gallery_scale"]?.AsArray().Select(n => n!.GetValue<double>()).ToArray() ?? throw new DataException($"{sidecarPath} has no 'gallery_scale'.");
        var labels = s["labels"]?.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        if (ids.Length != count || labels is not null && labels.Length != count || scaleValues.Length != augmentation.Width(dim))
            throw new DataException($"{sidecarPath} is inconsistent ({ids.Length} ids for {count} items, {scaleValues.Length} scales for width {augmentation.Width(dim)}); rebuild the index.");
        Dictionary<string, Tensor> tensors;
        try { tensors = Safetensors.LoadStateDict(galleryPath); }
        catch (Exception e) when (e is not OutOfMemoryException) { throw new DataException($"{galleryPath} cannot be read ({e.Message}); rebuild the index.", e); }
        if (!tensors.TryGetValue("mu", out var mu) || !tensors.TryGetValue("h", out var h) || mu.dim() != 2 || mu.shape[0] != count || mu.shape[1] != dim || !h.shape.SequenceEqual(mu.shape))
            throw new DataException($"{galleryPath} does not hold mu and h of {count} x {dim} as {sidecarPath} says; rebuild the index.");
        var options = new GaussianIndexOptions(quantization, Field<int>("connectivity"), Field<int>("expansion_add"), Field<int>("expansion_search"), threads);
        var handle = Create(augmentation.Metric, options, augmentation.Width(dim));
        try
        {
            IntPtr err;
            var path = UsearchNative.Utf8(graphPath);
            fixed (byte* p = path) { if (view) UsearchNative.View(handle, p, &err); else UsearchNative.Load(handle, p, &err); }
            if (err != IntPtr.Zero) throw new DataException($"{graphPath} cannot be {(view ? "viewed" : "loaded")} ({Marshal.PtrToStringUTF8(err)}); rebuild the index.");
            long size = (long)UsearchNative.Size(handle, &err), width = (long)UsearchNative.Dimensions(handle, &err);
            if (size != count || width != augmentation.Width(dim))
                throw new DataException($"{graphPath} holds {size} vectors of width {width}, but {sidecarPath} says {count} of width {augmentation.Width(dim)}; the files are from different builds: rebuild the index.");
        }
        catch { FreeHandle(handle); throw; }
        return new GaussianIndex(handle, augmentation, new GaussianEmbedding(mu.to(float32), h.to(float32)), ids, side, checkpoint, options, tensor(scaleValues, float64), labels);
    }

    static string Short(string? hash) => hash is null ? "(unknown)" : hash[..Math.Min(12, hash.Length)];

    /// <summary>
    /// A checkpoint folder's identity: SHA-256 over its model and criterion weights (model.safetensors, criterion.safetensors),
    /// the files that determine every embedding and (a, b); hex, lower case.
    /// </summary>
    public static string CheckpointHash(string checkpointDirectory)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in new[] { "model.safetensors", "criterion.safetensors" })
        {
            var path = Path.Combine(checkpointDirectory, name);
            if (!File.Exists(path)) throw new DataException($"Checkpoint '{checkpointDirectory}' has no {name}; pass a folder written by pcme train (RUN/checkpoints/best).");
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var f = File.OpenRead(path);
            var buffer = new byte[1 << 20];
            int read;
            while ((read = f.Read(buffer, 0, buffer.Length)) > 0) sha.AppendData(buffer, 0, read);
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>The kit's version (informational version of the Pcme assembly).</summary>
    public static string KitVersion { get; } =
        typeof(GaussianIndex).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(GaussianIndex).Assembly.GetName().Version?.ToString() ?? "unknown";

    static void FreeHandle(IntPtr h)
    {
        IntPtr err;
        UsearchNative.Free(h, &err);
    }

    /// <summary>Frees the native index.</summary>
    public void Dispose()
    {
        if (handle == IntPtr.Zero) return;
        FreeHandle(handle);
        handle = IntPtr.Zero;
        scale.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native index if <see cref="Dispose"/> was not called.</summary>
    ~GaussianIndex() { if (handle != IntPtr.Zero) FreeHandle(handle); }
}
