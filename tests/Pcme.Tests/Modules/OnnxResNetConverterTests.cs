using System.Reflection;
using Tensor = TorchSharp.torch.Tensor;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Onnx;
using Pcme.Data;
using Xunit.Abstractions;
using Pcme.Modules;
using Pcme.Tests.Data;
using static TorchSharp.torch;

namespace Pcme.Tests.Modules;

/// <summary>
/// The NuGet package's ResNet-18 ONNX (restored by the test project's PackageDownload), converted once per test
/// run into a temporary folder, and its parsed graph for the tests that edit it.
/// </summary>
public sealed class ResNet18OnnxFixture : IDisposable
{
    /// <summary>The NuGet cache this test project restored into (MSBuild's NuGetPackageRoot).</summary>
    public static string PackagesRoot => typeof(ResNet18OnnxFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "NuGetPackageRoot").Value!;

    public string Model { get; }
    public string Preprocess { get; }
    public string Folder { get; } = Directory.CreateTempSubdirectory("pcme-onnx-").FullName;
    public PretrainedWeights Weights { get; }
    public TimeSpan ConversionTime { get; }
    readonly Lazy<ModelProto> graph;
    public ModelProto Graph => graph.Value;

    public ResNet18OnnxFixture()
    {
        // The shorthand must find what the restore put there (no skip: the project restores it).
        Model = PretrainedBackbones.FindInNuGetCache(OnnxResNetConverter.NuGetShorthand, PackagesRoot);
        Preprocess = OnnxResNetConverter.FindPreprocess(Model);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Weights = PretrainedBackbones.Resolve(OnnxResNetConverter.NuGetShorthand, Path.Combine(Folder, "cache"), PackagesRoot);
        ConversionTime = clock.Elapsed;
        graph = new(() => OnnxResNetConverter.ReadModel(Model));
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

[Collection("torch-global")]
public class OnnxResNetConverterTests(ResNet18OnnxFixture onnx, ITestOutputHelper output) : IClassFixture<ResNet18OnnxFixture>
{
    const string GridOutput = "ReLU393_Output_0";

    /// <summary>A photo-like test image: smooth colour gradients, a few discs and stripes (rendered, encoded, decoded).</summary>
    static (byte, byte, byte) Scene(int x, int y, int seed)
    {
        double r = 128 + 100 * Math.Sin((x + 13 * seed) / 23.0) * Math.Cos(y / 31.0);
        double g = 40 + 0.6 * y + 30 * ((x / 17 + y / 19 + seed) % 2);
        double b = Math.Pow(x - 120 - 10 * seed, 2) + Math.Pow(y - 90, 2) < 2500 ? 230 : 60 + 0.4 * x;
        static byte B(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
        return (B(r), B(g), B(b));
    }

    static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    static float[] Floats(Tensor t) => t.to(float32).cpu().contiguous().data<float>().ToArray();

    /// <summary>Runs <paramref name="model"/> in ONNX Runtime with the listed extra outputs made graph outputs.</summary>
    static Dictionary<string, float[]> RunOrt(ModelProto model, string input, float[] values, int[] shape, params string[] extraOutputs)
    {
        var edited = model.Clone();
        foreach (var name in extraOutputs) edited.Graph.Output.Add(new ValueInfoProto { Name = name });
        using var session = new InferenceSession(edited.ToByteArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor(values, shape))]);
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }

    [Fact]
    public void Converted_resnet18_equals_onnx_runtime_on_decoded_images_and_its_grid_cache_holds_those_grids()
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        // Real files: a PNG and a JPEG, not square, so the eval transform resizes and crops.
        string[] files =
        [
            folder.WriteBytes("scene.png", ImageFiles.Png(300, 260, (x, y) => Scene(x, y, 0))),
            folder.WriteBytes("scene.jpg", ImageFiles.Jpeg(260, 320, (x, y) => Scene(x, y, 3))),
        ];
        var info = onnx.Weights.Info!;
        output.WriteLine($"conversion (parse, map, check, write): {onnx.ConversionTime.TotalSeconds:F1} s");
        Assert.Equal(ResNetGrid.CntkResNet18, info.Kind);      // CNTK's ResNet-18: a third basic block in layer4
        Assert.Equal(CaffeBgrMean.Name, info.Normalize);
        Assert.Equal((224, 224), (info.InputHeight, info.InputWidth));
        Assert.Equal(GridOutput, info.GridOutput);
        Assert.Equal(1e-5, info.BatchNormEpsilon, 1e-9);
        Assert.Equal(110, info.Tensors.Count);         // 22 convolutions + 22 batch norms x 4: every initializer of the graph
        Assert.Contains(info.Tensors, t => t.Key == "layer4.2.bn2.running_var");

        var net = new ResNetGrid(ResNetGrid.CntkResNet18);
        var report = WeightLoader.Load(net, onnx.Weights.WeightsPath, strict: true);
        Assert.Equal(net.state_dict().Count, report.Loaded.Count);
        net.eval();
        var caffe = CaffeBgrMean.Load(onnx.Weights.MeanImagePath!);
        var kitPipeline = ImagePipeline.Eval(256, 224).WithNormalization(caffe);
        var pixels = new ImagePipeline(new ResizeShorterSide(256), new CenterCrop(224));   // what ORT gets, RGB in [0, 1]

        var prep = OnnxResNetConverter.ReadModel(onnx.Preprocess);
        var ortGrids = new List<float[]>();
        var kitInputs = new List<Tensor>();
        foreach (var file in files)
        {
            var rgb = Floats(pixels.Load(file, new Random(0))).Select(v => v * 255f).ToArray();
            var ortInput = RunOrt(prep, "OriginalInput", rgb, [1, 3, 224, 224])["PreprocessedInput"];
            var outputs = RunOrt(onnx.Graph, "Input247", ortInput, [1, 3, 224, 224], GridOutput);
            var kitInput = kitPipeline.Load(file, new Random(0));
            // The kit's caffe-bgr-mean against the package's own preprocessing graph (0-255 scale).
            Assert.True(MaxAbsDiff(Floats(kitInput), ortInput) <= 1e-3, "preprocessing differs");
            using (no_grad())
            {
                var grid = net.forward(kitInput.unsqueeze(0));
                Assert.Equal(new long[] { 1, 512, 7, 7 }, grid.shape);
                var ortGrid = outputs[GridOutput];
                double scale = ortGrid.Max(Math.Abs);
                double diff = MaxAbsDiff(Floats(grid), ortGrid);
                Assert.True(scale > 1, $"grid scale {scale}: the weights did not load");
                output.WriteLine($"{Path.GetFileName(file)}: max |kit - ORT| = {diff:E3}, grid scale {scale:F4}, relative {diff / scale:E2}; preprocessing max diff {MaxAbsDiff(Floats(kitInput), ortInput):E2}");
                Assert.True(diff <= 1e-4 * scale, $"max |kit - ORT| = {diff:E3} at grid scale {scale:F3} ({diff / scale:E2} relative)");
                // The graph's own output, the 7 x 7 average pool, is the kit's global average of the same grid.
                Assert.True(MaxAbsDiff(Floats(grid.mean([2, 3])), outputs["Pooling395_Output_0"]) <= 1e-4 * scale);
            }
            ortGrids.Add(outputs[GridOutput]);
            kitInputs.Add(kitInput);
        }

        // The frozen-backbone grid cache built from the converted network holds ORT's grids (to float16 precision).
        var batch = stack(kitInputs);
        using var cache = GridFeatureCache.Build(net, ["png", "jpg"], rows => batch.index_select(0, tensor(rows.Select(r => (long)r).ToArray())),
            Path.Combine(folder.Root, "grids", "resnet18"), 1, CPU);
        Assert.Equal((512L, 7L, 7L), (cache.Header.Channels, cache.Header.Height, cache.Header.Width));
        for (int i = 0; i < 2; i++)
        {
            var cached = Floats(cache.ReadIds([i == 0 ? "png" : "jpg"]));
            double scale = ortGrids[i].Max(Math.Abs);
            Assert.True(MaxAbsDiff(cached, ortGrids[i]) <= 1e-3 * scale, $"cached grid {i} differs from ORT beyond float16 precision");
        }
    }

