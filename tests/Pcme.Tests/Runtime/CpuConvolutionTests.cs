using Pcme.Runtime;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Runtime;

[Collection("torch-global")]   // the kernel switch is process-wide
public class CpuConvolutionTests
{
    [Fact]
    public void Native_kernels_switch_off_onednn_restore_it_and_compute_the_same_convolution()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(CpuConvolution.Available);
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var x = randn([2, 16, 9, 9], generator: g); var w = randn([24, 16, 3, 3], generator: g); var w1 = randn([32, 16, 1, 1], generator: g);
        Assert.True(CpuConvolution.OneDnnEnabled);
        var viaOneDnn = D1(nn.functional.conv2d(x, w, padding: [1, 1])); var stridedOneDnn = D1(nn.functional.conv2d(x, w1, strides: [2, 2]));
        double[] viaNative, stridedNative;
        using (CpuConvolution.UseNativeKernels())
        {
            Assert.False(CpuConvolution.OneDnnEnabled);
            viaNative = D1(nn.functional.conv2d(x, w, padding: [1, 1])); stridedNative = D1(nn.functional.conv2d(x, w1, strides: [2, 2]));
        }
        Assert.True(CpuConvolution.OneDnnEnabled);
        AllClose(viaOneDnn, viaNative, rel: 1e-4, abs: 1e-4);
        AllClose(stridedOneDnn, stridedNative, rel: 1e-4, abs: 1e-4);
    }
}
