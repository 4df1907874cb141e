using System.Diagnostics;
using System.Text.Json.Nodes;
using Pcme.Probabilistic;
using Pcme.Retrieval;
using static TorchSharp.torch;

namespace Pcme.Cli.Bench;

/// <summary>
/// <c>pcme bench index</c>: <see cref="GaussianIndex"/> (USearch HNSW over each scorer's exact search vectors) against
/// the exact blocked scorer (<see cref="RetrievalEngine.TopK"/>) on the same gallery, in the same run: build time, index
/// bytes, queries/s and recall@10 (of the engine's top 10 against the exact top 10) at several search widths, and the
/// exact scorer's queries/s, at growing gallery sizes. Galleries are shaped like trained embeddings: unit-norm means
/// around ~1,000 cluster centres in a low-dimensional subspace of D plus noise, variances spread over two orders of
/// magnitude; isotropic random Gaussians (the worst case for any graph index) are reported apart.
/// </summary>
public static class IndexScenario
{
    /// <summary>One gallery size and the scorers indexed at it.</summary>
    public sealed record Gallery(int Items, string[] Scorers);

    /// <summary>Problem size.</summary>
    /// <param name="Dim">D.</param>
    /// <param name="Subspace">Dimension of the subspace the cluster centres span.</param>
    /// <param name="Clusters">Cluster centres.</param>
    /// <param name="Queries">Queries (drawn like the gallery, from the same clusters).</param>
    /// <param name="Galleries">Clustered galleries, growing.</param>
    /// <param name="Widths">Search widths (HNSW ef).</param>
    /// <param name="Quantized">Gallery size and scorer at which f16 and i8 storage are measured too.</param>
    /// <param name="Isotropic">The isotropic gallery.</param>
    public sealed record Size(int Dim, int Subspace, int Clusters, int Queries, Gallery[] Galleries, int[] Widths, Gallery Quantized, Gallery Isotropic)
    {
        static readonly string[] Every = [.. SearchAugmentation.Names];

        /// <summary>
        /// D = 256, 1,000 queries; every scorer at 10,000 items, CSD at 100,000 and 500,000 (the largest that builds in
        /// about 4 minutes on a quiet 2-core machine).
        /// </summary>
        public static Size Full => new(256, 32, 1000, 1000,
            [new(10_000, Every), new(100_000, ["csd"]), new(500_000, ["csd"])],
            [16, 32, 64, 128, 256], new(40_000, ["csd"]), new(40_000, ["csd"]));
        /// <summary>Harness check.</summary>
        public static Size Tiny => new(16, 4, 20, 30, [new(300, Every), new(600, ["csd"]), new(1000, ["csd", "kl"])],
            [8, 32], new(300, ["csd"]), new(300, ["csd"]));
    }

    /// <summary>Runs the scenario and returns its JSON record.</summary>
    public static JsonObject Run(Size size, int seed = 0)
    {
        var rng = new Generator((ulong)seed);
        var basis = linalg.qr(randn([size.Dim, size.Subspace], generator: rng)).Q.t();       // [S, D], orthonormal rows
        var centres = randn([size.Clusters, size.Subspace], generator: rng);
        GaussianEmbedding Clustered(int n, Generator g)
        {
            using var scope = NewDisposeScope();
            var which = randint(0, size.Clusters, [n], generator: g);
            var inSubspace = centres.index_select(0, which).add_(randn([n, size.Subspace], generator: g).mul_(0.35));
            var mu = nn.functional.normalize(inSubspace.matmul(basis).add_(randn([n, size.Dim], generator: g).mul_(0.15 / Math.Sqrt(size.Dim) * Math.Sqrt(size.Subspace))), dim: 1);
            return new GaussianEmbedding(mu.MoveToOuterDisposeScope(), LogVariances(mu, g).MoveToOuterDisposeScope());
        }
        GaussianEmbedding Isotropic(int n, Generator g)
        {
            using var scope = NewDisposeScope();
            var mu = nn.functional.normalize(randn([n, size.Dim], generator: g), dim: 1);
            return new GaussianEmbedding(mu.MoveToOuterDisposeScope(), LogVariances(mu, g).MoveToOuterDisposeScope());
        }
        // sigma^2 spread over two orders of magnitude between items (h from -7 to -7 + ln 100), jittered per dimension.
        static Tensor LogVariances(Tensor mu, Generator g) =>
            rand([mu.shape[0], 1], generator: g).mul_(Math.Log(100)).sub_(7).add(randn(mu.shape, generator: g).mul_(0.3));

        var queries = Clustered(size.Queries, new Generator((ulong)seed + 1));
        var clustered = new JsonArray();
        foreach (var gallery in size.Galleries)
        {
            using var scope = NewDisposeScope();
            var items = Clustered(gallery.Items, new Generator((ulong)seed + 2));
            clustered.Add(Measure(items, queries, gallery, size.Widths, [IndexQuantization.F32]));
        }
        JsonObject quantized, isotropic;
        using (var scope = NewDisposeScope())
            quantized = Measure(Clustered(size.Quantized.Items, new Generator((ulong)seed + 2)), queries, size.Quantized, size.Widths, [IndexQuantization.F16, IndexQuantization.I8]);
        using (var scope = NewDisposeScope())
            isotropic = Measure(Isotropic(size.Isotropic.Items, new Generator((ulong)seed + 3)), Isotropic(size.Queries, new Generator((ulong)seed + 4)), size.Isotropic, size.Widths, [IndexQuantization.F32]);

        var record = BenchHarness.Environment("index");
        record["shape"] = new JsonObject
        {
            ["D"] = size.Dim, ["subspace"] = size.Subspace, ["clusters"] = size.Clusters, ["queries"] = size.Queries, ["k"] = 10,
            ["index_threads"] = Environment.ProcessorCount, ["connectivity"] = new GaussianIndexOptions().Connectivity, ["expansion_add"] = new GaussianIndexOptions().ExpansionAdd,
        };
        record["clustered"] = clustered;
        record["quantized"] = quantized;
        record["isotropic"] = isotropic;
        return record;
    }

