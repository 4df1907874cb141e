using Pcme.Data;
using Pcme.Probabilistic;
using Pcme.Retrieval;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Retrieval;

public class GaussianIndexTests
{
    static GaussianEmbedding Random(long n, long d, Generator g) =>
        new(randn([n, d], generator: g), randn([n, d], generator: g).mul(0.7).sub(1.5));

    static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pcme-index-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The brute-force top k (float64 scores, ties by row) of every query.</summary>
    static (long Row, double Score)[][] ExactTop(string scorer, GaussianEmbedding q, GaussianEmbedding gal, int k)
    {
        var s = D2(RetrievalEngine.ScoreMatrix(Scorer.Create(scorer), q.To(CPU, float64), gal.To(CPU, float64)));
        return s.Select(row => row.Select((v, j) => (Row: (long)j, Score: v)).OrderByDescending(x => x.Score).ThenBy(x => x.Row).Take(k).ToArray()).ToArray();
    }

    public static TheoryData<string> Searchable => new(SearchAugmentation.Names);

    [Theory]
    [MemberData(nameof(Searchable))]
    public void With_a_search_width_covering_a_small_gallery_the_index_returns_the_exact_top_k(string scorer)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var gal = Random(300, 16, g); var q = Random(20, 16, g);
        using var index = GaussianIndex.Build(gal, scorer, options: new GaussianIndexOptions(ExpansionSearch: 300, Threads: 1));
        var hits = index.Search(q, 10);
        var exact = ExactTop(scorer, q, gal, 10);
        for (int i = 0; i < hits.Length; i++)
        {
            Assert.Equal(10, hits[i].Length);
            // Exact scores (float32 scorer vs float64 reference) in the exact order.
            for (int r = 0; r < 10; r++) Close(exact[i][r].Score, hits[i][r].Score, rel: 1e-4, abs: 1e-4);
            Assert.Equal(exact[i].Select(x => x.Row), hits[i].Select(h => h.Index));
            Assert.All(hits[i], h => Assert.Equal(h.Index.ToString(), h.Id));
        }
    }

    [Theory]
    [InlineData(IndexQuantization.F16, 0.97)]
    [InlineData(IndexQuantization.I8, 0.8)]
    public void Quantized_storage_keeps_high_recall_and_exact_scores(IndexQuantization quantization, double minRecall)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var gal = Random(1000, 32, g); var q = Random(50, 32, g);
        foreach (var scorer in new[] { "csd", "kl" })
        {
            using var index = GaussianIndex.Build(gal, scorer, options: new GaussianIndexOptions(quantization, ExpansionSearch: 200, Threads: 2));
            var hits = index.Search(q, 10, candidates: 40);
            var exact = ExactTop(scorer, q, gal, 10);
            double recall = hits.Select((h, i) => h.Select(x => x.Index).Intersect(exact[i].Select(x => x.Row)).Count() / 10.0).Average();
            Assert.True(recall >= minRecall, $"{scorer} {quantization}: recall@10 {recall}");
            // Whatever the storage, the reported scores are the scorer's own.
            var full = D2(RetrievalEngine.ScoreMatrix(Scorer.Create(scorer), q, gal));
            for (int i = 0; i < hits.Length; i++)
                foreach (var h in hits[i]) Close(full[i][h.Index], h.Score, rel: 1e-5, abs: 1e-5);
        }
    }

    [Fact]
    public void Save_load_and_view_give_the_same_hits_and_the_sidecar_records_the_build()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var gal = Random(500, 8, g); var q = Random(15, 8, g);
        var ids = Enumerable.Range(0, 500).Select(i => $"img-{i:D4}").ToArray();
        var dir = TempDir();
        try
        {
            using var built = GaussianIndex.Build(gal, "wasserstein", ids, new GaussianIndexOptions(IndexQuantization.F16, ExpansionSearch: 32, Threads: 2), side: "images", checkpointHash: "abc123");
            var before = built.Search(q, 7);
            built.Save(dir);
            Assert.True(new FileInfo(Path.Combine(dir, "index.usearch")).Length == built.SerializedBytes);
            foreach (var view in new[] { false, true })
            {
                using var loaded = GaussianIndex.Load(dir, new IndexExpectation("wasserstein", 8, "abc123", "images"), view);
                Assert.Equal(("wasserstein", "images", "abc123", 500L, 8L, IndexQuantization.F16), (loaded.ScorerName, loaded.Side, loaded.CheckpointHashValue, loaded.Count, loaded.Dimension, loaded.Options.Quantization));
                Assert.Equal(ids, loaded.Ids);
                Assert.Equal(32, loaded.ExpansionSearch);
                var after = loaded.Search(q, 7);
                for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
            }
            var sidecar = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "index.json")))!;
            Assert.Equal(GaussianIndex.KitVersion, (string)sidecar["kit_version"]!);
            Assert.Equal("f16", (string)sidecar["quantization"]!);
            Assert.Equal(16, sidecar["gallery_scale"]!.AsArray().Count);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Another_checkpoint_dimension_scorer_or_side_is_refused_with_one_line()
    {
        using var scope = NewDisposeScope();
        var dir = TempDir();
        try
        {
            using (var built = GaussianIndex.Build(Random(30, 6, new Generator(6)), "csd", side: "captions", checkpointHash: "0123456789abcdef"))
                built.Save(dir);
            foreach (var (expect, needle) in new[]
            {
                (new IndexExpectation(CheckpointHash: "fedcba9876543210"), "was built from checkpoint 0123456789ab, not fedcba987654"),
                (new IndexExpectation(Dimension: 7), "D=6 embeddings but the queries have D=7"),
                (new IndexExpectation(Scorer: "kl"), "built for scorer 'csd', not 'kl'"),
                (new IndexExpectation(Side: "images"), "holds captions, not images"),
            })
            {
                var e = Assert.Throws<DataException>(() => GaussianIndex.Load(dir, expect));
                Assert.Contains(needle, e.Message);
                Assert.DoesNotContain('\n', e.Message);
            }
            // Files from different builds (another gallery's graph under this sidecar).
            using (var other = GaussianIndex.Build(Random(31, 6, new Generator(7)), "csd")) other.Save(Path.Combine(dir, "other"));
            File.Copy(Path.Combine(dir, "other", "index.usearch"), Path.Combine(dir, "index.usearch"), overwrite: true);
            Assert.Contains("from different builds", Assert.Throws<DataException>(() => GaussianIndex.Load(dir)).Message);
            File.Delete(Path.Combine(dir, "index.json"));
            Assert.Contains("has no index.json", Assert.Throws<DataException>(() => GaussianIndex.Load(dir)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void An_empty_gallery_gives_empty_hits_and_survives_a_round_trip()
    {
        using var scope = NewDisposeScope();
        var dir = TempDir();
        try
        {
            var empty = new GaussianEmbedding(zeros(0, 5), zeros(0, 5));
            using var index = GaussianIndex.Build(empty, "kl");
            var q = Random(3, 5, new Generator(8));
            Assert.All(index.Search(q, 4), h => Assert.Empty(h));
            index.Save(dir);
            using var loaded = GaussianIndex.Load(dir);
            Assert.Equal(0, loaded.Count);
            Assert.All(loaded.Search(q, 4, rerank: Scorer.Create("elk"), candidates: 10), h => Assert.Empty(h));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void K_larger_than_the_gallery_returns_every_item_in_exact_order()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9);
        var gal = Random(6, 4, g); var q = Random(4, 4, g);
        using var index = GaussianIndex.Build(gal, "reverse-kl");
        var hits = index.Search(q, 50);
        var exact = ExactTop("reverse-kl", q, gal, 6);
        for (int i = 0; i < 4; i++) Assert.Equal(exact[i].Select(x => x.Row), hits[i].Select(h => h.Index));
    }

    [Theory]
    [InlineData("elk")]
    [InlineData("bhattacharyya")]
    [InlineData("kl")]
    public void Re_ranking_equals_the_exact_scorer_on_the_candidate_set(string rerank)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(10);
        var gal = Random(400, 12, g); var q = Random(70, 12, g);     // more than one re-ranking block of queries
        using var index = GaussianIndex.Build(gal, "csd", options: new GaussianIndexOptions(ExpansionSearch: 64, Threads: 2));
        var candidates = index.Candidates(q, 25);
        var hits = index.Search(q, 5, Scorer.Create(rerank), candidates: 25);
        var full = D2(RetrievalEngine.ScoreMatrix(Scorer.Create(rerank), q, gal));
        // Sigma is the item's geometric-mean sigma.
        var sigma = D1(gal.Uncertainty());
        for (int i = 0; i < q.Count; i++)
        {
            var expected = candidates[i].OrderByDescending(r => full[i][r]).ThenBy(r => r).Take(5).ToArray();
            Assert.Equal(expected, hits[i].Select(h => h.Index));
            foreach (var h in hits[i]) { Close(full[i][h.Index], h.Score, rel: 1e-5, abs: 1e-5); Close(sigma[h.Index], h.Sigma, rel: 1e-6); }
        }
    }

    [Fact]
    public void Monte_carlo_re_ranking_repeats_with_the_same_seed_and_is_sorted()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        var gal = Random(200, 8, g); var q = Random(10, 8, g);
        using var index = GaussianIndex.Build(gal, "csd");
        var mc = Scorer.Create("mc", samples: 7, negativeScale: 5, shift: 5);
        var a = index.Search(q, 5, mc, candidates: 30, generator: new Generator(1));
        var b = index.Search(q, 5, mc, candidates: 30, generator: new Generator(1));
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i], b[i]);
            Assert.True(a[i].Zip(a[i].Skip(1), (x, y) => x.Score >= y.Score).All(t => t));
            Assert.All(a[i], h => Assert.True(h.Score <= 0 && double.IsFinite(h.Score)));   // log p(match)
        }
    }

    [Fact]
    public void The_checkpoint_hash_follows_the_weights()
    {
        var dir = TempDir();
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), [1, 2, 3]);
            File.WriteAllBytes(Path.Combine(dir, "criterion.safetensors"), [4]);
            var h1 = GaussianIndex.CheckpointHash(dir);
            Assert.Equal(64, h1.Length);
            Assert.Equal(h1, GaussianIndex.CheckpointHash(dir));
            File.WriteAllBytes(Path.Combine(dir, "criterion.safetensors"), [5]);
            Assert.NotEqual(h1, GaussianIndex.CheckpointHash(dir));
            File.Delete(Path.Combine(dir, "model.safetensors"));
            Assert.Contains("has no model.safetensors", Assert.Throws<DataException>(() => GaussianIndex.CheckpointHash(dir)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
