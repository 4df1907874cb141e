using System.Numerics;
using Pcme.Probabilistic;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>
/// Test-time log p(m = 1 | q, g) of paper Eq. 2 for every pair, from J samples of each query and K of
/// each gallery item: log (1/JK) sum_jk s(-a sqrt(||z_q^j - z_g^k||^2 + eps) + b). No gradients.
/// <para>
/// The J x K sample dot products come from one GEMM (the unavoidable JK-fold work); everything after it
/// is one fused CPU pass instead of libtorch's chain of [Q, J, G, K] temporaries (clamp, sqrt, scale,
/// log-sigmoid, two log-sum-exps). It stays exact in log space: with x* the largest logit of a pair,
/// p = s(x*) (1/JK) sum_jk s(x_jk)/s(x*), and every ratio is computed without overflow —
/// (1 + e^-x*)/(1 + e^-x) when x* >= 0, and u (1 + e^x*)/(1 + u e^x*) with u = e^(x - x*) when x* &lt; 0.
/// Other devices and dtypes use <see cref="MatchProbability"/>.
/// </para>
/// </summary>
public static class MonteCarloLogMatch
{
    const long ChunkBytes = 16L << 20;

    /// <summary>log p(m = 1) [Q, G] for samples [Q, J, D] and [G, K, D], logit scale a and shift b.</summary>
    public static Tensor Compute(Tensor queries, Tensor gallery, double negativeScale, double shift)
    {
        if (queries.device_type != DeviceType.CPU || gallery.device_type != DeviceType.CPU
            || queries.dtype != ScalarType.Float32 || gallery.dtype != ScalarType.Float32)
            return Reference(queries, gallery, negativeScale, shift);
        return Kernel(queries, gallery, (float)negativeScale, (float)shift);
    }

    /// <summary>The same value from <see cref="MatchProbability"/>'s libtorch form (any device; log p(m = 1) only).</summary>
    public static Tensor Reference(Tensor queries, Tensor gallery, double negativeScale, double shift)
    {
        using var a = tensor(negativeScale, queries.dtype, queries.device);
        using var b = tensor(shift, queries.dtype, queries.device);
        return MatchProbability.LogMatchFromLogits(MatchProbability.SampleLogits(queries, gallery, a, b));
    }

    static unsafe Tensor Kernel(Tensor queries, Tensor gallery, float a, float b)
    {
        int nq = (int)queries.shape[0], j = (int)queries.shape[1], ng = (int)gallery.shape[0], k = (int)gallery.shape[1];
        long dim = queries.shape[2];
        using var scope = NewDisposeScope();
        var zq = queries.reshape(nq * j, dim);
        var qNorms = linalg.vector_norm(zq, dims: [1]).pow_(2);
        var result = empty([nq, ng], float32);
        nint pqn = CpuKernels.Address(qNorms), pout = CpuKernels.Address(result);
        // Gallery chunks keep the [Q J, K G_c] dot products near the cache the fused pass reads them from twice
        // (measured at 1,000 x 5,000, J = K = 7: 8.3 s with 130 MB chunks, 5.2 s with 8-32 MB).
        // The chunk's sample copy [K G_c, D] is bounded the same way, so scoring memory does not grow with the gallery.
        long perItem = 4L * Math.Max(nq * j * k, k * dim);
        int galleryChunk = (int)Math.Clamp(ChunkBytes / perItem, 16, Math.Max(16, ng));
        // One buffer each for the chunk's samples and dot products, reused: fresh ones per chunk cost page faults.
        var zgBuffer = empty([(long)k * galleryChunk * dim], float32);
        var dotsBuffer = empty([(long)nq * j * k * galleryChunk], float32);
        for (int g0 = 0; g0 < ng; g0 += galleryChunk)
        {
            using var chunkScope = NewDisposeScope();
            int gl = Math.Min(galleryChunk, ng - g0);
            var zg = zgBuffer.narrow(0, 0, (long)k * gl * dim).view(k, gl, dim)
                .copy_(gallery.narrow(0, g0, gl).transpose(0, 1)).view(k * gl, dim);            // row k G_c + g: each (j, k) row runs over g
            var dots = dotsBuffer.narrow(0, 0, (long)nq * j * k * gl).view(nq * j, k * gl)
                .addmm_(zq, zg.t(), beta: 0, alpha: 1);                                          // [Q J, K G_c]
            var gNorms = linalg.vector_norm(zg, dims: [1]).pow_(2);
            nint pd = CpuKernels.Address(dots), pgn = CpuKernels.Address(gNorms);
            int offset = g0;
            CpuKernels.ForRowRanges(nq, (q0, q1) => Rows((float*)pd, (float*)pqn, (float*)pgn, (float*)pout + offset, q0, q1, j, k, gl, ng, a, b));
        }
        return result.MoveToOuterDisposeScope();
    }

