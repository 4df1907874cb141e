using Pcme.Plots;

namespace Pcme.Tests.Plots;

public class PlotStatisticsTests
{
    [Fact]
    public void Average_ranks_share_ties()
    {
        Assert.Equal([1.0, 2.5, 2.5, 4.0], PlotStatistics.AverageRanks([10.0, 20.0, 20.0, 30.0]));
        Assert.Equal([3.0, 1.0, 2.0], PlotStatistics.AverageRanks([5.0, -1.0, 0.0]));
    }

    [Fact]
    public void Spearman_matches_scipy_with_ties()
    {
        // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]).statistic = 0.9486832980505138
        Assert.Equal(0.9486832980505138, PlotStatistics.Spearman([1.0, 2, 2, 3], [1.0, 3, 2, 4]), 12);
        Assert.Equal(-1.0, PlotStatistics.Spearman([1.0, 2, 3], [9.0, 4, 1]), 12);
        Assert.True(double.IsNaN(PlotStatistics.Spearman([1.0, 1, 1], [1.0, 2, 3])));
        Assert.Throws<ArgumentException>(() => PlotStatistics.Spearman([1.0], [1.0, 2]));
    }

    [Fact]
    public void Sigma_by_specificity_groups_and_orders_levels()
    {
        var levels = PlotStatistics.SigmaBySpecificity([2, 0, 2, 0], [1.0, 4.0, 3.0, 6.0]);
        Assert.Equal([new LevelSigma(0, 2, 5.0, 1.0), new LevelSigma(2, 2, 2.0, 1.0)], levels);
    }
}
