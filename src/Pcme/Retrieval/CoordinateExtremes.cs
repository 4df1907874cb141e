using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>
/// The per-pair extreme coordinate of the squared mean difference that the official <c>min_dist</c> /
/// <c>max_dist</c> take (<see cref="OfficialCoordinateExtremeScorer"/>): min_d or max_d (a_i,d - b_j,d)^2 for
/// every pair, [Q, G]. Broadcasting it in libtorch materialises a [Q, G, D] temporary; the CPU kernel here is one
/// SIMD pass in cache-sized gallery tiles. Other devices and dtypes, and non-finite means, use the broadcast form.
/// </summary>
public static class CoordinateExtremes
{
    const int GalleryTile = 64;   // 64 items x D floats stay in L2 at D = 1024.

    /// <summary>max_d (when <paramref name="largest"/>) or min_d of (a_i,d - b_j,d)^2, [A, B], same dtype and device as the inputs.</summary>
    public static Tensor Compute(Tensor a, Tensor b, bool largest) =>
        CanUseKernel(a, b) ? Kernel(a, b, largest) : Broadcast(a, b, largest);

    /// <summary>The libtorch broadcast form, a [A, B, D] temporary (the reference and the GPU path).</summary>
    public static Tensor Broadcast(Tensor a, Tensor b, bool largest)
    {
        var diff2 = a.unsqueeze(1).sub(b.unsqueeze(0)).pow_(2);
        return largest ? diff2.amax([2]) : diff2.amin([2]);
    }

    /// <summary>Whether <see cref="Compute"/> takes the fused CPU kernel for these inputs.</summary>
    public static bool CanUseKernel(Tensor a, Tensor b) =>
        a.device_type == DeviceType.CPU && b.device_type == DeviceType.CPU
        && a.dtype == ScalarType.Float32 && b.dtype == ScalarType.Float32 && a.shape[1] > 0
        && Finite(a) && Finite(b);

    // SIMD min/max do not propagate NaN the way amin/amax do: non-finite inputs take the broadcast form.
    static bool Finite(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.numel() == 0 || t.isfinite().all().item<bool>();
    }

    static unsafe Tensor Kernel(Tensor a, Tensor b, bool largest)
    {
        int na = (int)a.shape[0], nb = (int)b.shape[0], dim = (int)a.shape[1];
        using var scope = NewDisposeScope();
        var ac = a.contiguous(); var bc = b.contiguous();
        var result = empty([na, nb], float32);
        nint pa = CpuKernels.Address(ac), pb = CpuKernels.Address(bc), pout = CpuKernels.Address(result);
        // min_d x = -max_d(-x): one kernel, the sign applied to each squared difference.
        float sign = largest ? 1 : -1;
        CpuKernels.ForRowRanges(na, (i0, i1) => Rows((float*)pa, (float*)pb, (float*)pout, i0, i1, nb, dim, sign));
        return result.MoveToOuterDisposeScope();
    }

    static unsafe void Rows(float* a, float* b, float* result, int i0, int i1, int nb, int dim, float sign)
    {
        int width = Vector<float>.Count, vectorDim = dim - dim % width;
        var signs = new Vector<float>(sign);
        for (int t0 = 0; t0 < nb; t0 += GalleryTile)
        {
            int t1 = Math.Min(nb, t0 + GalleryTile);
            for (int i = i0; i < i1; i++)
            {
                float* ai = a + (long)i * dim;
                for (int j = t0; j < t1; j++)
                {
                    float* bj = b + (long)j * dim;
                    var acc = new Vector<float>(float.NegativeInfinity);
                    for (int d = 0; d < vectorDim; d += width)
                    {
                        var diff = Vector.Load(ai + d) - Vector.Load(bj + d);
                        acc = Vector.Max(acc, diff * diff * signs);
                    }
                    float best = float.NegativeInfinity;
                    for (int l = 0; l < width; l++) best = Math.Max(best, acc[l]);
                    for (int d = vectorDim; d < dim; d++)
                    {
                        float diff = ai[d] - bj[d];
                        best = Math.Max(best, diff * diff * sign);
                    }
                    result[(long)i * nb + j] = best * sign;
                }
            }
        }
    }
}
