using Pcme.Probabilistic;
using Pcme.Retrieval;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Retrieval;

public class DenominatorPairSumsTests
{
    static ScoringSet Set(long n, long d, Generator g, double logVarianceScale, double logVarianceShift, ScalarType dtype = ScalarType.Float32) =>
        ScoringSet.From(new GaussianEmbedding(randn([n, d], dtype: dtype, generator: g),
                                              randn([n, d], dtype: dtype, generator: g).mul(logVarianceScale).add(logVarianceShift)));

    /// <summary>A = sum (mu_q - mu_g)^2/(v_q + v_g) and L = sum log(v_q + v_g) in plain doubles, from the same float inputs.</summary>
    static (double A, double L, double AbsL) Naive(double[] mq, double[] vq, double[] mg, double[] vg)
    {
        double a = 0, l = 0, absL = 0;
        for (int d = 0; d < mq.Length; d++)
        {
            double s = vq[d] + vg[d];
            a += (mq[d] - mg[d]) * (mq[d] - mg[d]) / s;
            l += Math.Log(s); absL += Math.Abs(Math.Log(s));
        }
        return (a, l, absL);
    }

    // D = 1031: a vector part longer than the renormalisation period and a scalar tail; log-variances over
    // [-60, 40] (variances from 1e-26 to 1e17) so the exponent sums and mantissa products really vary.
    [Theory]
    [InlineData(7, 9, 1031, 20.0, -10.0)]
    [InlineData(5, 70, 1024, 0.5, -5.0)]
    [InlineData(3, 4, 3, 1.0, 0.0)]
    public void Kernel_sums_equal_the_per_dimension_formula(long nq, long ng, long dim, double scale, double shift)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        var q = Set(nq, dim, g, scale, shift); var gal = Set(ng, dim, g, scale, shift);
        Assert.True(DenominatorPairSums.CanUseKernel(q, gal));
        var a = D2(DenominatorPairSums.Compute(q, gal, alpha: 1, beta: 0));
        var l = D2(DenominatorPairSums.Compute(q, gal, alpha: 0, beta: 1));
        var mixed = D2(DenominatorPairSums.Compute(q, gal, alpha: -0.25, beta: 2, gamma: 3));
        var (qm, qv, gm, gv) = (D2(q.Mean), D2(q.Variance), D2(gal.Mean), D2(gal.Variance));
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < ng; j++)
            {
                var (na, nl, absL) = Naive(qm[i], qv[i], gm[j], gv[j]);
                Close(na, a[i][j], rel: 1e-5);
                // L: float32 mantissa products; the error is relative to the sum of |log s|, not to L itself.
                Close(nl, l[i][j], abs: 1e-6 * absL + 1e-6);
                Close(-0.25 * na + 2 * nl + 3, mixed[i][j], abs: 1e-5 * (Math.Abs(na) + 2 * absL) + 1e-5);
            }
    }

    [Fact]
    public void Kernel_agrees_with_the_broadcast_form()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(12);
        var q = Set(33, 130, g, 1.0, -4.0); var gal = Set(65, 130, g, 1.0, -4.0);
        var fused = D1(DenominatorPairSums.Compute(q, gal, -0.5, -0.5));
        var broadcast = D1(DenominatorPairSums.Broadcast(q, gal, -0.5, -0.5));
        AllClose(broadcast, fused, rel: 2e-5, abs: 1e-4);
    }

    [Fact]
    public void Subnormal_infinite_and_double_inputs_take_the_broadcast_form_and_stay_exact()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(13);
        var q = Set(3, 10, g, 1.0, -2.0); var gal = Set(4, 10, g, 1.0, -2.0);
        // exp(-100) is subnormal in float32: the exponent trick would misread it.
        var tiny = ScoringSet.From(new GaussianEmbedding(q.Mean, q.LogVariance.index_fill(1, tensor(new long[] { 3 }), -100.0f)));
        var huge = ScoringSet.From(new GaussianEmbedding(q.Mean, q.LogVariance.index_fill(1, tensor(new long[] { 3 }), 89.0f)));
        var dbl = Set(3, 10, g, 1.0, -2.0, ScalarType.Float64);
        Assert.False(DenominatorPairSums.CanUseKernel(tiny, gal));
        Assert.False(DenominatorPairSums.CanUseKernel(huge, gal));
        Assert.False(DenominatorPairSums.CanUseKernel(dbl, ScoringSet.From(new GaussianEmbedding(gal.Mean.to(float64), gal.LogVariance.to(float64)))));
        var l = D2(DenominatorPairSums.Compute(tiny, gal, alpha: 0, beta: 1));
        var (tv, gv) = (D2(tiny.Variance), D2(gal.Variance));
        var (tm, gm) = (D2(tiny.Mean), D2(gal.Mean));
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                Close(Naive(tm[i], tv[i], gm[j], gv[j]).L, l[i][j], rel: 1e-5);
        // A variance of exp(89) overflows float32 to +inf: the broadcast form gives +inf for L, as libtorch does.
        Assert.True(float.IsPositiveInfinity(DenominatorPairSums.Compute(huge, gal, 0, 1)[0, 0].item<float>()));
    }
}
