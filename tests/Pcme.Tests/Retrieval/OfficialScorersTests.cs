using Pcme.Evaluation;
using Pcme.Probabilistic;
using Pcme.Retrieval;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Retrieval;

/// <summary>
/// The official-* scorers against the official engine/eval_cub.py formulas written out here as plain double loops,
/// in the official code's own variables (log sigma, the kit's h / 2), and the difference from the true KL shown.
/// </summary>
public class OfficialScorersTests
{
    /// <summary>
    /// Means N(0, 1); log-variances spread over [-16, 8] (sigma^2 from 1e-7 to 3e3), so very narrow and very
    /// broad Gaussians meet in one gallery.
    /// </summary>
    static GaussianEmbedding Random(long n, long d, Generator g, ScalarType dtype = ScalarType.Float64) =>
        new(randn([n, d], dtype: dtype, generator: g), rand([n, d], dtype: dtype, generator: g).mul(24).sub(16));

    /// <summary>The official formulas; mu1/ls1 is the query, mu2/ls2 the gallery item (HybridDistanceModule.forward).</summary>
    internal static double NaiveOfficial(string name, double[] mu1, double[] h1, double[] mu2, double[] h2)
    {
        var ls1 = h1.Select(h => h / 2).ToArray(); var ls2 = h2.Select(h => h / 2).ToArray();   // log sigma, as the official code stores it
        return name switch
        {
            "official-kl" => KlDist(mu1, mu2, ls1, ls2),
            "official-reverse-kl" => KlDist(mu2, mu1, ls2, ls1),                               // reverse_kl_dist
            "official-min" => -Enumerable.Range(0, mu1.Length).Min(d => (mu1[d] - mu2[d]) * (mu1[d] - mu2[d])),
            "official-max" => -Enumerable.Range(0, mu1.Length).Max(d => (mu1[d] - mu2[d]) * (mu1[d] - mu2[d])),
            _ => throw new ArgumentException(name),
        };
    }

    // kl_dist: -sum[(mu1 - mu2)^2 / exp(2 ls2) + 2 (ls1 - ls2) + exp(2 ls1) / exp(2 ls2)].
    static double KlDist(double[] mu1, double[] mu2, double[] ls1, double[] ls2)
    {
        double sum = 0;
        for (int d = 0; d < mu1.Length; d++)
        {
            double var2 = Math.Exp(ls2[d] * 2);
            sum += (mu1[d] - mu2[d]) * (mu1[d] - mu2[d]) / var2 + 2 * (ls1[d] - ls2[d]) + Math.Exp(ls1[d] * 2) / var2;
        }
        return -sum;
    }

    public static TheoryData<string> OfficialNames => new("official-kl", "official-reverse-kl", "official-min", "official-max");