    /// <summary>One gallery: the exact scorer's top 10 and queries/s, then per scorer and storage an index and its search curve.</summary>
    static JsonObject Measure(GaussianEmbedding items, GaussianEmbedding queries, Gallery gallery, int[] widths, IndexQuantization[] storages)
    {
        var scorers = new JsonArray();
        foreach (var name in gallery.Scorers)
        {
            var scorer = Scorer.Create(name);
            // The exact blocked scorer: its top 10 is the ground truth, its time the baseline.
            var sw = Stopwatch.StartNew();
            var (_, exactTop) = RetrievalEngine.TopK(scorer, queries, items, 10);
            double exactSeconds = sw.Elapsed.TotalSeconds;
            var truth = TensorRows(exactTop);
            exactTop.Dispose();
            foreach (var storage in storages)
            {
                var build = Stopwatch.StartNew();
                using var index = GaussianIndex.Build(items, name, options: new GaussianIndexOptions(storage));
                double buildSeconds = build.Elapsed.TotalSeconds;
                Console.Error.WriteLine($"pcme bench index: {items.Count} items, {name} {storage}: built in {buildSeconds:F1} s (exact scorer {exactSeconds:F1} s for {queries.Count} queries)");
                var curve = new JsonArray();
                foreach (var width in widths)
                {
                    index.ExpansionSearch = width;
                    index.Candidates(queries.Slice(0, Math.Min(50, queries.Count)), 10);   // warm-up
                    var search = Stopwatch.StartNew();
                    var found = index.Candidates(queries, 10);
                    double seconds = search.Elapsed.TotalSeconds;
                    double qps = queries.Count / seconds;
                    curve.Add(new JsonObject
                    {
                        ["width"] = width, ["recall_at_10"] = Math.Round(Recall(found, truth), 4),
                        ["queries_per_s"] = Math.Round(qps, 1), ["x_exact"] = Math.Round(qps / (queries.Count / exactSeconds), 1),
                    });
                }
                // Search at width 64 with the exact re-scoring a user gets from Search (scores, ids, sigma).
                index.ExpansionSearch = 64;
                var full = Stopwatch.StartNew();
                _ = index.Search(queries, 10);
                double fullQps = queries.Count / full.Elapsed.TotalSeconds;
                scorers.Add(new JsonObject
                {
                    ["scorer"] = name, ["storage"] = storage.ToString().ToLowerInvariant(), ["width_of_vectors"] = index.Width,
                    ["build_s"] = Math.Round(buildSeconds, 2), ["index_bytes"] = index.SerializedBytes, ["memory_bytes"] = index.MemoryBytes,
                    ["bytes_per_item"] = items.Count == 0 ? 0 : Math.Round((double)index.SerializedBytes / items.Count, 1),
                    ["exact_queries_per_s"] = Math.Round(queries.Count / exactSeconds, 1),
                    ["search"] = curve,
                    ["search_rescored_w64_queries_per_s"] = Math.Round(fullQps, 1),
                });
            }
        }
        return new JsonObject { ["items"] = items.Count, ["scorers"] = scorers };
    }

    static long[][] TensorRows(Tensor indices)
    {
        var flat = indices.data<long>().ToArray();
        int k = (int)indices.shape[1];
        return Enumerable.Range(0, (int)indices.shape[0]).Select(i => flat.AsSpan(i * k, k).ToArray()).ToArray();
    }

    /// <summary>Mean over queries of |found ∩ exact| / |exact|.</summary>
    public static double Recall(IReadOnlyList<long[]> found, IReadOnlyList<long[]> exact) =>
        found.Select((f, i) => exact[i].Length == 0 ? 1.0 : f.Intersect(exact[i]).Count() / (double)exact[i].Length).Average();
}
