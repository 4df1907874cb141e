using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Onnx;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Pcme.Modules;

/// <summary>Where one torchvision state-dict tensor came from in an ONNX graph.</summary>
/// <param name="Key">The torchvision key (e.g. <c>layer2.0.downsample.1.running_var</c>).</param>
/// <param name="Initializer">The ONNX initializer (e.g. <c>Parameter203</c>).</param>
/// <param name="Node">The node that reads it (e.g. <c>BatchNormalization297</c>).</param>
/// <param name="Shape">Its shape.</param>
public sealed record OnnxTensorSource(string Key, string Initializer, string Node, IReadOnlyList<long> Shape);

/// <summary>
/// What a converted ONNX backbone is and what input it expects: written as <c>NAME.json</c> beside
/// <c>NAME.safetensors</c> (the backbone's state dict) and <c>NAME.preprocess.safetensors</c> (the mean image).
/// </summary>
/// <param name="Kind">The kit's backbone kind (<c>resnet18</c>).</param>
/// <param name="Source">The ONNX file converted.</param>
/// <param name="SourceSha256">Its SHA-256 (hex), the cache key.</param>
/// <param name="Producer">The graph's producer (e.g. <c>CNTK 2.6</c>).</param>
/// <param name="Preprocess">The preprocessing graph the mean image came from.</param>
/// <param name="Normalize">The preprocessing these weights need (<c>caffe-bgr-mean</c>).</param>
/// <param name="ChannelMean">Per-channel mean of the mean image, in B, G, R order, 0-255 scale.</param>
/// <param name="MeanImage">File name (beside this header) of the mean image [3, H, W], BGR, 0-255.</param>
/// <param name="InputHeight">The graph's declared input height (where the padding check was made).</param>
/// <param name="InputWidth">The graph's declared input width.</param>
/// <param name="GridOutput">The ONNX value that equals the kit's grid (the last block's ReLU).</param>
/// <param name="BatchNormEpsilon">The graph's BN epsilon (equal to torchvision's 1e-5, or the conversion refuses).</param>
/// <param name="BatchNormMomentum">The graph's BN momentum in ONNX's convention (running = running x m + batch x (1 - m)); recorded, not applied.</param>
/// <param name="Tensors">Every mapped tensor and its ONNX origin.</param>
/// <param name="Version">Header format version.</param>
public sealed record PretrainedBackboneInfo(
    string Kind, string Source, string SourceSha256, string Producer, string Preprocess, string Normalize, IReadOnlyList<double> ChannelMean,
    string MeanImage, int InputHeight, int InputWidth, string GridOutput, double BatchNormEpsilon, double BatchNormMomentum,
    IReadOnlyList<OnnxTensorSource> Tensors, int Version = 1);

/// <summary>
/// Converts an ImageNet ResNet-18 exported to ONNX (NuGet's <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>, a CNTK
/// export whose parameters are anonymous) into the kit's <see cref="ResNetGrid"/> weights. The graph is read with
/// OnnxSharp's onnx.proto classes and walked by structure, not by name: stem Conv-BN-ReLU-MaxPool, then residual
/// blocks (Conv-BN-ReLU-Conv-BN + shortcut, Add, ReLU), a block with a projection shortcut starting a stage. Each
/// convolution and batch norm is given its torchvision key, and every shape, stride, padding, dilation, group and
/// BN epsilon is checked against what torchvision's module computes; anything that does not map is a
/// <see cref="WeightFileException"/> naming the node. The result is an ordinary <c>.safetensors</c> state dict.
/// </summary>
public static class OnnxResNetConverter
{
    /// <summary>The NuGet package that ships the ImageNet ResNet-18 ONNX.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    /// <summary>The package version the kit is tested with.</summary>
    public const string PackageVersion = "0.23.1";
    /// <summary>The ONNX file inside the package.</summary>
    public const string ModelPathInPackage = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";
    /// <summary>The preprocessing graph inside the package (RGB -> BGR, mean image subtracted).</summary>
    public const string PreprocessPathInPackage = "tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx";
    /// <summary>The <c>model.pretrained_resnet_model_path</c> shorthand for the package's ONNX in the NuGet cache.</summary>
    public const string NuGetShorthand = "nuget:" + PackageId + "/" + PackageVersion;
    /// <summary>The preprocessing name these weights select (<c>dataloader.normalize</c>).</summary>
    public const string CaffeNormalize = "caffe-bgr-mean";

