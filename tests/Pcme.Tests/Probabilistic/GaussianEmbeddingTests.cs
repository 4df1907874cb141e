using Pcme.Probabilistic;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Probabilistic;

public class GaussianEmbeddingTests
{
    [Fact]
    public void Samples_have_the_embedding_mean_and_sigma_exp_h_over_2()
    {
        using var scope = NewDisposeScope();
        var mu = tensor(new double[] { 1, -2, 0.5, 3 }, [2, 2], float64);
        var h = tensor(new double[] { 0, Math.Log(4), Math.Log(0.25), -2 }, [2, 2], float64);
        var z = new GaussianEmbedding(mu, h).Sample(40_000, new Generator(1));
        Assert.Equal(new long[] { 2, 40_000, 2 }, z.shape);
        var mean = D1(z.mean([1])); var std = D1(z.std(1));
        double[] expMean = [1, -2, 0.5, 3], expStd = [1, 2, 0.5, Math.Exp(-1)];
        for (int i = 0; i < 4; i++)
        {
            Assert.InRange(mean[i], expMean[i] - 4 * expStd[i] / 200, expMean[i] + 4 * expStd[i] / 200);
            Assert.InRange(std[i] / expStd[i], 0.98, 1.02);
        }
    }

    [Fact]
    public void Same_seed_same_samples_other_seed_other_samples()
    {
        using var scope = NewDisposeScope();
        var e = new GaussianEmbedding(zeros(3, 4), zeros(3, 4));
        var a = D1(e.Sample(5, new Generator(7))); var b = D1(e.Sample(5, new Generator(7))); var c = D1(e.Sample(5, new Generator(8)));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void In_place_sampling_without_autograd_draws_the_same_values_as_the_differentiable_path()
    {
        using var scope = NewDisposeScope();
        var mu = randn([3, 6], generator: new Generator(2)); var h = randn([3, 6], generator: new Generator(3));
        var withGrad = new GaussianEmbedding(mu.clone().requires_grad_(), h.clone().requires_grad_()).Sample(4, new Generator(9));
        Assert.True(withGrad.requires_grad);
        Tensor inPlace;
        using (no_grad()) inPlace = new GaussianEmbedding(mu, h).Sample(4, new Generator(9));
        var plain = new GaussianEmbedding(mu, h).Sample(4, new Generator(9));   // no input needs a gradient
        Assert.Equal(D1(withGrad.detach()), D1(inPlace));
        Assert.Equal(D1(withGrad.detach()), D1(plain));
    }

    [Fact]
    public void Uncertainty_is_the_geometric_mean_of_sigma()
    {
        using var scope = NewDisposeScope();
        var h = tensor(new double[] { Math.Log(1), Math.Log(4), Math.Log(16), Math.Log(0.25), Math.Log(0.25), Math.Log(0.25) }, [2, 3], float64);
        var u = D1(new GaussianEmbedding(zeros_like(h), h).Uncertainty());
        Close(Math.Pow(1 * 2 * 4, 1.0 / 3), u[0]);
        Close(0.5, u[1]);
    }

    [Fact]
    public void Official_log_sigma_converts_to_log_variance_and_samples_identically()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var mu = randn([4, 6], dtype: float64, generator: g); var logSigma = randn([4, 6], dtype: float64, generator: g).mul(0.3);
        var e = GaussianEmbedding.FromOfficialLogSigma(mu, logSigma);
        AllClose(D1(logSigma.mul(2)), D1(e.LogVariance));
        // Official sampling: mu + eps * exp(logsigma), eps drawn [N, J, D].
        var eps = randn([4, 3, 6], dtype: float64, generator: new Generator(9));
        var official = mu.unsqueeze(1).add(eps.mul(logSigma.exp().unsqueeze(1)));
        AllClose(D1(official), D1(e.Sample(3, new Generator(9))), rel: 1e-12);
    }

    [Fact]
    public void Slice_select_concat_and_device_moves_keep_rows_aligned()
    {
        using var scope = NewDisposeScope();
        var mu = arange(12, dtype: float64).view(4, 3); var h = arange(12, dtype: float64).view(4, 3).neg();
        var e = new GaussianEmbedding(mu, h).Validate();
        var s = e.Slice(1, 2);
        Assert.Equal(new double[] { 3, 4, 5, 6, 7, 8 }, D1(s.Mean));
        Assert.Equal(new double[] { -3, -4, -5, -6, -7, -8 }, D1(s.LogVariance));
        var sel = e.Select(tensor(new long[] { 3, 0 }));
        Assert.Equal(new double[] { 9, 10, 11, 0, 1, 2 }, D1(sel.Mean));
        var c = GaussianEmbedding.Concat([e.Slice(0, 1), e.Slice(1, 3)]);
        Assert.Equal(D1(mu), D1(c.Mean));
        Assert.Equal(D1(h), D1(c.LogVariance));
        var f = e.To(CPU, float32);
        Assert.Equal(ScalarType.Float32, f.Mean.dtype);
        Assert.Equal(ScalarType.Float32, f.LogVariance.dtype);
        Assert.Equal(4, f.Count); Assert.Equal(3, f.Dimension);
    }

    [Fact]
    public void Invalid_shapes_and_sample_counts_are_rejected()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => new GaussianEmbedding(zeros(3, 4), zeros(3, 5)).Validate());
        Assert.Throws<ArgumentException>(() => new GaussianEmbedding(zeros(3), zeros(3)).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianEmbedding(zeros(3, 4), zeros(3, 4)).Sample(0, null));
    }

    [Fact]
    public void Gemm_distances_equal_the_direct_pairwise_distances()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var za = randn([3, 2, 5], dtype: float64, generator: g); var zb = randn([4, 3, 5], dtype: float64, generator: g);
        var d = SampleDistances.Euclidean(za, zb); // [3, 2, 4, 3]
        Assert.Equal(new long[] { 3, 2, 4, 3 }, d.shape);
        var a = D3(za); var b = D3(zb); var flat = D1(d);
        for (int i = 0; i < 3; i++) for (int j = 0; j < 2; j++) for (int k = 0; k < 4; k++) for (int l = 0; l < 3; l++)
            Close(Naive.Distance(a[i][j], b[k][l]), flat[((i * 2 + j) * 4 + k) * 3 + l], rel: 1e-12);
    }

    [Fact]
    public void Log_match_alone_equals_the_log_match_of_the_pair_of_log_probabilities()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var logits = randn([3, 4, 5, 2], dtype: float64, generator: g).mul(30);
        Assert.Equal(D1(MatchProbability.FromLogits(logits).LogMatch), D1(MatchProbability.LogMatchFromLogits(logits)));
    }

    [Fact]
    public void Match_probability_estimate_is_a_probability_and_falls_with_distance()
    {
        using var scope = NewDisposeScope();
        var mu = tensor(new double[] { 0, 0, 0.5, 0, 3, 0 }, [3, 2], float64);
        var e = new GaussianEmbedding(mu, full_like(mu, Math.Log(0.01)));
        var p = D2(MatchProbability.Estimate(e.Slice(0, 1), e, 8, tensor(5.0, float64), tensor(2.0, float64), new Generator(1)));
        Assert.All(p[0], v => Assert.InRange(v, 0, 1));
        Assert.True(p[0][0] > p[0][1] && p[0][1] > p[0][2]);
    }
}
