using Pcme.Training;

namespace Pcme.Tests.Training;

public class TrainingConfigTests
{
    static string Config(string name) => Path.Combine(RepoPaths.Root, "configs", name);

    [Fact]
    public void Synthetic_yaml_equals_the_built_in_synthetic_default()
    {
        var fromFile = TrainingConfig.Load(Config("synthetic.yaml"));
        Assert.Equal(TrainingConfig.Synthetic.ToJson(), fromFile.ToJson());
    }

    [Fact]
    public void Official_settings_are_mirrored_with_doubled_a_b()
    {
        var cub = TrainingConfig.Load(Config("cub.yaml"));
        Assert.Equal("resnet50", cub.Model.CnnType);
        Assert.Equal(512, cub.Model.EmbedDim);
        Assert.Equal(10, cub.Criterion.InitNegativeScale);   // official 5, doubled
        Assert.Equal(1e-3, cub.Criterion.VibBeta);
        Assert.Equal(10, cub.Criterion.UniformLambda);
        Assert.Equal(10, cub.Train.PretrainEpochs);
        Assert.Equal(50, cub.Train.FinetuneEpochs);
        var coco = TrainingConfig.Load(Config("coco.yaml"));
        Assert.Equal("resnet152", coco.Model.CnnType);
        Assert.Equal(1024, coco.Model.EmbedDim);
        Assert.Equal(30, coco.Criterion.InitShift);           // official 15, doubled
        Assert.Equal(1e-5, coco.Criterion.VibBeta);
        Assert.Equal(0.1, coco.Train.FinetuneLrDecay);
        Assert.Equal(2e-4, coco.Optimizer.LearningRate);
    }

    [Fact]
    public void Overrides_set_any_key_with_its_type()
    {
        var c = TrainingConfig.Load(Config("cub.yaml"), ["train.seed=7", "model.cnn_type=resnet18", "optimizer.learning_rate=3e-4", "model.probabilistic=false", "dataloader.feature_cache=/tmp/x"]);
        Assert.Equal(7, c.Train.Seed);
        Assert.Equal("resnet18", c.Model.CnnType);
        Assert.Equal(3e-4, c.Optimizer.LearningRate);
        Assert.False(c.Model.Probabilistic);
        Assert.Equal("/tmp/x", c.Dataloader.FeatureCache);
        Assert.Equal(TrainingConfig.FromJson(c.ToJson()).ToJson(), c.ToJson());
    }

    [Theory]
    [InlineData("train.sed=3", "sed")]
    [InlineData("modle.embed_dim=3", "modle")]
    [InlineData("train.seed=abc", "seed")]
    [InlineData("train.seed", "section.key=value")]
    public void Unknown_keys_and_bad_values_are_errors_naming_the_key(string setting, string named)
    {
        var e = Assert.Throws<ConfigException>(() => TrainingConfig.Load(Config("cub.yaml"), [setting]));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void Bad_files_are_errors_naming_the_file()
    {
        Assert.Contains("nope.yaml", Assert.Throws<ConfigException>(() => TrainingConfig.Load("/tmp/nope.yaml")).Message);
        string bad = Path.Combine(Path.GetTempPath(), $"pcme-bad-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(bad, "train:\n  seed: [1, 2\n");
        try { Assert.Contains(bad, Assert.Throws<ConfigException>(() => TrainingConfig.Load(bad)).Message); }
        finally { File.Delete(bad); }
    }
}
