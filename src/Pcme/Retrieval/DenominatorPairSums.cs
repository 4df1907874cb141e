using System.Numerics;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>
/// The two per-pair sums that ELK and the Bhattacharyya distance need and that do not separate over
/// items, because the denominator v_q + v_g belongs to the pair:
/// A = sum_d (mu_q - mu_g)^2 / (v_q + v_g) and L = sum_d log(v_q + v_g). It returns
/// <c>alpha A + beta L + gamma</c> for every (query, gallery) pair, [Q, G].
/// <para>
/// Broadcasting this in libtorch materialises several [Q, G, D] temporaries and takes one log per
/// pair and dimension. The CPU kernel here is one pass over the inputs in cache-sized gallery tiles:
/// SIMD lanes accumulate A, and L is taken from the floating-point representation — each
/// s = v_q + v_g = m 2^e with m in [1, 2), so sum log s = log(prod m) + (sum e) ln 2 — with the
/// mantissa product renormalised before it can overflow and one log per pair at the end. Other
/// devices and dtypes, and variances that are not finite normal floats, use the broadcast form.
/// </para>
/// </summary>
public static class DenominatorPairSums
{
    const int RenormaliseEvery = 32;   // 32 lane products of m in [1, 2) stay below 2^32: no overflow.
    const float MinNormal = 1.17549435e-38f;  // smallest normal float32
    const int GalleryTile = 32;        // 32 items x D floats x 2 (mean, variance) stay in L2 at D = 1024.

    /// <summary>alpha A + beta L + gamma for every pair (see the type's summary), [Q, G], same dtype and device as the inputs.</summary>
    public static Tensor Compute(ScoringSet q, ScoringSet g, double alpha, double beta, double gamma = 0) =>
        CanUseKernel(q, g) ? Kernel(q, g, (float)alpha, (float)beta, gamma) : Broadcast(q, g, alpha, beta, gamma);

    /// <summary>The libtorch broadcast form, [Q, G, D] temporaries (the reference and the GPU path).</summary>
    public static Tensor Broadcast(ScoringSet q, ScoringSet g, double alpha, double beta, double gamma = 0)
    {
        var diff2 = q.Mean.unsqueeze(1).sub(g.Mean.unsqueeze(0)).pow(2);             // [Q, G, D]
        var sum = q.Variance.unsqueeze(1).add(g.Variance.unsqueeze(0));
        return diff2.div(sum).sum(2).mul(alpha).add(sum.log().sum(2).mul(beta)).add(gamma);
    }

    /// <summary>Whether <see cref="Compute"/> takes the fused CPU kernel for these inputs.</summary>
    public static bool CanUseKernel(ScoringSet q, ScoringSet g) =>
        q.Mean.device_type == DeviceType.CPU && g.Mean.device_type == DeviceType.CPU
        && q.Mean.dtype == ScalarType.Float32 && g.Mean.dtype == ScalarType.Float32
        && q.Variance.dtype == ScalarType.Float32 && g.Variance.dtype == ScalarType.Float32
        && NormalAndBelowHalfMax(q.Variance) && NormalAndBelowHalfMax(g.Variance);

    // The exponent trick needs v_q + v_g to be a finite normal float: variances in [MinNormal, MaxValue / 2]
    // (NaN fails the comparisons too). Anything else takes the broadcast form, so results never differ in kind.
    static bool NormalAndBelowHalfMax(Tensor v)
    {
        using var scope = NewDisposeScope();
        if (v.numel() == 0) return true;
        var (min, max) = (v.min().item<float>(), v.max().item<float>());
        return min >= MinNormal && max < float.MaxValue / 2;
    }

    static unsafe Tensor Kernel(ScoringSet q, ScoringSet g, float alpha, float beta, double gamma)
    {
        int nq = (int)q.Count, ng = (int)g.Count, dim = (int)q.Mean.shape[1];
        using var scope = NewDisposeScope();
        var qm = q.Mean.contiguous(); var qv = q.Variance.contiguous();
        var gm = g.Mean.contiguous(); var gv = g.Variance.contiguous();
        var result = empty([nq, ng], float32);
        nint pqm = CpuKernels.Address(qm), pqv = CpuKernels.Address(qv), pgm = CpuKernels.Address(gm), pgv = CpuKernels.Address(gv),
             pout = CpuKernels.Address(result);
        CpuKernels.ForRowRanges(nq, (q0, q1) => Rows((float*)pqm, (float*)pqv, (float*)pgm, (float*)pgv, (float*)pout, q0, q1, ng, dim, alpha, beta, gamma));
        return result.MoveToOuterDisposeScope();
    }

