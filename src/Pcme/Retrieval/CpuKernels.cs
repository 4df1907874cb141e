using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Retrieval;

/// <summary>What the fused CPU kernels share: raw addresses of contiguous CPU tensors, and query rows split over libtorch's threads.</summary>
static class CpuKernels
{
    /// <summary>The address of a contiguous CPU tensor's data (the span TorchSharp hands out points at the native storage).</summary>
    public static unsafe nint Address(Tensor t) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    /// <summary>Calls <paramref name="body"/>(first, end) on contiguous row ranges, one per thread libtorch is allowed (<c>--threads</c>).</summary>
    public static void ForRowRanges(int rows, Action<int, int> body)
    {
        int threads = Math.Max(1, torch.get_num_threads());
        int chunk = Math.Max(1, (rows + threads - 1) / threads);
        Parallel.For(0, (rows + chunk - 1) / chunk, new ParallelOptions { MaxDegreeOfParallelism = threads },
            c => body(c * chunk, Math.Min(rows, (c + 1) * chunk)));
    }
}
