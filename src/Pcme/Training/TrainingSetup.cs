using Pcme.Losses;

namespace Pcme.Training;

/// <summary>Builds training objects from a <see cref="TrainingConfig"/>.</summary>
public static class TrainingSetup
{
    /// <summary>The PCME criterion of the config (sigma switched off for a mu-only model).</summary>
    public static SoftContrastiveLoss CreateCriterion(TrainingConfig config)
    {
        var c = config.Criterion;
        if (c.Name != "pcme") throw new ConfigException($"criterion.name '{c.Name}' is not supported by the trainer yet; use pcme.");
        return new SoftContrastiveLoss(new PcmeLossOptions
        {
            Samples = c.NumSamples, InitNegativeScale = c.InitNegativeScale, InitShift = c.InitShift,
            KlWeight = config.Model.Probabilistic ? c.VibBeta : 0,
            UniformityWeight = c.UniformLambda,
            UseVariance = config.Model.Probabilistic,
        });
    }
}
