namespace Pcme.Training;

/// <summary>
/// Stops a run whose loss explodes while staying finite (a learning rate of 1e8 took the loss to 1e15
/// and the run "succeeded"): a loss whose magnitude exceeds <see cref="Factor"/> x the median magnitude of
/// the recent losses (and at least <see cref="Floor"/>), a non-finite loss, or a non-finite gradient norm
/// is divergence. The median of a window (not the mean) so one exploding step cannot raise its own bar.
/// </summary>
public sealed class DivergenceGuard
{
    /// <summary>A loss this many times the recent median magnitude is divergence.</summary>
    public const double Factor = 1e3;
    /// <summary>Losses below this magnitude never count as divergence (tiny medians near a perfect fit).</summary>
    public const double Floor = 1.0;
    /// <summary>Steps in the median window.</summary>
    public const int Window = 200;
    /// <summary>Steps seen before the ratio test applies (the first losses set the scale).</summary>
    public const int WarmupSteps = 5;

    readonly Queue<double> recent = new();

    /// <summary>Records a step; returns why training must stop, or null when the step looks sane.</summary>
    public string? Check(double loss, double? gradientNorm = null)
    {
        if (!double.IsFinite(loss)) return $"the loss became {loss}";
        if (gradientNorm is { } g && !double.IsFinite(g)) return $"the gradient norm became {g} (loss {loss:G4})";
        double magnitude = Math.Abs(loss);
        if (recent.Count >= WarmupSteps)
        {
            double median = Median(recent);
            if (magnitude > Floor && magnitude > Factor * median)
                return $"the loss grew to {loss:G4}, more than {Factor:G0} x its recent median ({median:G4})";
        }
        recent.Enqueue(magnitude);
        if (recent.Count > Window) recent.Dequeue();
        return null;
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
