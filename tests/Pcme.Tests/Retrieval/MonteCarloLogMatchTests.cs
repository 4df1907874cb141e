using Pcme.Retrieval;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Retrieval;

public class MonteCarloLogMatchTests
{
    // (a, b) chosen so the largest logit of a pair is: mixed in sign across pairs; far above 0 (p -> 1,
    // e^-x underflows); far below 0 (p ~ e^-150, where a plain mean of sigmoids is 0 in float32 and in
    // double log(0) = -inf); and J != K with a gallery that is not a multiple of the SIMD width.
    [Theory]
    [InlineData(5, 3, 11, 3, 4.0, 2.0)]
    [InlineData(4, 2, 9, 5, 2.0, 120.0)]
    [InlineData(3, 4, 13, 2, 30.0, -140.0)]
    [InlineData(2, 7, 37, 7, 10.0, 10.0)]
    public void Kernel_equals_the_per_sample_pair_formula_in_double(int nq, int j, int ng, int k, double a, double b)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(21);
        var zq = randn([nq, j, 6], generator: g).mul(0.6); var zg = randn([ng, k, 6], generator: g).mul(0.6);
        var fused = D2(MonteCarloLogMatch.Compute(zq, zg, a, b));
        var reference = D2(MonteCarloLogMatch.Reference(zq, zg, a, b));
        var (sq, sg) = (D3(zq), D3(zg));
        for (int i = 0; i < nq; i++)
            for (int c = 0; c < ng; c++)
            {
                double naive = -Tests.Naive.PairNll(sq[i], sg[c], a, b, matched: true);
                Assert.True(double.IsFinite(fused[i][c]));
                Close(naive, fused[i][c], rel: 1e-5, abs: 2e-4);
                Close(reference[i][c], fused[i][c], rel: 1e-5, abs: 2e-4);
            }
    }

    [Fact]
    public void Identical_samples_give_the_sigmoid_of_the_shift_at_distance_sqrt_eps()
    {
        using var scope = NewDisposeScope();
        var z = randn([3, 4, 8], generator: new Generator(22));
        // Every sample of item i equals every sample of gallery item i: d = sqrt(eps) exactly for the diagonal.
        var same = z.narrow(1, 0, 1).expand(3, 4, 8).contiguous();
        var s = D2(MonteCarloLogMatch.Compute(same, same, 3.0, 1.5));
        for (int i = 0; i < 3; i++)
        {
            double x = 1.5 - 3.0 * Math.Sqrt(1e-6);
            Close(-Math.Log(1 + Math.Exp(-x)), s[i][i], rel: 1e-5, abs: 1e-5);
        }
    }

    [Fact]
    public void Mc_scorer_on_float32_uses_the_kernel_and_matches_the_libtorch_form_for_every_block_size()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(23);
        var q = new Pcme.Probabilistic.GaussianEmbedding(randn([6, 10], generator: g), randn([6, 10], generator: g).sub(2));
        var gal = new Pcme.Probabilistic.GaussianEmbedding(randn([17, 10], generator: g), randn([17, 10], generator: g).sub(2));
        var scorer = new MonteCarloMatchScorer(5, 6.0, 3.0);
        var whole = D1(RetrievalEngine.ScoreMatrix(scorer, q, gal, new RetrievalOptions(1000, 1L << 30), new Generator(4)));
        var tiled = D1(RetrievalEngine.ScoreMatrix(scorer, q, gal, new RetrievalOptions(4, 4 * 5 * 5 * 4 * 3), new Generator(4)));
        var (pq, pg) = RetrievalEngine.Prepare(scorer, q, gal, new RetrievalOptions(), new Generator(4));
        var reference = D1(MonteCarloLogMatch.Reference(pq.Samples!, pg.Samples!, 6.0, 3.0));
        AllClose(reference, whole, rel: 1e-5, abs: 1e-4);
        AllClose(whole, tiled, rel: 1e-6, abs: 1e-6);
    }
}
