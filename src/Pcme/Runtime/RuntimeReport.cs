using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace Pcme.Runtime;

/// <summary>Everything <c>pcme doctor</c> reports, gathered without throwing.</summary>
public sealed record RuntimeReport(
    string TorchSharpVersion, string? LibtorchVersion, string Backend,
    bool CudaAvailable, int CudaDeviceCount, IReadOnlyList<string> CudaDevices,
    int Threads, int InteropThreads, string Os, string DotNet, string ProcessArchitecture,
    TorchRuntimeStatus Native)
{
    /// <summary>Whether oneDNN serves CPU convolutions (null where libtorch's switch cannot be reached; see <see cref="CpuConvolution"/>).</summary>
    public bool? OneDnn { get; init; }
    /// <summary>Whether training keeps oneDNN off while back-propagating through a ResNet on the CPU (<c>PCME_ONEDNN_BACKWARD</c>).</summary>
    public bool AvoidOneDnnBackward { get; init; } = CpuConvolution.AvoidOneDnnBackward;

    /// <summary>libgomp's wait policy (spinning) as the kit set it before libtorch loaded.</summary>
    public OpenMpWaitSettings OpenMp { get; init; } = OpenMpWait.Current;

    /// <summary>True when tensors can be created and computed with.</summary>
    public bool Works => Native.Loaded;

    /// <summary>Collects the report; never throws (failures land in <see cref="TorchRuntimeStatus.Error"/>).</summary>
    public static RuntimeReport Collect()
    {
        var native = TorchRuntime.Initialize();
        string? libtorch = null; string backend = "unknown";
        bool cuda = false; int count = 0, threads = 0, interop = 0;
        if (native.Loaded)
        {
            try { libtorch = torch.__version__; } catch (Exception) { libtorch = null; }
            backend = BuildInfo.TorchBackend;
            cuda = torch.cuda.is_available();
            count = cuda ? torch.cuda.device_count() : 0;
            threads = torch.get_num_threads();
            interop = torch.get_num_interop_threads();
        }
        return new RuntimeReport(BuildInfo.TorchSharpVersion, libtorch, backend, cuda, count,
            cuda ? CudaDriver.DeviceNames(count) : [], threads, interop,
            RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription,
            RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(), native)
        { OneDnn = native.Loaded ? CpuConvolution.OneDnnEnabled : null };
    }
}

/// <summary>Device names from the CUDA driver API (libtorch exposes none through TorchSharp).</summary>
static class CudaDriver
{
    delegate int CuInit(uint flags);
    delegate int CuDeviceGet(out int device, int ordinal);
    delegate int CuDeviceGetName(byte[] name, int len, int device);

    public static IReadOnlyList<string> DeviceNames(int count)
    {
        var names = new List<string>();
        if (!NativeLibrary.TryLoad("libcuda.so.1", out var h) && !NativeLibrary.TryLoad("nvcuda.dll", out h)) return names;
        try
        {
            var init = Marshal.GetDelegateForFunctionPointer<CuInit>(NativeLibrary.GetExport(h, "cuInit"));
            var get = Marshal.GetDelegateForFunctionPointer<CuDeviceGet>(NativeLibrary.GetExport(h, "cuDeviceGet"));
            var name = Marshal.GetDelegateForFunctionPointer<CuDeviceGetName>(NativeLibrary.GetExport(h, "cuDeviceGetName"));
            if (init(0) != 0) return names;
            for (int i = 0; i < count; i++)
            {
                var buf = new byte[256];
                if (get(out int dev, i) == 0 && name(buf, buf.Length, dev) == 0)
                    names.Add($"cuda:{i} {Encoding.ASCII.GetString(buf).TrimEnd('\0')}");
            }
        }
        catch (EntryPointNotFoundException) { }
        return names;
    }
}