    [Fact]
    public void Conversion_is_cached_by_content_and_the_converted_file_carries_its_preprocessing()
    {
        string cache = Path.Combine(onnx.Folder, "cache");
        var again = PretrainedBackbones.Resolve(onnx.Model, cache);
        Assert.Equal(onnx.Weights.WeightsPath, again.WeightsPath);
        Assert.Equal(File.GetLastWriteTimeUtc(onnx.Weights.WeightsPath), File.GetLastWriteTimeUtc(again.WeightsPath));   // not rewritten
        Assert.Contains(OnnxResNetConverter.Sha256(onnx.Model)[..16], Path.GetFileName(again.WeightsPath));
        // The .safetensors alone (copied elsewhere with its .json and mean image) still selects caffe-bgr-mean.
        var direct = PretrainedBackbones.Resolve(onnx.Weights.WeightsPath);
        Assert.Equal(CaffeBgrMean.Name, direct.Normalize);
        Assert.Equal(onnx.Weights.MeanImagePath, direct.MeanImagePath);
        // Per-channel means of the package's mean image, BGR: close to Caffe's classic (104, 117, 123).
        var mean = onnx.Weights.Info!.ChannelMean;
        Assert.InRange(mean[0], 100, 106); Assert.InRange(mean[1], 113, 119); Assert.InRange(mean[2], 120, 126);
    }