    static unsafe void Rows(float* dots, float* qNorms, float* gNorms, float* result, int q0, int q1, int nj, int nk, int ng, int resultStride, float a, float b)
    {
        int width = Vector<float>.Count, vectorG = ng - ng % width;
        float eps = (float)SampleDistances.Epsilon, logCount = MathF.Log(nj * nk);
        // Per gallery item of the current query: x*, then the constants of the ratio (see the type's summary).
        var xMax = new float[ng]; var isPositive = new float[ng]; var shiftE = new float[ng]; var sign = new float[ng];
        var c = new float[ng]; var scale = new float[ng]; var sum = new float[ng];
        var va = new Vector<float>(a); var vb = new Vector<float>(b); var veps = new Vector<float>(eps);
        fixed (float* pMax = xMax, pPos = isPositive, pShift = shiftE, pSign = sign, pC = c, pScale = scale, pSum = sum)
        {
            for (int q = q0; q < q1; q++)
            {
                // Pass 1: the smallest squared distance per g gives the largest logit x* (the logit falls with distance).
                new Span<float>(pMax, ng).Fill(float.PositiveInfinity);
                for (int jj = 0; jj < nj; jj++)
                    for (int kk = 0; kk < nk; kk++)
                    {
                        float* row = dots + ((long)q * nj + jj) * nk * ng + (long)kk * ng;
                        float* gn = gNorms + (long)kk * ng;
                        var qn = new Vector<float>(qNorms[q * nj + jj]);
                        int g = 0;
                        for (; g < vectorG; g += width)
                            Vector.Min(Vector.Load(pMax + g), qn + Vector.Load(gn + g) - 2 * Vector.Load(row + g)).Store(pMax + g);
                        for (; g < ng; g++) pMax[g] = Math.Min(pMax[g], qNorms[q * nj + jj] + gn[g] - 2 * row[g]);
                    }
                for (int g = 0; g < ng; g++)
                {
                    float x = -a * MathF.Sqrt(Math.Max(pMax[g], 0) + eps) + b;
                    float e = MathF.Exp(-Math.Abs(x));
                    bool positive = x >= 0;
                    pMax[g] = x;
                    pPos[g] = positive ? 1 : 0;
                    pSign[g] = positive ? -1 : 1;            // t = e^-x (x* >= 0) or e^(x - x*) (x* < 0)
                    pShift[g] = positive ? 0 : x;
                    pC[g] = positive ? 1 : e;
                    pScale[g] = 1 + e;
                    pSum[g] = 0;
                }
                // Pass 2: sum of s(x)/s(x*) = (1 + e) * num / (1 + t C), num = 1 (x* >= 0) or t (x* < 0).
                for (int jj = 0; jj < nj; jj++)
                    for (int kk = 0; kk < nk; kk++)
                    {
                        float* row = dots + ((long)q * nj + jj) * nk * ng + (long)kk * ng;
                        float* gn = gNorms + (long)kk * ng;
                        float qnScalar = qNorms[q * nj + jj];
                        var qn = new Vector<float>(qnScalar);
                        int g = 0;
                        for (; g < vectorG; g += width)
                        {
                            var d2 = Vector.Max(qn + Vector.Load(gn + g) - 2 * Vector.Load(row + g), Vector<float>.Zero);
                            var x = vb - va * Vector.SquareRoot(d2 + veps);
                            var t = Vector.Exp(Vector.Load(pSign + g) * x - Vector.Load(pShift + g));
                            var num = Vector.ConditionalSelect(Vector.GreaterThan(Vector.Load(pPos + g), Vector<float>.Zero), Vector<float>.One, t);
                            (Vector.Load(pSum + g) + Vector.Load(pScale + g) * num / (Vector<float>.One + t * Vector.Load(pC + g))).Store(pSum + g);
                        }
                        for (; g < ng; g++)
                        {
                            float x = b - a * MathF.Sqrt(Math.Max(qnScalar + gn[g] - 2 * row[g], 0) + eps);
                            float t = MathF.Exp(pSign[g] * x - pShift[g]);
                            float num = pPos[g] > 0 ? 1 : t;
                            pSum[g] += pScale[g] * num / (1 + t * pC[g]);
                        }
                    }
                // log p = log s(x*) + log(sum) - log JK, log s(x*) = min(x*, 0) - log(1 + e^-|x*|).
                float* output = result + (long)q * resultStride;
                for (int g = 0; g < ng; g++)
                    output[g] = Math.Min(pMax[g], 0) - MathF.Log(pScale[g]) + MathF.Log(pSum[g]) - logCount;
            }
        }
    }
}
