using Pcme.Data;
using Pcme.Interactive;
using Pcme.Training;

namespace Pcme.Tests.Interactive;

[Collection("torch-global")]
public class SyntheticRunsTests
{
    [Fact]
    public void A_later_notebook_reuses_notebook_2s_model_with_its_data_options_or_trains_its_own()
    {
        string root = Path.Combine(Path.GetTempPath(), $"pcme-runs-{Guid.NewGuid():N}");
        try
        {
            var config = TrainingConfig.Synthetic with { Train = TrainingConfig.Synthetic.Train with { PretrainEpochs = 1, ValEpochs = 1, Device = "cpu" } };
            var data = new SyntheticOptions { Seed = 3, ImageCount = 60 };
            // Nothing to reuse: trains into its own folder.
            var own = SyntheticRuns.ReuseOrTrain(root, "04-test", data, config);
            Assert.False(own.Reused);
            Assert.Equal(Path.Combine(root, "04-test"), own.Directory);
            var saved = SyntheticRuns.ReadData(own.Directory)!;
            Assert.Equal(data.Specificities, saved.Specificities);
            Assert.Equal(data, saved with { Specificities = data.Specificities });
            // Notebook 2's run, trained on other data options: reused, with those options.
            var other = data with { Seed = 4 };
            SyntheticRuns.Train(other, config, Path.Combine(root, SyntheticRuns.TrainingNotebookRun));
            var reused = SyntheticRuns.ReuseOrTrain(root, "05-test", data, config);
            Assert.True(reused.Reused);
            Assert.Equal(4, reused.Data.Seed);
            Assert.Equal(60, reused.Data.ImageCount);
            Assert.False(Directory.Exists(Path.Combine(root, "05-test")));
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, true); }
    }
}
