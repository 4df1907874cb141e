using Pcme.Probabilistic;
using Pcme.Retrieval;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Retrieval;

public class ScorersTests
{
    static GaussianEmbedding Random(long n, long d, Generator g, ScalarType dtype = ScalarType.Float64) =>
        new(randn([n, d], dtype: dtype, generator: g), randn([n, d], dtype: dtype, generator: g).mul(0.7).sub(1.5));

    /// <summary>Per-pair, per-dimension reference of each closed form (plain doubles).</summary>
    internal static double Naive(string name, double[] m1, double[] h1, double[] m2, double[] h2)
    {
        double s = 0, dot = 0, n1 = 0, n2 = 0;
        for (int d = 0; d < m1.Length; d++)
        {
            double v1 = Math.Exp(h1[d]), v2 = Math.Exp(h2[d]), diff = (m1[d] - m2[d]) * (m1[d] - m2[d]);
            s += name switch
            {
                "l2" => -diff,
                "csd" => -(diff + v1 + v2),
                "wasserstein" => -(diff + Math.Pow(Math.Sqrt(v1) - Math.Sqrt(v2), 2)),
                "kl" => -0.5 * (v1 / v2 + diff / v2 - 1 + Math.Log(v2) - Math.Log(v1)),
                "reverse-kl" => -0.5 * (v2 / v1 + diff / v1 - 1 + Math.Log(v1) - Math.Log(v2)),
                "js" => -((diff + v1) / v2 + (diff + v2) / v1),
                "elk" => -0.5 * (diff / (v1 + v2) + Math.Log(v1 + v2)),
                "bhattacharyya" => -(diff / (4 * (v1 + v2)) + 0.5 * Math.Log((v1 + v2) / 2) - 0.25 * (Math.Log(v1) + Math.Log(v2))),
                _ => 0,
            };
            dot += m1[d] * m2[d]; n1 += m1[d] * m1[d]; n2 += m2[d] * m2[d];
        }
        return name == "cosine" ? dot / Math.Sqrt(n1 * n2) : s;
    }

