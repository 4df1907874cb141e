namespace Pcme.Training;

/// <summary>
/// Linear warm-up then cosine annealing within one training stage, evaluated per optimizer step:
/// lr(t) = base * t / W for t &lt; W, else min + (base - min) * (1 + cos(pi (t - W) / (T - W))) / 2.
/// </summary>
/// <param name="BaseLr">The stage's peak learning rate.</param>
/// <param name="TotalSteps">T, steps in the stage.</param>
/// <param name="WarmupSteps">W.</param>
/// <param name="MinLr">The floor reached at the end.</param>
public sealed record LearningRateSchedule(double BaseLr, long TotalSteps, long WarmupSteps = 0, double MinLr = 0)
{
    /// <summary>The learning rate for step <paramref name="step"/> (0-based) of the stage.</summary>
    public double At(long step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return BaseLr * (step + 1) / WarmupSteps;
        long span = Math.Max(1, TotalSteps - WarmupSteps);
        double progress = Math.Clamp((double)(step - WarmupSteps) / span, 0, 1);
        return MinLr + (BaseLr - MinLr) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}

/// <summary>
/// The state of lr_scheduler.name = reduce_lr_on_plateau within a stage (kept in checkpoints): the best
/// validation metric so far, validations since it improved, and how many times the rate was multiplied by the
/// factor. Like torch's ReduceLROnPlateau in mode max with threshold 0: an improvement is any larger metric.
/// </summary>
/// <param name="Best">Best metric of the stage (null before its first validation).</param>
/// <param name="BadValidations">Validations since the last improvement.</param>
/// <param name="Reductions">Times the rate has been reduced.</param>
public sealed record PlateauState(double? Best = null, int BadValidations = 0, int Reductions = 0)
{
    /// <summary>The state after a validation with <paramref name="metric"/>.</summary>
    public PlateauState After(double metric, int patience)
    {
        if (Best is null || metric > Best) return this with { Best = metric, BadValidations = 0 };
        int bad = BadValidations + 1;
        return bad > patience ? this with { BadValidations = 0, Reductions = Reductions + 1 } : this with { BadValidations = bad };
    }

    /// <summary>The rate: <paramref name="baseLr"/> x factor^reductions, never below <paramref name="minLr"/>.</summary>
    public double Rate(double baseLr, double factor, double minLr) => Math.Max(minLr, baseLr * Math.Pow(factor, Reductions));
}
