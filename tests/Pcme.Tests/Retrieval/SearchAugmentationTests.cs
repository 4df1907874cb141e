using Pcme.Probabilistic;
using Pcme.Retrieval;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Retrieval;

public class SearchAugmentationTests
{
    /// <summary>Random Gaussians whose log-variances lie in a regime: typical, very small (sigma ~ 1e-3), very large (sigma ~ 20), or mixed.</summary>
    internal static GaussianEmbedding Random(long n, long d, Generator g, string regime)
    {
        var mu = randn([n, d], dtype: float64, generator: g);
        var h = regime switch
        {
            "small" => randn([n, d], dtype: float64, generator: g).mul(0.5).sub(13),
            "large" => randn([n, d], dtype: float64, generator: g).mul(0.5).add(6),
            "mixed" => rand([n, d], dtype: float64, generator: g).mul(22).sub(14),     // h in [-14, 8]: sigma from 1e-3 to 55
            _ => randn([n, d], dtype: float64, generator: g).mul(0.7).sub(1.5),
        };
        return new GaussianEmbedding(mu, h);
    }

    static double[][] NaiveScores(string name, GaussianEmbedding q, GaussianEmbedding g)
    {
        var (qm, qh, gm, gh) = (D2(q.Mean), D2(q.LogVariance), D2(g.Mean), D2(g.LogVariance));
        return qm.Select((_, i) => gm.Select((_, j) => ScorersTests.Naive(name, qm[i], qh[i], gm[j], gh[j])).ToArray()).ToArray();
    }

    /// <summary>The engine's similarity (higher = nearer) of every query-gallery pair, computed directly from its metric.</summary>
    static double[][] EngineSimilarity(IndexMetric metric, Tensor xq, Tensor xg)
    {
        var (q, g) = (D2(xq), D2(xg));
        return q.Select(a => g.Select(b => metric switch
        {
            IndexMetric.SquaredL2 => -a.Zip(b, (x, y) => (x - y) * (x - y)).Sum(),
            IndexMetric.Cosine => a.Zip(b, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * b.Sum(x => x * x)),
            _ => a.Zip(b, (x, y) => x * y).Sum(),
        }).ToArray()).ToArray();
    }

    static int[] Order(double[] scores) => Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ToArray();

    /// <summary>Rows differ from the scorer by a per-query constant: score - similarity is the same for every gallery item.</summary>
    static void SameUpToQueryConstant(double[][] expected, double[][] actual, double rel)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            var diff = expected[i].Zip(actual[i], (e, a) => e - a).ToArray();
            double scale = expected[i].Max(Math.Abs) + Math.Abs(diff[0]);
            foreach (var d in diff) Close(diff[0], d, abs: rel * scale);
            Assert.Equal(Order(expected[i]), Order(actual[i]));
        }
    }

    public static TheoryData<string, string> ScorerRegimes()
    {
        var data = new TheoryData<string, string>();
        foreach (var s in SearchAugmentation.Names)
            foreach (var r in new[] { "typical", "small", "large", "mixed" }) data.Add(s, r);
        return data;
    }

    [Theory]
    [MemberData(nameof(ScorerRegimes))]
    public void Search_vectors_rank_every_query_exactly_like_the_scorer(string name, string regime)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(7);
        var q = Random(6, 12, g, regime); var gal = Random(40, 12, g, regime);
        var exact = NaiveScores(name, q, gal);
        var aug = SearchAugmentation.For(name);

        // The inner-product form, brute force: x_q . x_g = score - b_q.
        var (iq, ig) = SearchAugmentation.InnerProductVectors((SeparableScorer)Scorer.Create(name), q, gal);
        SameUpToQueryConstant(exact, EngineSimilarity(IndexMetric.InnerProduct, iq, ig), 1e-12);

        // The engine's form (the scaled, stored vectors), brute force with the engine's metric.
        var (xg, scale) = aug.Gallery(gal);
        var xq = aug.Queries(q, scale);
        Assert.Equal(aug.Width(12), (int)xg.shape[1]);
        Assert.Equal(aug.Width(12), (int)xq.shape[1]);
        Assert.True(xg.abs().max().item<double>() <= 1 + 1e-12, "stored vectors span [-1, 1]");
        var similarity = EngineSimilarity(aug.Metric, xq, xg);
        for (int i = 0; i < exact.Length; i++) Assert.Equal(Order(exact[i]), Order(similarity[i]));
        if (aug.Metric == IndexMetric.Cosine) AllClose(exact.SelectMany(r => r).ToArray(), similarity.SelectMany(r => r).ToArray(), rel: 1e-12, abs: 1e-12);
        if (name is "kl" or "reverse-kl" or "js")
            Assert.All(D1(linalg.vector_norm(xg, dims: [1])), n => Close(1, n, rel: 1e-12));   // on the unit sphere
    }

    [Theory]
    [InlineData("mc")]
    [InlineData("elk")]
    [InlineData("bhattacharyya")]
    [InlineData("matmul")]
    public void Scorers_without_a_search_form_are_refused_with_the_re_ranking_advice(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => SearchAugmentation.For(name));
        Assert.Contains($"re-rank its candidates with '{name}'", e.Message);
    }
}