    [Theory]
    [MemberData(nameof(OfficialNames))]
    public void Each_official_scorer_equals_the_official_formula_in_double_precision(string name)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        var q = Random(6, 19, g); var gal = Random(9, 19, g);
        var scorer = Scorer.Create(name);
        Assert.Equal(name, scorer.Name);
        Assert.Contains(name, Scorer.Names);
        // Scored directly in float64 (the engine's matrix is float32), prepared the way the engine prepares.
        var s = D2(scorer.Score(scorer.PrepareQueries(ScoringSet.From(q)), scorer.PrepareGallery(ScoringSet.From(gal))));
        var qm = D2(q.Mean); var qh = D2(q.LogVariance); var gm = D2(gal.Mean); var gh = D2(gal.LogVariance);
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 9; j++)
                Close(NaiveOfficial(name, qm[i], qh[i], gm[j], gh[j]), s[i][j], rel: 1e-9, abs: 1e-9);
        // Through the engine, in tiles, as float32.
        var tiled = D2(RetrievalEngine.ScoreMatrix(scorer, q, gal, new RetrievalOptions(QueryBlock: 4, MemoryBudgetBytes: 2048)));
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 9; j++)
                Close(s[i][j], tiled[i][j], rel: 1e-6, abs: 1e-6);
    }

    [Theory]
    [MemberData(nameof(OfficialNames))]
    public void Float32_inputs_match_the_formula_at_float32_precision(string name)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(12);
        // D = 19 and 3: a vector tail and a dimension below the SIMD width (min/max take the fused kernel).
        foreach (var dim in new[] { 19L, 3L })
        {
            var q = Random(5, dim, g, ScalarType.Float32); var gal = Random(70, dim, g, ScalarType.Float32);
            var s = D2(RetrievalEngine.ScoreMatrix(Scorer.Create(name), q, gal, new RetrievalOptions(QueryBlock: 2)));
            var qm = D2(q.Mean); var qh = D2(q.LogVariance); var gm = D2(gal.Mean); var gh = D2(gal.LogVariance);
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 70; j++)
                {
                    // float32 GEMM over terms up to ~mu^2/v: relative to the largest term, not to the (possibly cancelled) sum.
                    double scale = name.Contains("kl") ? Enumerable.Range(0, (int)dim).Sum(d => (qm[i][d] * qm[i][d] + gm[j][d] * gm[j][d] + Math.Exp(qh[i][d]) + Math.Exp(gh[j][d])) *
                        Math.Max(Math.Exp(-gh[j][d]), Math.Exp(-qh[i][d])) + Math.Abs(qh[i][d]) + Math.Abs(gh[j][d])) : 1;
                    Close(NaiveOfficial(name, qm[i], qh[i], gm[j], gh[j]), s[i][j], rel: 1e-5, abs: 1e-6 * scale);
                }
        }
    }

    [Fact]
    public void Extreme_coordinate_kernel_equals_the_broadcast_form_and_skips_non_finite_means()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(13);
        var a = randn([37, 21], generator: g); var b = randn([130, 21], generator: g);
        Assert.True(CoordinateExtremes.CanUseKernel(a, b));
        foreach (var largest in new[] { false, true })
            AllClose(D1(CoordinateExtremes.Broadcast(a, b, largest)), D1(CoordinateExtremes.Compute(a, b, largest)), rel: 1e-6, abs: 1e-7);
        var withInf = b.clone(); withInf[3, 4] = tensor(float.PositiveInfinity);
        Assert.False(CoordinateExtremes.CanUseKernel(a, withInf));
        Assert.True(float.IsPositiveInfinity(CoordinateExtremes.Compute(a, withInf, largest: true)[0, 3].item<float>()));
    }

    /// <summary>
    /// One query N(0, 1) (D = 1); gallery A = N(0, 1), the query itself, and B = N(0, e^2), broader.
    /// True KL(q || A) = 0 and KL(q || B) = 1/2 (e^-2 - 1 + 2) = 0.568, so the true kl ranks A first;
    /// the official form scores A -(0 + 0 + 1) = -1 and B -(0 + (0 - 2) + e^-2) = 1.865, so it ranks B first.
    /// Reversed, with B' = N(0, e^-2) (narrower): true KL(B' || q) = 1/2 (e^-2 - 1 + 2) ranks A first, the official
    /// reverse form scores B' -((-2 - 0) + e^-2) = 1.865 and ranks it first.
    /// </summary>
    [Fact]
    public void Official_and_true_kl_rank_a_constructed_gallery_differently()
    {
        using var scope = NewDisposeScope();
        var query = new GaussianEmbedding(zeros([1, 1], float64), zeros([1, 1], float64));
        var broad = new GaussianEmbedding(zeros([2, 1], float64), tensor(new double[] { 0, 2 }, [2, 1]));
        var narrow = new GaussianEmbedding(zeros([2, 1], float64), tensor(new double[] { 0, -2 }, [2, 1]));
        double[] Scores(string name, GaussianEmbedding gallery) => D1(RetrievalEngine.ScoreMatrix(Scorer.Create(name), query, gallery));

        var kl = Scores("kl", broad); var official = Scores("official-kl", broad);
        Close(0, kl[0], abs: 1e-6); Close(-0.5 * (Math.Exp(-2) + 1), kl[1], rel: 1e-6);
        Close(-1, official[0], rel: 1e-6); Close(2 - Math.Exp(-2), official[1], rel: 1e-6);
        Assert.True(kl[0] > kl[1]);               // true KL: the query's own distribution first
        Assert.True(official[1] > official[0]);   // official: the broader item first

        var reverse = Scores("reverse-kl", narrow); var officialReverse = Scores("official-reverse-kl", narrow);
        Assert.True(reverse[0] > reverse[1]);
        Assert.True(officialReverse[1] > officialReverse[0]);
        Close(2 - Math.Exp(-2), officialReverse[1], rel: 1e-6);

        // What a table reports: gallery item A relevant, R@1 100 with kl and 0 with official-kl.
        var relevance = GalleryRelevance.FromLists([[0]], 2);
        Assert.Equal(100, RetrievalEvaluator.Evaluate(RetrievalEngine.ScoreMatrix(Scorer.Create("kl"), query, broad), relevance).Metrics.RecallAt(1));
        Assert.Equal(0, RetrievalEvaluator.Evaluate(RetrievalEngine.ScoreMatrix(Scorer.Create("official-kl"), query, broad), relevance).Metrics.RecallAt(1));
    }

    [Fact]
    public void Official_kl_is_twice_the_true_score_with_the_log_term_flipped_and_random_rankings_differ()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(14);
        long dim = 8;
        var q = Random(20, dim, g); var gal = Random(30, dim, g);
        foreach (var (officialName, trueName, reverse) in new[] { ("official-kl", "kl", false), ("official-reverse-kl", "reverse-kl", true) })
        {
            var official = D2(Scorer.Create(officialName).Score(ScoringSet.From(q), ScoringSet.From(gal)));   // float64 throughout
            var truth = D2(Scorer.Create(trueName).Score(ScoringSet.From(q), ScoringSet.From(gal)));
            var qh = D2(q.LogVariance); var gh = D2(gal.LogVariance);
            for (int i = 0; i < 20; i++)
                for (int j = 0; j < 30; j++)
                {
                    // Documented identity: official = 2 true - D -/+ 2 sum h_q +/- 2 sum h_g (forward: - h_q + h_g).
                    double sign = reverse ? -1 : 1;
                    double expected = 2 * truth[i][j] - dim - sign * 2 * qh[i].Sum() + sign * 2 * gh[j].Sum();
                    Close(expected, official[i][j], rel: 1e-9, abs: 1e-6);
                }
        }
        // Rankings on embedding-like Gaussians (means of norm ~1, sigma^2 around e^-2): the top-1 differs for about half
        // of the queries (measured 33 and 26 of 60); at least a quarter must differ.
        var uq = new GaussianEmbedding(randn([60, dim], float64, generator: g).mul(0.35), randn([60, dim], float64, generator: g).sub(2));
        var ug = new GaussianEmbedding(randn([30, dim], float64, generator: g).mul(0.35), randn([30, dim], float64, generator: g).sub(2));
        foreach (var (officialName, trueName) in new[] { ("official-kl", "kl"), ("official-reverse-kl", "reverse-kl") })
        {
            var official = D2(Scorer.Create(officialName).Score(ScoringSet.From(uq), ScoringSet.From(ug)));
            var truth = D2(Scorer.Create(trueName).Score(ScoringSet.From(uq), ScoringSet.From(ug)));
            int differentTop = Enumerable.Range(0, 60).Count(i => Array.IndexOf(official[i], official[i].Max()) != Array.IndexOf(truth[i], truth[i].Max()));
            Assert.True(differentTop >= 15, $"{officialName}: only {differentTop} of 60 top-1 differ from {trueName}");
        }
    }

    [Fact]
    public void Official_scorers_work_with_eval_all_blocks_and_index_rerank_but_have_no_search_form()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(15);
        var q = Random(9, 8, g); var gal = Random(13, 8, g);
        foreach (var name in new[] { "official-kl", "official-min" })
        {
            var scorer = Scorer.Create(name);
            var whole = RetrievalEngine.ScoreMatrix(scorer, q, gal, new RetrievalOptions(QueryBlock: 1000, MemoryBudgetBytes: 1L << 30));
            var tiled = RetrievalEngine.ScoreMatrix(scorer, q, gal, new RetrievalOptions(3, 1024));
            AllClose(D1(whole), D1(tiled), rel: 1e-6, abs: 1e-6);
            Assert.DoesNotContain(name, SearchAugmentation.Names);
            Assert.Throws<ArgumentException>(() => SearchAugmentation.For(name));
        }
        Assert.False(Scorer.Create("official-kl").IsSymmetric);
        Assert.True(Scorer.Create("official-max").IsSymmetric);
    }
}
