using Pcme.Analysis;

namespace Pcme.Tests.Analysis;

public class AmbiguityAnalysisTests
{
    [Fact]
    public void Spearman_matches_hand_computed_values_with_ties()
    {
        // x ranks: 1, 2.5, 2.5, 4 ; y ranks: 1, 2, 3, 4 -> Pearson of ranks.
        double rho = AmbiguityAnalysis.Spearman([1, 2, 2, 5], [10, 20, 30, 40]);
        double[] rx = [1, 2.5, 2.5, 4], ry = [1, 2, 3, 4];
        double mx = 2.5, my = 2.5;
        double num = rx.Zip(ry, (a, b) => (a - mx) * (b - my)).Sum();
        double den = Math.Sqrt(rx.Sum(a => (a - mx) * (a - mx)) * ry.Sum(b => (b - my) * (b - my)));
        Assert.Equal(num / den, rho, 12);
        Assert.Equal(1.0, AmbiguityAnalysis.Spearman([1, 2, 3], [5, 100, 1000]), 12);     // monotone, not linear
        Assert.Equal(-1.0, AmbiguityAnalysis.Spearman([1, 2, 3], [3, 2, 1]), 12);
        Assert.True(double.IsNaN(AmbiguityAnalysis.Spearman([1, 1, 1], [1, 2, 3])));
        Assert.Equal([1, 2.5, 2.5, 4], AmbiguityAnalysis.Ranks([1, 2, 2, 5]));
    }

    [Fact]
    public void Sigma_is_grouped_by_level_with_mean_std_and_relevant_counts()
    {
        var by = AmbiguityAnalysis.ByLevel([1, 3, 2, 10, 5], [0, 0, 1, null, 1], [1, 3, 10, 100, 20]);
        Assert.Equal(2, by.Count);
        Assert.Equal(new SigmaByLevel(0, 2, 2, 1, 2), by[0]);
        Assert.Equal(1, by[1].Level);
        Assert.Equal(3.5, by[1].MeanSigma, 12);
        Assert.Equal(1.5, by[1].StdSigma, 12);
        Assert.Equal(15, by[1].MeanRelevantImages, 12);
        Assert.Throws<ArgumentException>(() => AmbiguityAnalysis.ByLevel([1], [0, 1], [1]));
    }
}