    static WeightFileException ConvertFails(string model, string folder, string? preprocess = null) =>
        Assert.Throws<WeightFileException>(() => OnnxResNetConverter.Convert(model, Path.Combine(folder, "out"), preprocess));

    string WriteEdited(TempFolder folder, string name, Action<GraphProto> edit)
    {
        var model = onnx.Graph.Clone();
        edit(model.Graph);
        return folder.WriteBytes(name, model.ToByteArray());
    }

    [Fact]
    public void Models_that_do_not_map_are_refused_in_one_line_naming_the_file_and_the_node()
    {
        using var folder = new TempFolder();
        void OneLine(Exception e, params string[] needles)
        {
            Assert.DoesNotContain('\n', e.Message);
            foreach (var n in needles) Assert.Contains(n, e.Message);
        }
        // Another ONNX model: the package's preprocessing graph.
        OneLine(ConvertFails(onnx.Preprocess, folder.Root), onnx.Preprocess, "Split", "Only an ImageNet ResNet-18 converts");
        // A truncated file and a file that is not ONNX at all.
        var bytes = File.ReadAllBytes(onnx.Model);
        OneLine(ConvertFails(folder.WriteBytes("half.onnx", bytes[..(bytes.Length / 2)]), folder.Root), "half.onnx", "truncated");
        OneLine(ConvertFails(folder.Write("notes.onnx", "not a model\n"), folder.Root), "notes.onnx");
        OneLine(Assert.Throws<WeightFileException>(() => OnnxResNetConverter.ReadModel(folder.PathOf("missing.onnx"))), "missing.onnx", "dotnet restore");

        // A shape that does not map: layer1.0.conv1 made a 1 x 1 convolution (weights and attributes consistent).
        string oneByOne = WriteEdited(folder, "one-by-one.onnx", g =>
        {
            var conv = g.Node.Single(n => n.Name == "Convolution257");
            var w = g.Initializer.Single(t => t.Name == conv.Input[1]);
            var data = w.FloatData.Take(64 * 64).ToArray();
            w.FloatData.Clear(); w.FloatData.Add(data);
            w.Dims.Clear(); w.Dims.Add([64, 64, 1, 1]);
            conv.Attribute.Single(a => a.Name == "kernel_shape").Ints.Clear();
            conv.Attribute.Single(a => a.Name == "kernel_shape").Ints.Add([1, 1]);
            conv.Attribute.Single(a => a.Name == "pads").Ints.Clear();
            conv.Attribute.Single(a => a.Name == "pads").Ints.Add([0, 0, 0, 0]);
        });
        OneLine(ConvertFails(oneByOne, folder.Root, onnx.Preprocess), "one-by-one.onnx", "layer1.0.conv1.weight", "[64, 64, 1, 1]", "[64, 64, 3, 3]");

        // A batch-norm epsilon torchvision does not compute with.
        string eps = WriteEdited(folder, "eps.onnx", g => g.Node.First(n => n.OpType == "BatchNormalization").Attribute.Single(a => a.Name == "epsilon").F = 1e-3f);
        OneLine(ConvertFails(eps, folder.Root, onnx.Preprocess), "BatchNormalization251", "bn1", "epsilon 0.001");

        // A stride torchvision's ResNet-18 does not have (layer2.0.conv1 at stride 1).
        string stride = WriteEdited(folder, "stride.onnx", g =>
        {
            var s = g.Node.Single(n => n.Name == "Convolution285").Attribute.Single(a => a.Name == "strides");
            s.Ints.Clear(); s.Ints.Add([1, 1]);
        });
        OneLine(ConvertFails(stride, folder.Root, onnx.Preprocess), "Convolution285", "layer2.0.conv1", "strides [1, 1]");

        // CNTK's trailing pads equal torchvision's symmetric ones only at even sizes: an input of 225 is refused.
        string odd = WriteEdited(folder, "odd.onnx", g => g.Input[0].Type.TensorType.Shape.Dim[2].DimValue = 225);
        OneLine(ConvertFails(odd, folder.Root, onnx.Preprocess), "Convolution249", "conv1", "225 rows");

        // Nothing was written for any refused model.
        Assert.False(File.Exists(Path.Combine(folder.Root, "out.safetensors")));
    }

