using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Modules;

/// <summary>A CNN that maps images [B, 3, H, W] to a feature grid [B, C, h, w] (before global pooling).</summary>
public abstract class GridBackbone(string name) : nn.Module<Tensor, Tensor>(name)
{
    /// <summary>C, the grid's channel count.</summary>
    public abstract long Channels { get; }
    /// <summary>A short name for reports and caches ("resnet18", "small").</summary>
    public abstract string Kind { get; }

    /// <summary>Creates a backbone by name: resnet18, resnet50, resnet152, small (width 32) or small-W (width W).</summary>
    public static GridBackbone Create(string kind)
    {
        if (kind == "small") return new SmallCnn();
        if (kind.StartsWith("small-", StringComparison.Ordinal))
            return int.TryParse(kind[6..], out int w) && w > 0 ? new SmallCnn(w)
                : throw new ArgumentException($"Backbone '{kind}': the width after 'small-' must be a positive integer, e.g. small-16.");
        return new ResNetGrid(kind);
    }
}

/// <summary>
/// TorchVision ResNet-18/50/152 up to <c>layer4</c> (the 7 x 7 grid at 224 px), without avgpool and fc.
/// Children keep torchvision's names (conv1, bn1, layer1..layer4) so state dicts map 1:1. <c>resnet18-cntk</c> is the
/// layout of CNTK's ImageNet ResNet-18 (the one NuGet ships as ONNX, see <see cref="OnnxResNetConverter"/>): torchvision's
/// ResNet-18 with a third basic block in layer4 (CNTK's <c>num_stack_layers = [2, 1, 1, 2]</c> gives blocks [2, 2, 2, 3]),
/// same keys, plus <c>layer4.2.*</c>.
/// </summary>
public sealed class ResNetGrid : GridBackbone
{
    readonly nn.Module<Tensor, Tensor>[] stages;
    readonly long channels;
    readonly string kind;

    /// <summary>ResNet depths this class builds.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["resnet18", "resnet50", "resnet152", CntkResNet18];

    /// <summary>The kind of CNTK's ImageNet ResNet-18 layout (blocks per stage [2, 2, 2, 3]).</summary>
    public const string CntkResNet18 = "resnet18-cntk";

    /// <summary>Builds an untrained ResNet of <paramref name="kind"/> (weights come from <see cref="WeightLoader"/>).</summary>
    public ResNetGrid(string kind) : base(nameof(ResNetGrid))
    {
        this.kind = kind;
        var resnet = kind switch
        {
            CntkResNet18 => BasicBlockResNet([2, 2, 2, 3]),
            "resnet18" => (nn.Module)torchvision.models.resnet18(),
            "resnet50" => torchvision.models.resnet50(),
            "resnet152" => torchvision.models.resnet152(),
            _ => throw new ArgumentException($"Unknown ResNet '{kind}'. Use one of: {string.Join(", ", Kinds)}."),
        };
        channels = kind is "resnet18" or CntkResNet18 ? 512 : 2048;
        string[] keep = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"];
        var children = resnet.named_children().ToDictionary(c => c.name, c => c.module);
        stages = keep.Select(n => (nn.Module<Tensor, Tensor>)children[n]).ToArray();
        for (int i = 0; i < keep.Length; i++) register_module(keep[i], stages[i]);
    }

    /// <inheritdoc />
    public override long Channels => channels;
    /// <inheritdoc />
    public override string Kind => kind;

    /// <inheritdoc />
    public override Tensor forward(Tensor images)
    {
        var x = images;
        foreach (var s in stages) x = s.forward(x);
        return x;
    }

