using Pcme.Analysis;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Analysis;

public class GradientWeightsTests
{
    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 3)]
    [InlineData(false, 4)]
    public void Exact_weights_times_the_sigmoid_complement_equal_autograd(bool positive, int seed)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)seed);
        var za = randn([5, 4], dtype: float64, generator: g).mul(0.4); var zb = randn([6, 4], dtype: float64, generator: g).mul(0.4);
        var w = GradientWeights.ForSamples(za, zb, 3, 2, positive);
        Assert.Equal(new long[] { 5, 6 }, w.Exact.shape);
        AllClose(D1(w.Autograd), D1(w.PredictedGradient), rel: 1e-10, abs: 1e-14);
        Close(1, w.Exact.sum().item<double>());
        Close(1, w.Paper.sum().item<double>());
        // The loss reported is the naive pair NLL.
        Close(Naive.PairNll(D2(za), D2(zb), 3, 2, positive), w.Loss, rel: 1e-10);
        // Independent check of the exact weights: s(+-l) / sum s(+-l), with naive sigmoids.
        var l = D1(w.Logits);
        var s = l.Select(x => 1 / (1 + Math.Exp(positive ? -x : x))).ToArray();
        AllClose(s.Select(v => v / s.Sum()).ToArray(), D1(w.Exact), rel: 1e-10);
    }

    [Fact]
    public void Paper_form_matches_the_exact_weights_where_the_pair_is_wrong_and_differs_where_it_is_right()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(6);
        // Negative pair whose samples are all close: l >> 0, so s(-l) ~ e^{-l} — the model is wrong about it.
        var close = randn([4, 3], dtype: float64, generator: g).mul(0.05);
        var closeToo = close.add(randn([4, 3], dtype: float64, generator: g).mul(0.05));
        var wrong = GradientWeights.ForSamples(close, closeToo, 20, 15, positive: false);
        Assert.True(wrong.Logits.min().item<double>() > 8, $"min logit {wrong.Logits.min().item<double>()}");
        double wrongDiff = wrong.Exact.sub(wrong.Paper).abs().max().item<double>();
        Assert.True(wrongDiff < 1e-3, $"paper vs exact on a wrong pair: {wrongDiff}");

        // Positive pair that the model already gets right (l >> 0): s(l) ~ 1 everywhere, so the exact
        // weights are ~uniform while the paper's softmax(l) concentrates on the closest sample pair.
        var right = GradientWeights.ForSamples(close, closeToo, 20, 15, positive: true);
        double uniform = 1.0 / right.Exact.numel(); // 4 x 4 sample pairs
        double fromUniform = right.Exact.sub(uniform).abs().max().item<double>();
        double rightDiff = right.Paper.sub(right.Exact).abs().max().item<double>();
        Assert.True(fromUniform < 1e-3, $"exact weights of a right pair vs uniform: {fromUniform}");
        Assert.True(rightDiff > 0.05, $"paper vs exact on a right pair: {rightDiff}");
    }

    [Fact]
    public void Weights_reward_the_one_correct_sample_pair_of_a_positive()
    {
        using var scope = NewDisposeScope();
        // Positive pair, all samples far apart except one pair (0, 0): "at least one correct sample pair".
        var za = tensor(new double[] { 0, 0, 5, 0, 0, 5 }, [3, 2], float64);
        var zb = tensor(new double[] { 0.01, 0, -5, 0, 0, -5 }, [3, 2], float64);
        var w = GradientWeights.ForPair(new(za, full_like(za, -60)), 0, new(zb, full_like(zb, -60)), 0, 1, 2, 3, true, new Generator(1));
        Assert.Equal(new long[] { 1, 1 }, w.Exact.shape); // J = 1 through ForPair
        var full = GradientWeights.ForSamples(za, zb, 2, 3, positive: true);
        var e = D2(full.Exact);
        Assert.True(e[0][0] > 0.9, $"weight on the matching sample pair: {e[0][0]}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Mean_sample_pair_loss_bounds_the_loss_and_effective_pairs_count_the_weights(bool positive)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9);
        var za = randn([4, 3], dtype: float64, generator: g); var zb = randn([5, 3], dtype: float64, generator: g);
        var w = GradientWeights.ForSamples(za, zb, 2, 1.5, positive);
        var l = D1(w.Logits);
        double Nls(double x) => Math.Log(1 + Math.Exp(positive ? -x : x));   // -log s(+-x)
        Close(l.Average(Nls), w.MeanSamplePairLoss, rel: 1e-10);
        Assert.True(w.MeanSamplePairLoss >= w.Loss);
        var exact = D1(w.Exact);
        Close(1 / exact.Sum(x => x * x), w.EffectiveSamplePairs, rel: 1e-10);
        Assert.InRange(w.EffectiveSamplePairs, 1, 20);
        // Identical samples: every pair weighs the same, so all 20 pairs count.
        var same = GradientWeights.ForSamples(zeros([4, 3], float64), zeros([5, 3], float64), 2, 1.5, positive);
        Close(20, same.EffectiveSamplePairs, rel: 1e-10);
        Close(same.Loss, same.MeanSamplePairLoss, rel: 1e-10);
    }
}