    [Fact]
    public void The_nuget_shorthand_names_the_fetch_command_when_the_package_is_absent()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<WeightFileException>(() => PretrainedBackbones.FindInNuGetCache(OnnxResNetConverter.NuGetShorthand, folder.Root));
        Assert.Contains("dotnet restore data/pretrained", e.Message);
        e = Assert.Throws<WeightFileException>(() => PretrainedBackbones.FindInNuGetCache("nuget:Some.Other.Package/1.0", folder.Root));
        Assert.Contains(OnnxResNetConverter.NuGetShorthand, e.Message);
        // Without a version the highest one present is used.
        Assert.Equal(onnx.Model, PretrainedBackbones.FindInNuGetCache("nuget:" + OnnxResNetConverter.PackageId, ResNet18OnnxFixture.PackagesRoot));
    }
}

[Collection("torch-global")]
public class CntkResNet18LayoutTests
{
    [Fact]
    public void The_cntk_layout_is_torchvisions_resnet18_plus_one_block_and_computes_like_it()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var torchvision = new ResNetGrid("resnet18");
        var cntk = new ResNetGrid(ResNetGrid.CntkResNet18);
        var tv = torchvision.state_dict();
        var ck = cntk.state_dict();
        foreach (var (key, t) in tv) Assert.Equal(t.shape, ck[key].shape);
        Assert.Equal(["layer4.2.bn1", "layer4.2.bn2", "layer4.2.conv1", "layer4.2.conv2"],
            ck.Keys.Except(tv.Keys).Select(k => string.Join('.', k.Split('.')[..3])).Distinct().Order());
        // Random but non-trivial BN statistics, so eval-mode BN is not the identity.
        using (no_grad())
            foreach (var (key, t) in tv)
                if (key.EndsWith("running_var")) t.copy_(rand(t.shape).add(0.5));
                else if (key.EndsWith("running_mean")) t.copy_(randn(t.shape).mul(0.1));
        string file = SaveTemp(torchvision);
        try { WeightLoader.Load(cntk, file); } finally { File.Delete(file); }
        // layer4.2 with bn2 zeroed adds nothing: relu(0 + x) = x for the non-negative x it receives.
        using (no_grad()) foreach (var (key, t) in ck) if (key.StartsWith("layer4.2.bn2.") && !key.EndsWith("num_batches_tracked") && !key.EndsWith("running_var")) t.zero_();
        torchvision.eval(); cntk.eval();
        var images = randn([2, 3, 64, 64], generator: new TorchSharp.torch.Generator(3));
        using var _ = no_grad();
        var want = torchvision.forward(images);
        var got = cntk.forward(images);
        Assert.Equal(want.shape, got.shape);
        Assert.True(want.abs().max().item<float>() > 0.1);
        Assert.True(got.sub(want).abs().max().item<float>() <= 1e-5f * want.abs().max().item<float>());
    }

    static string SaveTemp(ResNetGrid net)
    {
        string path = Path.Combine(Path.GetTempPath(), $"pcme-resnet18-{Guid.NewGuid():N}.safetensors");
        WeightLoader.Save(net, path);
        return path;
    }
}
