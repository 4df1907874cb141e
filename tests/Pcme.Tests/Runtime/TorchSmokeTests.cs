using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Tests.Runtime;

/// <summary>Fails if the native library cannot load or compute: tensor math, autograd through a GRU, a ResNet-18 forward.</summary>
[Collection("torch-global")]
public class TorchSmokeTests
{
    [Fact]
    public void Matmul_matches_a_naive_loop()
    {
        var g = new Generator(1);
        using var a = randn([5, 7], dtype: float64, generator: g);
        using var b = randn([7, 3], dtype: float64, generator: g);
        using var c = a.matmul(b);
        double[] av = a.data<double>().ToArray(), bv = b.data<double>().ToArray(), cv = c.data<double>().ToArray();
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 3; j++)
            {
                double s = 0;
                for (int k = 0; k < 7; k++) s += av[i * 7 + k] * bv[k * 3 + j];
                Assert.Equal(s, cv[i * 3 + j], 12);
            }
    }

    [Fact]
    public void Autograd_through_a_GRU_matches_finite_differences()
    {
        torch.manual_seed(3);
        using var gru = nn.GRU(4, 3, batchFirst: true);
        gru.to(float64);
        var g = new Generator(5);
        using var x = randn([2, 6, 4], dtype: float64, generator: g).requires_grad_(true);
        Func<Tensor, Tensor> f = input => gru.forward(input).Item1.pow(2).sum();
        using (var y = f(x)) y.backward();
        var grad = x.grad!.data<double>().ToArray();
        Assert.Contains(grad, v => Math.Abs(v) > 1e-6);
        const double h = 1e-6;
        foreach (int idx in new[] { 0, 7, 23, 47 })
        {
            using var noGrad = torch.no_grad();
            var flat = x.detach().clone().flatten();
            flat[idx] += h; double plus = f(flat.reshape(2, 6, 4)).item<double>();
            flat[idx] -= 2 * h; double minus = f(flat.reshape(2, 6, 4)).item<double>();
            Assert.Equal((plus - minus) / (2 * h), grad[idx], 6);
        }
    }

    [Fact]
    public void TorchVision_resnet18_forward_on_cpu()
    {
        torch.manual_seed(0);
        using var model = torchvision.models.resnet18(num_classes: 10);
        model.eval();
        using var x = randn([2, 3, 64, 64], generator: new Generator(2));
        using var y = model.forward(x);
        Assert.Equal(new long[] { 2, 10 }, y.shape);
        Assert.True(y.isfinite().all().item<bool>());
        Assert.True(y[0].sub(y[1]).abs().max().item<float>() > 0, "different inputs must give different outputs");
    }
}