    // torchvision's BatchNorm2d epsilon; the converted modules compute with it, so the graph must use it too.
    const float TorchvisionEpsilon = 1e-5f;

    /// <summary>
    /// Converts <paramref name="onnxPath"/> into <c><paramref name="outputBase"/>.safetensors</c>, <c>.preprocess.safetensors</c>
    /// and <c>.json</c> (written under temporary names and renamed, header last). The mean image comes from
    /// <paramref name="preprocessPath"/>, by default the package's <c>ResNetPrepOnnx/ResNetPreprocess.onnx</c> beside the model's folder.
    /// </summary>
    public static PretrainedBackboneInfo Convert(string onnxPath, string outputBase, string? preprocessPath = null)
    {
        var model = ReadModel(onnxPath);
        var mapped = MapResNet(model.Graph, onnxPath);
        preprocessPath ??= FindPreprocess(onnxPath);
        var mean = ReadMeanImage(ReadModel(preprocessPath).Graph, preprocessPath, mapped.InputHeight, mapped.InputWidth);

        using var scope = NewDisposeScope();
        var net = new ResNetGrid(mapped.Kind);
        var target = net.state_dict();
        using (no_grad())
        {
            foreach (var (key, dest) in target)
            {
                if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
                if (!mapped.Tensors.TryGetValue(key, out var src))
                    throw new WeightFileException($"ONNX model '{onnxPath}': nothing in the graph maps to torchvision's '{key}'. The graph is not a complete {mapped.Kind}.");
                if (!dest.shape.SequenceEqual(src.Source.Shape))
                    throw new WeightFileException($"ONNX model '{onnxPath}': {src.Source.Initializer} (read by {src.Source.Node}) maps to '{key}' but is [{Join(src.Source.Shape)}]; " +
                                                  $"torchvision's {mapped.Kind} has [{Join(dest.shape)}]. The graph is another architecture; only an ImageNet ResNet-18 converts.");
                dest.copy_(tensor(src.Data, dest.shape));
            }
        }
        string? dir = Path.GetDirectoryName(Path.GetFullPath(outputBase));
        if (dir is not null) Directory.CreateDirectory(dir);
        string weights = outputBase + ".safetensors", prep = outputBase + ".preprocess.safetensors", header = outputBase + ".json";
        // Temporary names keep the extension: WeightLoader.Save picks the format by it.
        string Temp(string path) => Path.ChangeExtension(path, $".tmp-{Environment.ProcessId}{Path.GetExtension(path)}");
        WeightLoader.Save(net, Temp(weights));
        var meanTensor = tensor(mean.Bgr, [3, mapped.InputHeight, mapped.InputWidth]);
        Safetensors.SaveStateDict(Temp(prep), new Dictionary<string, Tensor> { [MeanImageKey] = meanTensor });
        var info = new PretrainedBackboneInfo(mapped.Kind, Path.GetFullPath(onnxPath), Sha256(onnxPath), $"{model.ProducerName} {model.ProducerVersion}".Trim(),
            Path.GetFullPath(preprocessPath), CaffeNormalize, mean.ChannelMean, Path.GetFileName(prep), mapped.InputHeight, mapped.InputWidth,
            mapped.GridOutput, mapped.Epsilon, mapped.Momentum, mapped.Tensors.Values.Select(t => t.Source).ToArray());
        File.WriteAllText(Temp(header), JsonSerializer.Serialize(info, HeaderJson));
        File.Move(Temp(weights), weights, overwrite: true);
        File.Move(Temp(prep), prep, overwrite: true);
        File.Move(Temp(header), header, overwrite: true);
        return info;
    }

