using System.Text.Json.Nodes;
using Pcme.Cli;
using Pcme.Data;
using Pcme.Modules;
using Pcme.Tests.Data;
using Pcme.Training;

namespace Pcme.Tests.Training;

/// <summary>
/// NuGet's ResNet-18 through the config: dataloader.normalize follows the weights unless set, the run records what it
/// used, the frozen backbone goes through the grid cache once, and bad weight paths are one line and exit 2.
/// </summary>
[Collection("torch-global")]
public class PretrainedBackboneTrainingTests
{
    static TrainingConfig Config(string normalize = "auto", string cnn = ResNetGrid.CntkResNet18, string? cache = null)
    {
        var s = TrainingConfig.Synthetic;
        return s with
        {
            Dataloader = s.Dataloader with { CropSize = 224, BatchSize = 16, Normalize = normalize, NormalizeMean = null, NormalizeStd = null, FeatureCache = cache },
            Model = s.Model with { CnnType = cnn, PretrainedResnetModelPath = OnnxResNetConverter.NuGetShorthand, ImgFinetune = false, EmbedDim = 8 },
            Train = s.Train with { PretrainEpochs = 1 },
        };
    }

    [Fact]
    public void The_resnet18_config_is_the_synthetic_one_on_the_frozen_pretrained_network_through_the_cache()
    {
        var s = TrainingConfig.Synthetic;
        var expected = s with
        {
            Dataloader = s.Dataloader with { CropSize = 224, EvalBatchSize = 64, FeatureCache = "runs/grid-cache", Normalize = "auto", NormalizeMean = null, NormalizeStd = null },
            Model = s.Model with { CnnType = ResNetGrid.CntkResNet18, PretrainedResnetModelPath = OnnxResNetConverter.NuGetShorthand, ImgFinetune = false },
        };
        Assert.Equal(expected.ToJson(), TrainingConfig.Load(Path.Combine(RepoPaths.Root, "configs", "synthetic-resnet18.yaml")).ToJson());
    }

    [Fact]
    public void Normalisation_follows_the_weights_unless_the_config_names_one()
    {
        Assert.Equal(CaffeBgrMean.Name, Experiment.ResolveNormalize(Config()));
        Assert.Equal("imagenet", Experiment.ResolveNormalize(Config("imagenet")));
        Assert.Equal("custom", Experiment.ResolveNormalize(TrainingConfig.Synthetic));
        Assert.Equal("imagenet", Experiment.ResolveNormalize(new TrainingConfig()));
        var steps = Experiment.Pipelines(Config()).Eval.Steps;
        Assert.Equal([typeof(ResizeTo), typeof(CaffeBgrMean)], steps.Select(s => s.GetType()));
        Assert.Equal(new ResizeTo(224, 224), steps[0]);
        Assert.Same(Normalize.ImageNet, Experiment.Pipelines(Config("imagenet")).Eval.Steps[^1]);

        var e = Assert.Throws<ConfigException>(() => Experiment.ResolveNormalize(TrainingConfig.Synthetic with { Dataloader = TrainingConfig.Synthetic.Dataloader with { Normalize = CaffeBgrMean.Name } }));
        Assert.Contains(OnnxResNetConverter.NuGetShorthand, e.Message);
        e = Assert.Throws<ConfigException>(() => ConfigChecks.Validate(Config("caffe")));
        Assert.Contains("'caffe'", e.Message);
    }

    [Fact]
    public void Training_heads_on_the_frozen_network_records_its_preprocessing_and_reuses_the_grid_cache()
    {
        using var folder = new TempFolder();
        var data = new SyntheticDataset(new SyntheticOptions { Seed = 1, ImageCount = 40 }, SyntheticSplit.Train);
        var config = Config(cache: folder.PathOf("grids"));

        var first = Experiment.Create(config, new ExperimentData(data)).Train(folder.PathOf("run1"));
        Assert.True(double.IsFinite(first.Result.History.Single().Loss));
        var state = Checkpoint.ReadState(Path.Combine(folder.PathOf("run1"), "checkpoints", "best"));
        Assert.Equal(CaffeBgrMean.Name, JsonNode.Parse(state.ConfigJson)!["dataloader"]!["normalize"]!.GetValue<string>());
        Assert.Equal(ResNetGrid.CntkResNet18, state.Architecture.CnnType);
        var bin = Directory.GetFiles(folder.PathOf("grids"), "*.bin").Single();
        using (var cache = GridFeatureCache.Open(bin[..^4], ResNetGrid.CntkResNet18))
            Assert.Equal((data.Images.Count, 512L, 7L, 7L), (cache.Count, cache.Header.Channels, cache.Header.Height, cache.Header.Width));
        var written = File.GetLastWriteTimeUtc(bin);

        // The same weights and data reuse the cache; other preprocessing gets its own.
        Experiment.Create(config, new ExperimentData(data)).Train(folder.PathOf("run2"));
        Assert.Equal(written, File.GetLastWriteTimeUtc(bin));
        Experiment.Create(Config("imagenet", cache: folder.PathOf("grids")), new ExperimentData(data)).Train(folder.PathOf("run3"));
        Assert.Equal(2, Directory.GetFiles(folder.PathOf("grids"), "*.bin").Length);

        // The weights say which architecture they are.
        var e = Assert.Throws<ConfigException>(() => Experiment.Create(Config(cnn: "resnet18"), new ExperimentData(data)));
        Assert.Contains("model.cnn_type=" + ResNetGrid.CntkResNet18, e.Message);
    }

    [Fact]
    public void Bad_weight_files_and_shorthands_exit_2_with_one_line_naming_them()
    {
        using var folder = new TempFolder();
        var model = PretrainedBackbones.FindInNuGetCache(OnnxResNetConverter.NuGetShorthand, Modules.ResNet18OnnxFixture.PackagesRoot);
        var bytes = File.ReadAllBytes(model);
        string truncated = folder.WriteBytes("cut.onnx", bytes[..(bytes.Length / 3)]);
        string other = OnnxResNetConverter.FindPreprocess(model);
        foreach (var (path, needle) in new[] { (truncated, "cut.onnx"), (other, "ResNetPreprocess.onnx"), ("nuget:Some.Package/1.0", "nuget:Some.Package/1.0"), (folder.PathOf("none.onnx"), "none.onnx") })
        {
            var (code, err) = Pcme("train", "--dataset", "synthetic", "--synthetic-images", "20", "--out", folder.PathOf("run"),
                "--set", "model.cnn_type=" + ResNetGrid.CntkResNet18, "--set", "model.img_finetune=false", "--set", "model.pretrained_resnet_model_path=" + path);
            Assert.True(code == ExitCodes.BadInput, $"{path} -> {code}: {err}");
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(needle, err);
        }
    }

    static (int Code, string Err) Pcme(params string[] args) { var (code, _, err) = Cli.CommandsTests.Pcme(args); return (code, err); }
}