    [Theory]
    [InlineData("cosine")]
    [InlineData("l2")]
    [InlineData("csd")]
    [InlineData("wasserstein")]
    [InlineData("kl")]
    [InlineData("reverse-kl")]
    [InlineData("js")]
    [InlineData("elk")]
    [InlineData("bhattacharyya")]
    [InlineData("elk", true)]             // float32 on the CPU: the fused kernel
    [InlineData("bhattacharyya", true)]
    public void Closed_forms_equal_the_per_pair_per_dimension_formula(string name, bool float32 = false)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(1);
        var dtype = float32 ? ScalarType.Float32 : ScalarType.Float64;
        var q = Random(5, 19, g, dtype); var gal = Random(7, 19, g, dtype);
        var s = D2(RetrievalEngine.ScoreMatrix(Scorer.Create(name), q, gal, new RetrievalOptions(QueryBlock: 2)).to(float64));
        // ScoreMatrix returns float32: compare with a float32-level tolerance against the double reference.
        var qm = D2(q.Mean); var qh = D2(q.LogVariance); var gm = D2(gal.Mean); var gh = D2(gal.LogVariance);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 7; j++)
                Close(Naive(name, qm[i], qh[i], gm[j], gh[j]), s[i][j], rel: 2e-5, abs: 2e-5);
    }

    [Theory]
    [InlineData("elk", 1, 1)]
    [InlineData("kl", 3, 100)]
    [InlineData("mc", 2, 1)]
    [InlineData("js", 5, 64)]
    public void Scores_do_not_depend_on_block_sizes(string name, long queryBlock, long budgetKb)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(2);
        var q = Random(9, 8, g); var gal = Random(13, 8, g);
        var scorer = Scorer.Create(name, samples: 3, negativeScale: 3, shift: 1);
        var whole = RetrievalEngine.ScoreMatrix(scorer, q, gal, new RetrievalOptions(QueryBlock: 1000, MemoryBudgetBytes: 1L << 30), new Generator(5));
        var tiled = RetrievalEngine.ScoreMatrix(scorer, q, gal, new RetrievalOptions(queryBlock, budgetKb << 10), new Generator(5));
        AllClose(D1(whole), D1(tiled), rel: 1e-6, abs: 1e-6);
    }

    [Fact]
    public void Mc_score_is_the_log_of_the_naive_match_probability_from_the_same_samples()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var q = Random(3, 4, g); var gal = Random(4, 4, g);
        var scorer = new MonteCarloMatchScorer(5, 2.5, 1.5);
        var (qs, gs) = RetrievalEngine.Prepare(scorer, q, gal, new RetrievalOptions(), new Generator(9));
        var s = D2(scorer.Score(qs, gs));
        var zq = D3(qs.Samples!); var zg = D3(gs.Samples!);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                Close(-Tests.Naive.PairNll(zq[i], zg[j], 2.5, 1.5, true), s[i][j], rel: 1e-10);
    }

    [Fact]
    public void Matmul_equals_the_official_sum_over_all_sample_pair_dot_products()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var q = Random(3, 5, g); var gal = Random(2, 5, g);
        var scorer = new SampleMatmulScorer(4);
        var (qs, gs) = RetrievalEngine.Prepare(scorer, q, gal, new RetrievalOptions(), new Generator(1));
        var s = D2(scorer.Score(qs, gs));
        var zq = D3(qs.Samples!); var zg = D3(gs.Samples!);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++)
            {
                double sum = 0;
                foreach (var a in zq[i]) foreach (var b in zg[j]) for (int d = 0; d < 5; d++) sum += a[d] * b[d];
                Close(sum, s[i][j], rel: 1e-10);
            }
    }

    [Fact]
    public void Top_k_equals_sorting_the_full_matrix_with_ties_broken_by_gallery_index()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var q = Random(6, 4, g);
        // Gallery with duplicated items, so scores tie exactly.
        var baseG = Random(5, 4, g);
        var gal = GaussianEmbedding.Concat([baseG, baseG.Slice(1, 2), baseG.Slice(0, 1)]);
        foreach (var name in new[] { "cosine", "kl", "elk" })
        {
            var scorer = Scorer.Create(name);
            var full = RetrievalEngine.ScoreMatrix(scorer, q, gal);
            var ranks = RetrievalEngine.Rank(full);
            var (topS, topI) = RetrievalEngine.TopK(scorer, q, gal, 4, new RetrievalOptions(QueryBlock: 4, MemoryBudgetBytes: 64 * 16));
            Assert.Equal(D1(ranks.narrow(1, 0, 4)), D1(topI));
            AllClose(D1(full.gather(1, topI)), D1(topS));
            // Ties: duplicate gallery items 0 and 7 (and 1/5, 2/6) must appear in index order.
            var r = D2(ranks);
            foreach (var row in r)
            {
                var list = row.ToList();
                Assert.True(list.IndexOf(0) < list.IndexOf(7));
                Assert.True(list.IndexOf(1) < list.IndexOf(5));
            }
        }
    }

    [Fact]
    public void Prepared_item_features_are_used_only_by_the_scorer_and_side_that_made_them()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(6);
        var q = Random(4, 5, g); var gal = Random(6, 5, g);
        var kl = Scorer.Create("kl"); var reverse = Scorer.Create("reverse-kl");
        var (pq, pg) = RetrievalEngine.Prepare(kl, q, gal, new RetrievalOptions(), null);
        Assert.NotNull(pq.Features); Assert.NotNull(pg.Features);
        var (rawQ, rawG) = (ScoringSet.From(q), ScoringSet.From(gal));
        // Prepared == unprepared for the scorer that prepared them.
        AllClose(D1(kl.Score(rawQ, rawG)), D1(kl.Score(pq, pg)), rel: 1e-12, abs: 1e-12);
        // Another scorer (and the swapped roles) ignore them and compute their own.
        AllClose(D1(reverse.Score(rawQ, rawG)), D1(reverse.Score(pq, pg)), rel: 1e-12, abs: 1e-12);
        AllClose(D1(kl.Score(rawG, rawQ)), D1(kl.Score(pg, pq)), rel: 1e-12, abs: 1e-12);
        // reverse-kl(q, g) is kl(g, q) transposed.
        AllClose(D1(kl.Score(rawG, rawQ).t()), D1(reverse.Score(rawQ, rawG)), rel: 1e-10, abs: 1e-10);
    }

    [Fact]
    public void Is_symmetric_says_exactly_when_the_other_direction_is_the_transpose()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(7);
        var q = Random(4, 6, g); var gal = Random(5, 6, g);
        foreach (var name in Scorer.Names)
        {
            var scorer = Scorer.Create(name, samples: 3, negativeScale: 2, shift: 1);
            var (qs, gs) = RetrievalEngine.Prepare(scorer, q, gal, new RetrievalOptions(), new Generator(8));
            var forward = D1(scorer.Score(qs, gs));
            var backward = D1(scorer.Score(gs, qs).t().contiguous());   // same samples, roles swapped
            double maxDiff = forward.Zip(backward, (a, b) => Math.Abs(a - b)).Max();
            if (scorer.IsSymmetric) Assert.True(maxDiff < 1e-9, $"{name}: {maxDiff}");
            else Assert.True(maxDiff > 1e-3, $"{name} claims asymmetry but differs by {maxDiff}");
        }
    }

    [Fact]
    public void Unknown_scorer_names_list_the_choices()
    {
        var e = Assert.Throws<ArgumentException>(() => Scorer.Create("cosin"));
        Assert.Contains("cosin", e.Message);
        Assert.Contains("bhattacharyya", e.Message);
    }
}
