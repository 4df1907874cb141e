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
