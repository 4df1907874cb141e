using Pcme.Modules;
using TorchSharp;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Modules;

[Collection("torch-global")]
public class EncodersTests
{
    [Fact]
    public void Caption_outputs_do_not_depend_on_padding_or_on_the_other_captions_in_the_batch()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        var enc = new CaptionEncoder(20, 8, 6);
        enc.eval();
        var tokens = tensor(new long[] { 1, 5, 7, 2, 0, 0, 1, 4, 9, 11, 12, 2 }, [2, 6]);
        var lengths = tensor(new long[] { 4, 6 });
        var both = enc.forward(tokens, lengths);
        var alone = enc.forward(tensor(new long[] { 1, 5, 7, 2 }, [1, 4]), tensor(new long[] { 4 }));
        var longerPad = enc.forward(tensor(new long[] { 1, 5, 7, 2, 0, 0, 0, 0, 0 }, [1, 9]), tensor(new long[] { 4 }));
        AllClose(D1(alone.Embedding.Mean), D1(both.Embedding.Mean[0]), rel: 1e-5, abs: 1e-6);
        AllClose(D1(alone.Embedding.LogVariance), D1(both.Embedding.LogVariance[0]), rel: 1e-5, abs: 1e-6);
        AllClose(D1(alone.Embedding.Mean), D1(longerPad.Embedding.Mean), rel: 1e-5, abs: 1e-6);
        AllClose(D1(alone.Embedding.LogVariance), D1(longerPad.Embedding.LogVariance), rel: 1e-5, abs: 1e-6);
        // Attention over padding is exactly zero.
        Assert.Equal(0f, both.MeanAttention[0, 4, 0].item<float>());
        Assert.Equal(0f, both.VarianceAttention![0, 5, 0].item<float>());
    }

    [Fact]
    public void Last_valid_step_equals_running_the_gru_on_the_unpadded_sequence()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(4);
        var gru = nn.GRU(3, 2, bidirectional: true, batchFirst: true);
        var g = new Generator(5);
        var x = randn([2, 5, 3], generator: g);
        var last = Sequences.LastValidStep(gru, x, tensor(new long[] { 3, 5 }));
        var (out0, _) = gru.forward(x[0..1, 0..3], null);
        var (out1, _) = gru.forward(x[1..2], null);
        AllClose(D1(out0[0, 2]), D1(last[0]), rel: 1e-5, abs: 1e-6);
        AllClose(D1(out1[0, 4]), D1(last[1]), rel: 1e-5, abs: 1e-6);
    }

    [Fact]
    public void Image_encoder_from_grid_equals_the_full_forward_and_the_frozen_backbone_gets_no_gradient()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        var enc = new ImageEncoder(new SmallCnn(8), 10);
        enc.eval();
        var images = randn([3, 3, 32, 32], generator: new Generator(1));
        var full = enc.forward(images);
        var fromGrid = enc.FromGrid(enc.cnn.forward(images));
        AllClose(D1(full.Embedding.Mean), D1(fromGrid.Embedding.Mean), rel: 1e-6, abs: 1e-7);
        Assert.Equal(new long[] { 3, 10 }, full.Embedding.Mean.shape);
        Assert.Equal(new long[] { 3, 16, 1 }, full.MeanAttention.shape); // 4 x 4 grid cells
        AllClose([1, 1, 1], D1(full.Embedding.Mean.norm(1)), rel: 1e-5);

        enc.train();
        var o = enc.forward(images);
        o.Embedding.Mean.sum().add(o.Embedding.LogVariance.sum()).backward();
        Assert.All(enc.cnn.parameters(), p => Assert.Null(p.grad));
        Assert.NotNull(enc.fc.weight.grad);
        Assert.NotNull(enc.uncertain_net!.fc2.weight.grad);
        enc.SetBackboneTrainable(true);
        Assert.All(enc.cnn.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Model_state_dict_keys_follow_the_official_names()
    {
        using var scope = NewDisposeScope();
        var model = new PcmeModel(new ImageEncoder(new SmallCnn(8), 10), new CaptionEncoder(30, 8, 10));
        var keys = model.state_dict().Keys.ToHashSet();
        foreach (var k in new[]
        {
            "img_enc.fc.weight", "img_enc.pie_net.attention.w_1.weight", "img_enc.pie_net.attention.w_2.weight",
            "img_enc.pie_net.fc.bias", "img_enc.pie_net.layer_norm.weight", "img_enc.uncertain_net.fc.weight",
            "img_enc.uncertain_net.fc2.weight", "txt_enc.embed.weight", "txt_enc.rnn.weight_ih_l0", "txt_enc.rnn.weight_hh_l0_reverse",
            "txt_enc.pie_net.fc.weight", "txt_enc.uncertain_net.attention.w_1.weight", "txt_enc.uncertain_net.rnn.weight_ih_l0",
        })
            Assert.Contains(k, keys);
    }

    [Fact]
    public void Mu_only_model_has_no_variance_heads_and_returns_point_masses()
    {
        using var scope = NewDisposeScope();
        var enc = new CaptionEncoder(10, 4, 6, probabilistic: false);
        Assert.Null(enc.uncertain_net);
        var o = enc.forward(tensor(new long[] { 1, 4, 2 }, [1, 3]), tensor(new long[] { 3 }));
        Assert.True(o.Embedding.LogVariance.max().item<float>() < -20);
        Assert.Null(o.VarianceAttention);
    }
}
