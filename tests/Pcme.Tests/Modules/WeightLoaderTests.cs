using Pcme.Modules;
using TorchSharp;
using TorchSharp.PyBridge;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Modules;

[Collection("torch-global")]
public class WeightLoaderTests
{
    static string Temp(string ext) => Path.Combine(Path.GetTempPath(), $"pcme-w-{Guid.NewGuid():N}{ext}");

    [Theory]
    [InlineData(".pth")]
    [InlineData(".safetensors")]
    public void A_saved_resnet_state_dict_loads_back_and_reproduces_the_outputs(string ext)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(11);
        var a = new ResNetGrid("resnet18"); a.eval();
        torch.manual_seed(12);
        var b = new ResNetGrid("resnet18"); b.eval();
        var x = randn([1, 3, 64, 64], generator: new Generator(3));
        Assert.True(a.forward(x).sub(b.forward(x)).abs().max().item<float>() > 1e-3, "differently seeded nets differ");
        string path = Temp(ext);
        try
        {
            WeightLoader.Save(a, path);
            var report = WeightLoader.Load(b, path, strict: true);
            Assert.Empty(report.Missing); Assert.Empty(report.Unexpected);
            Assert.Equal(a.state_dict().Count, report.Loaded.Count);
            Assert.Equal(new long[] { 1, 512, 2, 2 }, b.forward(x).shape);
            AllClose(D1(a.forward(x)), D1(b.forward(x)), rel: 1e-6, abs: 1e-6);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_full_torchvision_file_reports_the_classifier_as_unexpected_and_loads_into_a_prefixed_place()
    {
        using var scope = NewDisposeScope();
        var torchvisionNet = torchvision.models.resnet18(num_classes: 1000);
        string path = Temp(".pth");
        try
        {
            torchvisionNet.save_py(path);
            var enc = new ImageEncoder(new ResNetGrid("resnet18"), 16);
            var report = WeightLoader.Load(enc, path, targetPrefix: "cnn.");
            Assert.Contains("cnn.fc.weight", report.Unexpected);
            Assert.Contains("cnn.fc.bias", report.Unexpected);
            Assert.Contains("pie_net.fc.weight", report.Missing);
            Assert.DoesNotContain(report.Missing, k => k.StartsWith("cnn.", StringComparison.Ordinal));
            AllClose(D1(torchvisionNet.state_dict()["layer4.1.conv2.weight"]), D1(enc.state_dict()["cnn.layer4.1.conv2.weight"]));
            Assert.Contains("unexpected", report.ToString());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Wrong_shapes_missing_files_and_garbage_are_clear_errors()
    {
        using var scope = NewDisposeScope();
        string path = Temp(".safetensors");
        try
        {
            new SmallCnn(8).save_safetensors(path);
            var e = Assert.Throws<WeightFileException>(() => WeightLoader.Load(new SmallCnn(16), path));
            Assert.Contains(path, e.Message);
            Assert.Contains("features.conv1.weight", e.Message);
            Assert.Contains("[8, 3, 3, 3]", e.Message);

            var strict = Assert.Throws<WeightFileException>(() => WeightLoader.Load(new ImageEncoder(new SmallCnn(8), 4), path, strict: true));
            Assert.Contains("missing", strict.Message);
        }
        finally { File.Delete(path); }

        var missing = Assert.Throws<WeightFileException>(() => WeightLoader.Read("/nonexistent/weights.pth"));
        Assert.Contains("/nonexistent/weights.pth", missing.Message);
        string garbage = Temp(".pth");
        File.WriteAllText(garbage, "definitely not a pickle");
        try
        {
            var g = Assert.Throws<WeightFileException>(() => WeightLoader.Read(garbage));
            Assert.Contains(garbage, g.Message);
        }
        finally { File.Delete(garbage); }
    }
}