    static unsafe void Rows(float* qm, float* qv, float* gm, float* gv, float* result, int q0, int q1, int ng, int dim, float alpha, float beta, double gamma)
    {
        int width = Vector<float>.Count, vectorDim = dim - dim % width;
        int pairedDim = dim - dim % (2 * width);
        for (int t0 = 0; t0 < ng; t0 += GalleryTile)
        {
            int t1 = Math.Min(ng, t0 + GalleryTile);
            for (int i = q0; i < q1; i++)
            {
                float* mi = qm + (long)i * dim, vi = qv + (long)i * dim;
                for (int j = t0; j < t1; j++)
                {
                    float* mj = gm + (long)j * dim, vj = gv + (long)j * dim;
                    // Two independent sets of accumulators hide the latency of the loop-carried adds and multiplies.
                    Vector<float> a0 = Vector<float>.Zero, a1 = Vector<float>.Zero, p0 = Vector<float>.One, p1 = Vector<float>.One;
                    Vector<int> e0 = Vector<int>.Zero, e1 = Vector<int>.Zero;
                    int d = 0;
                    while (d < pairedDim)
                    {
                        int end = Math.Min(pairedDim, d + 2 * RenormaliseEvery * width);
                        for (; d < end; d += 2 * width)
                        {
                            Step(mi + d, vi + d, mj + d, vj + d, ref a0, ref p0, ref e0);
                            Step(mi + d + width, vi + d + width, mj + d + width, vj + d + width, ref a1, ref p1, ref e1);
                        }
                        (p0, e0) = Renormalise(p0, e0); (p1, e1) = Renormalise(p1, e1);
                    }
                    if (d < vectorDim) { Step(mi + d, vi + d, mj + d, vj + d, ref a0, ref p0, ref e0); (p0, e0) = Renormalise(p0, e0); }
                    var a = a0 + a1; var product = p0 * p1; var exponents = e0 + e1;   // two mantissas < 2 each: < 4
                    double mantissas = 1;
                    for (int l = 0; l < width; l++) mantissas *= product[l];
                    double sumA = Vector.Sum(a), sumL = Math.Log(mantissas) + Vector.Sum(exponents) * Math.Log(2);
                    for (d = vectorDim; d < dim; d++)
                    {
                        float diff = mi[d] - mj[d], s = vi[d] + vj[d];
                        sumA += diff * diff / s;
                        sumL += Math.Log(s);
                    }
                    result[(long)i * ng + j] = (float)(alpha * sumA + beta * sumL + gamma);
                }
            }
        }
    }

    // One SIMD step: A += (mu_q - mu_g)^2 / s; s = m 2^e goes into the mantissa product and the exponent sum.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Step(float* mq, float* vq, float* mg, float* vg, ref Vector<float> a, ref Vector<float> product, ref Vector<int> exponents)
    {
        var diff = Vector.Load(mq) - Vector.Load(mg);
        var s = Vector.Load(vq) + Vector.Load(vg);
        a += diff * diff / s;
        var bits = s.As<float, int>();
        exponents += (bits >>> 23) - new Vector<int>(127);
        product *= ((bits & new Vector<int>(0x007FFFFF)) | new Vector<int>(0x3F800000)).As<int, float>();
    }

    // product = m 2^e with m in [1, 2): move e into the exponent sum.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector<float>, Vector<int>) Renormalise(Vector<float> product, Vector<int> exponents)
    {
        var bits = product.As<float, int>();
        return (((bits & new Vector<int>(0x007FFFFF)) | new Vector<int>(0x3F800000)).As<int, float>(), exponents + ((bits >>> 23) - new Vector<int>(127)));
    }
}
