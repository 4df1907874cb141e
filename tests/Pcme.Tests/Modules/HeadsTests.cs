using Pcme.Modules;
using TorchSharp;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Modules;

[Collection("torch-global")]
public class HeadsTests
{
    static void Set(Tensor? p, double[] values)
    {
        using var _ = no_grad();
        p!.copy_(tensor(values, p.shape, p.dtype));
    }

    [Fact]
    public void Attention_pooling_matches_hand_computed_softmax_and_ignores_padding()
    {
        using var scope = NewDisposeScope();
        var pool = new SelfAttentionPooling(2, 2);
        pool.to(float64);
        Set(pool.w_1.weight, [1, 0, 0, 1]);      // W1 = I
        Set(pool.w_2.weight, [1, -1]);           // score = tanh(x0) - tanh(x1)
        var x = tensor(new double[] { 1, 0, 0, 1, 2, 2, /* pad */ 9, -9 }, [1, 4, 2], float64);
        var mask = tensor(new[] { false, false, false, true }).view(1, 4);
        var (pooled, attn) = pool.forward(x, mask);
        double[] s = [Math.Tanh(1), -Math.Tanh(1), 0];
        double z = s.Sum(Math.Exp);
        double[] a = s.Select(v => Math.Exp(v) / z).ToArray();
        AllClose([a[0] * 1 + a[1] * 0 + a[2] * 2, a[0] * 0 + a[1] * 1 + a[2] * 2], D1(pooled), rel: 1e-12);
        AllClose([a[0], a[1], a[2], 0], D1(attn), rel: 1e-12);
        // The same item without the pad position gives the same result.
        var (unpadded, _) = pool.forward(x.narrow(1, 0, 3), null);
        AllClose(D1(unpadded), D1(pooled), rel: 1e-12);
    }

    [Fact]
    public void Mean_head_is_l2norm_of_layernorm_of_global_plus_sigmoid_fc_of_pooled()
    {
        using var scope = NewDisposeScope();
        var head = new MeanHead(2, 3, 2);
        head.to(float64);
        Set(head.attention.w_1.weight, [0, 0, 0, 0]); // uniform attention -> pooled = mean of cells
        Set(head.attention.w_2.weight, [0, 0]);
        Set(head.fc.weight, [1, 0, 0, 1, 1, 1]);
        Set(head.fc.bias, [0, 0, -1]);
        var g = tensor(new double[] { 0.5, -1, 2 }, [1, 3], float64);
        var local = tensor(new double[] { 1, 3, 3, -1 }, [1, 2, 2], float64);
        var (mu, _) = head.forward(g, local, null);
        double[] pooled = [2, 1];
        double[] r = [pooled[0], pooled[1], pooled[0] + pooled[1] - 1];
        double[] v = [0.5 + Sig(r[0]), -1 + Sig(r[1]), 2 + Sig(r[2])];
        double m = v.Average(), var = v.Select(x => (x - m) * (x - m)).Average();
        double[] ln = v.Select(x => (x - m) / Math.Sqrt(var + 1e-5)).ToArray();     // LayerNorm with default gamma 1, beta 0
        double n = Math.Sqrt(ln.Sum(x => x * x));
        AllClose(ln.Select(x => x / n).ToArray(), D1(mu), rel: 1e-10);
        static double Sig(double x) => 1 / (1 + Math.Exp(-x));
    }

    [Fact]
    public void Image_log_variance_head_is_fc_of_attention_pool_plus_fc2_of_average_pool_without_squashing()
    {
        using var scope = NewDisposeScope();
        var head = new ImageLogVarianceHead(2, 2, 2);
        head.to(float64);
        Set(head.attention.w_1.weight, [0, 0, 0, 0]);
        Set(head.attention.w_2.weight, [0, 0]);
        Set(head.fc.weight, [10, 0, 0, 10]); Set(head.fc.bias, [1, 1]);
        Set(head.fc2.weight, [0, 1, 1, 0]); Set(head.fc2.bias, [-5, 0]);
        var grid = tensor(new double[] { 1, 3, 3, -1 }, [1, 2, 2], float64);
        var avg = grid.mean([1]);
        var (h, _) = head.forward(avg, grid);
        // pooled = avg = (2, 1); h = 10*pooled + 1 + swap(avg) + (-5, 0): unbounded, can be large.
        AllClose([20 + 1 + 1 - 5, 10 + 1 + 2], D1(h), rel: 1e-12);
    }

    [Fact]
    public void Pvse_head_gives_K_unit_embeddings_per_item()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(1);
        var head = new MeanHead(6, 4, 3, embeddings: 3);
        var g = new Generator(2);
        var (mu, attn) = head.forward(randn([5, 4], generator: g), randn([5, 7, 6], generator: g), null);
        Assert.Equal(new long[] { 5, 3, 4 }, mu.shape);
        Assert.Equal(new long[] { 5, 7, 3 }, attn.shape);
        AllClose(Enumerable.Repeat(1.0, 15).ToArray(), D1(mu.norm(2, true).flatten()), rel: 1e-5);
        // Different heads attend differently, so the K embeddings differ.
        Assert.True(mu[.., 0].sub(mu[.., 1]).abs().max().item<float>() > 1e-4);
    }
}