    /// <summary>
    /// A torchvision-layout ResNet of basic blocks with <paramref name="blocks"/> per stage (torchvision's builder
    /// takes only its own depths): stem conv 7 x 7 / 2, BN, ReLU, max-pool 3 x 3 / 2, then stages of 64..512 channels.
    /// </summary>
    static nn.Module BasicBlockResNet(int[] blocks)
    {
        var stem = new (string, nn.Module)[]
        {
            ("conv1", nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false)), ("bn1", nn.BatchNorm2d(64)),
            ("relu", nn.ReLU()), ("maxpool", nn.MaxPool2d(3, stride: 2, padding: 1)),
        };
        var layers = new List<(string, nn.Module)>(stem);
        long inPlanes = 64;
        for (int stage = 0; stage < blocks.Length; stage++)
        {
            long planes = 64L << stage;
            var stageBlocks = new List<nn.Module<Tensor, Tensor>>();
            for (int b = 0; b < blocks[stage]; b++)
            {
                stageBlocks.Add(new BasicBlock(inPlanes, planes, b == 0 && stage > 0 ? 2 : 1));
                inPlanes = planes;
            }
            layers.Add(($"layer{stage + 1}", nn.Sequential(stageBlocks.ToArray())));
        }
        return new NamedChildren(layers);
    }

    /// <summary>torchvision's <c>BasicBlock</c> (conv1, bn1, conv2, bn2, downsample.0/.1 when the shape changes).</summary>
    sealed class BasicBlock : nn.Module<Tensor, Tensor>
    {
        readonly Conv2d conv1, conv2;
        readonly BatchNorm2d bn1, bn2;
        readonly Sequential? downsample;

        public BasicBlock(long inPlanes, long planes, long stride) : base(nameof(BasicBlock))
        {
            conv1 = nn.Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false);
            bn1 = nn.BatchNorm2d(planes);
            conv2 = nn.Conv2d(planes, planes, 3, padding: 1, bias: false);
            bn2 = nn.BatchNorm2d(planes);
            downsample = stride != 1 || inPlanes != planes
                ? nn.Sequential(nn.Conv2d(inPlanes, planes, 1, stride: stride, bias: false), nn.BatchNorm2d(planes)) : null;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var y = bn2.forward(conv2.forward(nn.functional.relu(bn1.forward(conv1.forward(x)))));
            var shortcut = downsample is null ? x : downsample.forward(x);
            return nn.functional.relu(y.add(shortcut)).MoveToOuterDisposeScope();
        }
    }

    /// <summary>A holder whose registered children are the given named modules (read back by name above).</summary>
    sealed class NamedChildren : nn.Module
    {
        public NamedChildren(IEnumerable<(string Name, nn.Module Module)> children) : base(nameof(NamedChildren))
        {
            foreach (var (name, module) in children) register_module(name, module);
        }
    }
}

/// <summary>
/// A small CNN for CPU work on small images (64 x 64 -> 8 x 8 grid, 128 channels): four
/// conv-BN-ReLU blocks, three of them stride 2.
/// </summary>
public sealed class SmallCnn : GridBackbone
{
    /// <summary>The layers.</summary>
    public readonly Sequential features;
    readonly long channels;

    /// <summary>Creates the network with <paramref name="width"/> channels in the first block.</summary>
    public SmallCnn(long width = 32) : base(nameof(SmallCnn))
    {
        channels = width * 4;
        static (string, nn.Module<Tensor, Tensor>)[] Block(int i, long cin, long cout, long stride) =>
        [
            ($"conv{i}", nn.Conv2d(cin, cout, 3, stride: stride, padding: 1, bias: false)),
            ($"bn{i}", nn.BatchNorm2d(cout)),
            ($"relu{i}", nn.ReLU()),
        ];
        features = nn.Sequential(Block(1, 3, width, 2).Concat(Block(2, width, width * 2, 2)).Concat(Block(3, width * 2, width * 4, 2))
            .Concat(Block(4, width * 4, width * 4, 1)).ToArray());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override long Channels => channels;
    /// <inheritdoc />
    public override string Kind => channels == 128 ? "small" : $"small-{channels / 4}";

    /// <inheritdoc />
    public override Tensor forward(Tensor images) => features.forward(images);
}
