using Pcme.Training;

namespace Pcme.Tests.Training;

public class DivergenceGuardTests
{
    [Fact]
    public void A_finite_loss_far_past_its_recent_median_stops_the_run_but_ordinary_noise_does_not()
    {
        var guard = new DivergenceGuard();
        double[] losses = [5, 4.5, 4.8, 4.2, 3.9, 4.1, 6.0, 3.5, 12.0, 3.0];   // noisy, one spike of 3x
        foreach (var l in losses) Assert.Null(guard.Check(l, gradientNorm: 1.5));
        // Median of the window above: 4.15; 1e3 x that is 4,150.
        Assert.Null(guard.Check(4_000));
        string? why = guard.Check(1e15);
        Assert.NotNull(why);
        Assert.Contains("1E+15", why);
        Assert.Contains("median", why);
    }

    [Fact]
    public void Non_finite_losses_and_gradient_norms_stop_at_once_and_tiny_losses_never_count()
    {
        Assert.Contains("NaN", new DivergenceGuard().Check(double.NaN));
        Assert.Contains("gradient norm", new DivergenceGuard().Check(1.0, double.PositiveInfinity));
        var guard = new DivergenceGuard();
        for (int i = 0; i < 10; i++) Assert.Null(guard.Check(1e-6));
        Assert.Null(guard.Check(0.5));   // 500,000 x the median, but below the floor of 1
        Assert.NotNull(guard.Check(2.0));
    }
}
