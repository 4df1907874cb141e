using System.Runtime.InteropServices;

namespace Pcme.Runtime;

/// <summary>
/// libtorch's choice of CPU convolution kernels: oneDNN (mkldnn) and NNPACK, or its own im2col + GEMM.
/// TorchSharp has no switch for them, so this calls <c>at::globalContext().setUserEnabledMkldnn</c> and
/// <c>setUserEnabledNNPACK</c> in libtorch_cpu directly (Linux x64 symbol names; elsewhere it reports
/// itself unavailable and changes nothing).
/// <para>
/// Why: with TorchSharp 0.107 / libtorch 2.10, the backward pass of a torchvision ResNet-50 on an AVX-512
/// CPU (this repository's AMD EPYC) kills the process with SIGFPE — an integer division by zero inside
/// oneDNN's <c>brgemm_convolution_bwd_utils::brg_blocking_t::est_eff_1x1</c>, reached from the strided 1x1
/// downsampling convolutions, at any batch size. Forward passes are unaffected. The trainer therefore
/// turns oneDNN off while it back-propagates through a ResNet on the CPU (about 3x slower for those
/// convolutions, measured on ResNet-18), unless <c>PCME_ONEDNN_BACKWARD=on</c> says the CPU is known good.
/// </para>
/// </summary>
public static class CpuConvolution
{
    delegate IntPtr GlobalContext();
    delegate void SetFlag(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);
    [return: MarshalAs(UnmanagedType.U1)] delegate bool GetFlag(IntPtr context);

    sealed record Flags(IntPtr Context, GetFlag GetOneDnn, SetFlag SetOneDnn, GetFlag GetNnpack, SetFlag SetNnpack);

    static readonly Lazy<Flags?> flags = new(Bind);

    static Flags? Bind()
    {
        var status = TorchRuntime.EnsureLoaded();
        if (status.NativeDirectory is not { } dir || !NativeLibrary.TryLoad(Path.Combine(dir, "libtorch_cpu.so"), out var lib)) return null;
        T? Export<T>(string name) where T : Delegate =>
            NativeLibrary.TryGetExport(lib, name, out var p) ? Marshal.GetDelegateForFunctionPointer<T>(p) : null;
        var context = Export<GlobalContext>("_ZN2at13globalContextEv");
        var getOneDnn = Export<GetFlag>("_ZNK2at7Context17userEnabledMkldnnEv");
        var setOneDnn = Export<SetFlag>("_ZN2at7Context20setUserEnabledMkldnnEb");
        var getNnpack = Export<GetFlag>("_ZNK2at7Context17userEnabledNNPACKEv");
        var setNnpack = Export<SetFlag>("_ZN2at7Context20setUserEnabledNNPACKEb");
        if (context is null || getOneDnn is null || setOneDnn is null || getNnpack is null || setNnpack is null) return null;
        return new Flags(context(), getOneDnn, setOneDnn, getNnpack, setNnpack);
    }

    /// <summary>Whether this process can switch the kernels (libtorch_cpu exports the switches).</summary>
    public static bool Available => flags.Value is not null;

    /// <summary>Whether oneDNN serves CPU convolutions; null where <see cref="Available"/> is false.</summary>
    public static bool? OneDnnEnabled => flags.Value is { } f ? f.GetOneDnn(f.Context) : null;

    /// <summary>Whether the trainer keeps oneDNN off while back-propagating through a ResNet (see the type's summary).</summary>
    public static bool AvoidOneDnnBackward => Environment.GetEnvironmentVariable("PCME_ONEDNN_BACKWARD") != "on";

    /// <summary>
    /// Uses libtorch's own convolution kernels (oneDNN and NNPACK off — NNPACK only warns on every call on
    /// CPUs it does not support) until the result is disposed, then restores the previous flags.
    /// Process-wide: it affects every thread's CPU convolutions meanwhile.
    /// </summary>
    public static IDisposable UseNativeKernels()
    {
        if (flags.Value is not { } f) return new Restore(null, false, false);
        var restore = new Restore(f, f.GetOneDnn(f.Context), f.GetNnpack(f.Context));
        f.SetOneDnn(f.Context, false);
        f.SetNnpack(f.Context, false);
        return restore;
    }

    sealed class Restore(Flags? f, bool oneDnn, bool nnpack) : IDisposable
    {
        bool done;
        public void Dispose()
        {
            if (done || f is null) return;
            done = true;
            f.SetOneDnn(f.Context, oneDnn);
            f.SetNnpack(f.Context, nnpack);
        }
    }
}