    /// <summary>The key of the mean image in a <c>.preprocess.safetensors</c> file.</summary>
    public const string MeanImageKey = "mean_image";

    internal static readonly JsonSerializerOptions HeaderJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Parses an ONNX file; a missing, truncated or non-ONNX file is a <see cref="WeightFileException"/> naming it.</summary>
    public static ModelProto ReadModel(string path)
    {
        if (!File.Exists(path)) throw new WeightFileException($"ONNX model '{path}' does not exist. Restore the package with `dotnet restore` (see README, Pretrained ResNet-18) or pass the path of a .onnx file.");
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or IOException or ArgumentException or InvalidOperationException)
        {
            throw new WeightFileException($"'{path}' is not a readable ONNX model ({e.Message.TrimEnd('.')}); it is truncated or another format. Restore it again (delete the package folder from the NuGet cache and run `dotnet restore`).", e);
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
            throw new WeightFileException($"'{path}' holds no ONNX graph; it is truncated or another format. Restore it again (delete the package folder from the NuGet cache and run `dotnet restore`).");
        return model;
    }

    /// <summary>The package's preprocessing graph for a model at <paramref name="onnxPath"/>: <c>../ResNetPrepOnnx/ResNetPreprocess.onnx</c> or <c>ResNetPreprocess.onnx</c> beside it.</summary>
    public static string FindPreprocess(string onnxPath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(onnxPath))!;
        string[] candidates = [Path.Combine(dir, "..", "ResNetPrepOnnx", "ResNetPreprocess.onnx"), Path.Combine(dir, "ResNetPreprocess.onnx")];
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists)
            ?? throw new WeightFileException($"ONNX model '{onnxPath}': its preprocessing graph (ResNetPrepOnnx/ResNetPreprocess.onnx, with the mean image the weights were trained with) " +
                                             "is not beside it. Keep the package's folder layout, or put ResNetPreprocess.onnx next to the model.");
    }

    sealed record MappedTensor(OnnxTensorSource Source, float[] Data);

    sealed record Mapping(string Kind, Dictionary<string, MappedTensor> Tensors, int InputHeight, int InputWidth, string GridOutput, double Epsilon, double Momentum);

    /// <summary>Walks a ResNet graph and maps its tensors to torchvision keys, checking every layer's attributes at the graph's declared input size.</summary>
    static Mapping MapResNet(GraphProto graph, string source) => new GraphWalker(graph, source).Walk();

    sealed class GraphWalker(GraphProto graph, string source)
    {
        readonly Dictionary<string, TensorProto> initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        readonly ILookup<string, NodeProto> consumers = graph.Node.SelectMany(n => n.Input.Select(i => (i, n))).ToLookup(p => p.i, p => p.n, StringComparer.Ordinal);
        readonly Dictionary<string, MappedTensor> tensors = new(StringComparer.Ordinal);
        readonly HashSet<NodeProto> visited = new(ReferenceEqualityComparer.Instance);
        readonly List<float> epsilons = [], momenta = [];
        int? height, width;

        string Fail(string message) => throw new WeightFileException($"ONNX model '{source}': {message}");

        public Mapping Walk()
        {
            var inputs = graph.Input.Where(i => !initializers.ContainsKey(i.Name)).ToArray();
            if (inputs.Length != 1) Fail($"the graph has {inputs.Length} inputs besides its weights; a ResNet has one image input. Only an ImageNet ResNet-18 converts.");
            var dims = inputs[0].Type?.TensorType?.Shape?.Dim;
            if (dims is null || dims.Count != 4 || dims[1].DimValue != 3)
                Fail($"the input '{inputs[0].Name}' is not an image batch [N, 3, H, W]. Only an ImageNet ResNet-18 converts.");
            height = dims![2].DimValue > 0 ? (int)dims[2].DimValue : null;
            width = dims[3].DimValue > 0 ? (int)dims[3].DimValue : null;
            var (inputHeight, inputWidth) = (height ?? 0, width ?? 0);

            string x = inputs[0].Name;
            x = Conv(Next(x, "Conv", "the stem"), "conv1", stride: 2);
            x = BatchNorm(Next(x, "BatchNormalization", "the stem"), "bn1");
            x = Relu(Next(x, "Relu", "the stem"));
            x = MaxPool(Next(x, "MaxPool", "the stem"));

            var blocksPerStage = new List<int>();
            while (true)
            {
                var convs = consumers[x].Where(n => n.OpType == "Conv").ToArray();
                if (convs.Length == 0) break;
                bool projection = convs.Length == 2;
                if (convs.Length > 2) Fail($"'{x}' feeds {convs.Length} convolutions; a ResNet block has one, or two with a projection shortcut.");
                if (blocksPerStage.Count == 0 || (projection && blocksPerStage[^1] > 0)) blocksPerStage.Add(0);
                if (blocksPerStage.Count > 4) Fail("the graph has more than four stages of residual blocks; a ResNet has four.");
                string prefix = $"layer{blocksPerStage.Count}.{blocksPerStage[^1]}";
                x = Block(x, convs, prefix, firstOfStage: blocksPerStage[^1] == 0 && blocksPerStage.Count > 1);
                blocksPerStage[^1]++;
            }
            string kind = blocksPerStage.SequenceEqual([2, 2, 2, 2]) ? "resnet18"
                : blocksPerStage.SequenceEqual([2, 2, 2, 3]) ? ResNetGrid.CntkResNet18
                : Fail($"the graph's residual blocks per stage are [{string.Join(", ", blocksPerStage)}] (two-convolution blocks); the kit builds ResNet-18 as [2, 2, 2, 2] " +
                       $"(torchvision) or [2, 2, 2, 3] ({ResNetGrid.CntkResNet18}). Only an ImageNet ResNet-18 converts.");
            CheckNothingElseReadsTheBackbone(x);
            if (epsilons.Distinct().Count() != 1) Fail($"its batch norms use different epsilons ({string.Join(", ", epsilons.Distinct())}).");
            return new Mapping(kind, tensors, inputHeight, inputWidth, x, epsilons[0], momenta.Count > 0 ? momenta[0] : 0.9);
        }

        /// <summary>A residual block at <paramref name="x"/>: main Conv-BN-ReLU-Conv-BN, shortcut identity or Conv-BN, Add, ReLU.</summary>
        string Block(string x, NodeProto[] convs, string prefix, bool firstOfStage)
        {
            // The main path's first BN feeds a ReLU; a projection's BN feeds the Add directly.
            var mains = convs.Where(FeedsRelu).ToArray();
            if (mains.Length != 1) Fail($"'{x}' feeds {convs.Length} convolutions of which {mains.Length} continue with BN-ReLU; a ResNet block's main path is one of them.");
            NodeProto main = mains[0];
            var shortcutConv = convs.FirstOrDefault(c => !ReferenceEquals(c, main));
            int? h = height, w = width;
            string y = Conv(main, $"{prefix}.conv1", stride: firstOfStage ? 2 : 1);
            y = BatchNorm(Next(y, "BatchNormalization", prefix), $"{prefix}.bn1");
            y = Relu(Next(y, "Relu", prefix));
            y = Conv(Next(y, "Conv", prefix), $"{prefix}.conv2", stride: 1);
            var bn2 = Next(y, "BatchNormalization", prefix);
            y = BatchNorm(bn2, $"{prefix}.bn2");
            var after = consumers[y].ToArray();
            if (after is [{ OpType: "Relu" }]) Fail($"block {prefix} continues with a third convolution after {bn2.Name} (a bottleneck block); only ResNet-18's two-convolution blocks convert.");
            var (hMain, wMain) = (height, width);
            string shortcut = x;
            if (shortcutConv is null && (hMain, wMain) != (h, w))
                Fail($"block {prefix} changes the size from {h} x {w} to {hMain} x {wMain} but its shortcut is the identity.");
            if (shortcutConv is not null)
            {
                (height, width) = (h, w);
                shortcut = Conv(shortcutConv, $"{prefix}.downsample.0", stride: firstOfStage ? 2 : 1);
                shortcut = BatchNorm(Next(shortcut, "BatchNormalization", prefix + " shortcut"), $"{prefix}.downsample.1");
                if ((height, width) != (hMain, wMain)) Fail($"block {prefix}'s shortcut gives {height} x {width} but its main path {hMain} x {wMain}.");
            }
            var add = Next(y, "Add", prefix);
            if (add.Input.Count != 2 || !add.Input.Contains(y) || !add.Input.Contains(shortcut))
                Fail($"{add.Name} adds [{string.Join(", ", add.Input)}]; block {prefix} should add its main path '{y}' and its shortcut '{shortcut}'.");
            visited.Add(add);
            return Relu(Next(add.Output[0], "Relu", prefix));
        }

        bool FeedsRelu(NodeProto conv) =>
            consumers[conv.Output[0]].SingleOrDefault() is { OpType: "BatchNormalization" } bn && consumers[bn.Output[0]].Any(n => n.OpType == "Relu");

        NodeProto Next(string value, string op, string where)
        {
            var next = consumers[value].Where(n => !visited.Contains(n)).ToArray();
            if (next.Length == 1 && next[0].OpType == op) return next[0];
            Fail($"in {where}, '{value}' feeds [{string.Join(", ", next.Select(n => $"{n.OpType} {n.Name}"))}] where a ResNet has one {op}. Only an ImageNet ResNet-18 converts.");
            return null!;
        }

        string Conv(NodeProto node, string key, int stride)
        {
            visited.Add(node);
            if (node.Input.Count != 2) Fail($"{node.Name} ({key}) has {(node.Input.Count > 2 ? "a bias" : "no weight")}; torchvision's ResNet convolutions have a weight and no bias.");
            var weight = Initializer(node, node.Input[1], key + ".weight");
            if (weight.Source.Shape.Count != 4) Fail($"{node.Name} ({key}) has a weight of shape [{Join(weight.Source.Shape)}], not a 2-d convolution's [out, in, kh, kw].");
            int kh = (int)weight.Source.Shape[2], kw = (int)weight.Source.Shape[3];
            if (Ints(node, "kernel_shape") is { } kernel && !kernel.SequenceEqual([kh, kw])) Fail($"{node.Name} ({key}) declares kernel [{Join(kernel)}] but its weight is {kh} x {kw}.");
            if (Ints(node, "group") is { } g && g[0] != 1) Fail($"{node.Name} ({key}) is a grouped convolution (group {g[0]}); torchvision's ResNet-18 has none.");
            if (Ints(node, "dilations") is { } d && d.Any(v => v != 1)) Fail($"{node.Name} ({key}) is dilated [{Join(d)}]; torchvision's ResNet-18 is not.");
            Window(node, key, kh, kw, stride);
            return node.Output[0];
        }

        string MaxPool(NodeProto node)
        {
            visited.Add(node);
            var kernel = Ints(node, "kernel_shape") ?? [];
            if (!kernel.SequenceEqual([3, 3])) Fail($"{node.Name} (maxpool) has kernel [{Join(kernel)}]; torchvision's is 3 x 3.");
            if (Ints(node, "ceil_mode") is { } c && c[0] != 0) Fail($"{node.Name} (maxpool) rounds up (ceil_mode); torchvision's rounds down.");
            if (Ints(node, "dilations") is { } d && d.Any(v => v != 1)) Fail($"{node.Name} (maxpool) is dilated; torchvision's is not.");
            Window(node, "maxpool", 3, 3, 2);
            return node.Output[0];
        }

        /// <summary>
        /// Checks strides and padding against torchvision's (stride <paramref name="stride"/>, padding k / 2 on every
        /// side): the graph's leading pads must equal torchvision's, and its trailing pads must give the same output
        /// size at this layer's input size (CNTK pads [3, 3, 2, 2] where torchvision pads 3 on each side: the window
        /// positions are the same and torchvision's last padded row is never read when the input side is even).
        /// </summary>
        void Window(NodeProto node, string key, int kh, int kw, int stride)
        {
            if (Strings(node, "auto_pad") is { } auto && auto is not ("NOTSET" or ""))
                Fail($"{node.Name} ({key}) uses auto_pad={auto}; only explicit pads convert.");
            var strides = Ints(node, "strides") ?? [1, 1];
            if (!strides.SequenceEqual([stride, stride])) Fail($"{node.Name} ({key}) has strides [{Join(strides)}]; torchvision's {key} has [{stride}, {stride}].");
            var pads = Ints(node, "pads") ?? [0, 0, 0, 0];
            if (pads.Length != 4) Fail($"{node.Name} ({key}) has pads [{Join(pads)}]; a 2-d window has four.");
            int ph = kh / 2, pw = kw / 2;
            if (pads[0] != ph || pads[1] != pw)
                Fail($"{node.Name} ({key}) pads [{Join(pads)}] (top, left, bottom, right) start at ({pads[0]}, {pads[1]}); torchvision's {key} pads ({ph}, {pw}).");
            height = Side(node, key, height, kh, stride, ph, (int)pads[2], "rows");
            width = Side(node, key, width, kw, stride, pw, (int)pads[3], "columns");
        }

        int? Side(NodeProto node, string key, int? size, int k, int stride, int pad, int trailing, string what)
        {
            if (size is not { } n)
            {
                if (trailing != pad) Fail($"{node.Name} ({key}) pads {trailing} {what} at the end where torchvision pads {pad}, and the graph's input size is not fixed, so the two cannot be shown equal.");
                return null;
            }
            int torch = (n + 2 * pad - k) / stride + 1, onnx = (n + pad + trailing - k) / stride + 1;
            if (torch != onnx)
                Fail($"{node.Name} ({key}) pads {trailing} {what} at the end where torchvision pads {pad}: at its input of {n} {what} that gives {onnx}, torchvision {torch}.");
            return torch;
        }

        string BatchNorm(NodeProto node, string key)
        {
            visited.Add(node);
            if (node.Input.Count != 5) Fail($"{node.Name} ({key}) has {node.Input.Count} inputs; a batch norm has x, scale, bias, mean and variance.");
            if (Ints(node, "spatial") is { } s && s[0] != 1) Fail($"{node.Name} ({key}) normalises per activation (spatial=0); torchvision's BatchNorm2d is per channel.");
            if (Ints(node, "training_mode") is { } t && t[0] != 0) Fail($"{node.Name} ({key}) is in training mode; export the graph for inference.");
            float eps = Floats(node, "epsilon") ?? 1e-5f;
            if (eps != TorchvisionEpsilon)
                Fail($"{node.Name} ({key}) uses BN epsilon {eps.ToString("R", CultureInfo.InvariantCulture)}; torchvision's BatchNorm2d computes with 1e-05, so these weights would give another network.");
            epsilons.Add(eps);
            if (Floats(node, "momentum") is { } m) momenta.Add(m);
            string[] names = ["weight", "bias", "running_mean", "running_var"];
            for (int i = 0; i < 4; i++) Initializer(node, node.Input[i + 1], $"{key}.{names[i]}");
            return node.Output[0];
        }

        string Relu(NodeProto node) { visited.Add(node); return node.Output[0]; }

        MappedTensor Initializer(NodeProto node, string name, string key)
        {
            if (!initializers.TryGetValue(name, out var t)) Fail($"{node.Name} ({key}) reads '{name}', which is computed, not a stored weight.");
            var data = Floats(t!, node, key);
            var mapped = new MappedTensor(new OnnxTensorSource(key, name, node.Name, t!.Dims.ToArray()), data);
            tensors[key] = mapped;
            return mapped;
        }

        float[] Floats(TensorProto t, NodeProto node, string key)
        {
            if (t.DataType != (int)TensorProto.Types.DataType.Float)
                Fail($"{t.Name} ({key}, read by {node.Name}) is {(TensorProto.Types.DataType)t.DataType}, not float32.");
            if (t.DataLocation == TensorProto.Types.DataLocation.External)
                Fail($"{t.Name} ({key}) is stored in an external file; convert a self-contained .onnx.");
            long count = t.Dims.Aggregate(1L, (a, b) => a * b);
            float[] data = t.RawData.Length > 0 ? new float[t.RawData.Length / 4] : t.FloatData.ToArray();
            if (t.RawData.Length > 0)
            {
                if (!BitConverter.IsLittleEndian) Fail("raw ONNX data is little-endian; this machine is not.");
                t.RawData.Span[..(data.Length * 4)].CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
            }
            if (data.LongLength != count) Fail($"{t.Name} ({key}) declares [{Join(t.Dims)}] ({count} values) but holds {data.LongLength}; the file is damaged.");
            return data;
        }

        /// <summary>Nodes outside the walked backbone may read the grid (a pooling head) but nothing inside it.</summary>
        void CheckNothingElseReadsTheBackbone(string grid)
        {
            var inside = visited.SelectMany(n => n.Output).Where(o => o != grid).ToHashSet(StringComparer.Ordinal);
            foreach (var n in graph.Node.Where(n => !visited.Contains(n)))
                if (n.Input.FirstOrDefault(inside.Contains) is { } read)
                    Fail($"{n.OpType} {n.Name} reads '{read}' inside the backbone; a plain ResNet's layers feed only the next one.");
        }

        static long[]? Ints(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name) is { } a
            ? (a.Ints.Count > 0 ? a.Ints.ToArray() : [a.I]) : null;
        static float? Floats(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.F;
        static string? Strings(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.S.ToStringUtf8();
    }

    sealed record MeanImageData(float[] Bgr, double[] ChannelMean);

    /// <summary>
    /// The mean image of the package's preprocessing graph: Split(input, axis 1) into R, G, B; Concat(B, G, R);
    /// Sub(mean image [1, 3, H, W]). Anything else is refused: the kit reproduces exactly this and nothing more.
    /// </summary>
    static MeanImageData ReadMeanImage(GraphProto graph, string source, int height, int width)
    {
        string Fail(string m) => throw new WeightFileException($"Preprocessing graph '{source}': {m} Expected the package's ResNetPreprocess.onnx (Split RGB, Concat BGR, Sub mean image).");
        var nodes = graph.Node.ToArray();
        if (nodes.Length != 3 || nodes[0].OpType != "Split" || nodes[1].OpType != "Concat" || nodes[2].OpType != "Sub")
            Fail($"its nodes are [{string.Join(", ", nodes.Select(n => n.OpType))}].");
        var (split, concat, sub) = (nodes[0], nodes[1], nodes[2]);
        static long Axis(NodeProto n) => n.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 0;
        if (Axis(split) != 1 || Axis(concat) != 1 || split.Output.Count != 3) Fail("it does not split and join the channel axis into three.");
        if (!concat.Input.SequenceEqual([split.Output[2], split.Output[1], split.Output[0]])) Fail("it does not reverse the channels (RGB -> BGR).");
        if (sub.Input.Count != 2 || sub.Input[0] != concat.Output[0]) Fail("it does not subtract from the reordered image.");
        var mean = graph.Initializer.FirstOrDefault(t => t.Name == sub.Input[1]);
        if (mean is null || !mean.Dims.SequenceEqual([1L, 3, height, width]) || mean.DataType != (int)TensorProto.Types.DataType.Float)
            Fail($"its mean is not a float image [1, 3, {height}, {width}] matching the model's input.");
        float[] bgr = mean!.RawData.Length > 0 ? new float[mean.RawData.Length / 4] : mean.FloatData.ToArray();
        if (mean.RawData.Length > 0) mean.RawData.Span.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(bgr.AsSpan()));
        if (bgr.Length != 3 * height * width) Fail("its mean image is damaged.");
        int plane = height * width;
        var channelMean = Enumerable.Range(0, 3).Select(c => bgr.AsSpan(c * plane, plane).ToArray().Average(v => (double)v)).ToArray();
        return new MeanImageData(bgr, channelMean);
    }

    /// <summary>Hex SHA-256 of a file.</summary>
    internal static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return System.Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    static string Join(IEnumerable<long> values) => string.Join(", ", values);
}
