using Pcme.Runtime;
using TorchSharp;

namespace Pcme.Tests.Runtime;

public class DeviceResolverTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("CPU")]
    [InlineData(" cpu ")]
    public void Cpu_names_resolve_to_cpu(string name) =>
        Assert.Equal(DeviceType.CPU, DeviceResolver.Resolve(name).type);

    [Theory]
    [InlineData("auto")]
    [InlineData(null)]
    [InlineData("")]
    public void Auto_picks_cuda_only_when_available(string? name)
    {
        var d = DeviceResolver.Resolve(name);
        Assert.Equal(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, d.type);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("cuda:0")]
    [InlineData("cuda:7")]
    public void Cuda_without_a_gpu_is_a_clear_error(string name)
    {
        if (torch.cuda.is_available()) return;
        var e = Assert.Throws<ArgumentException>(() => DeviceResolver.Resolve(name));
        Assert.Contains("CUDA is not available", e.Message);
        Assert.Contains(name, e.Message);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("mps")]
    public void Unknown_names_are_rejected_with_the_valid_choices(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => DeviceResolver.Resolve(name));
        Assert.Contains(name, e.Message);
        Assert.True(e.Message.Contains("auto, cpu, cuda or cuda:N") || e.Message.Contains("non-negative integer") || e.Message.Contains("CUDA is not available"), e.Message);
    }
}
