namespace Pcme.Plots;

/// <summary>Mean and spread of sigma over the captions of one specificity level.</summary>
/// <param name="Level">Specificity level, 0 = most specific .. 4 = vaguest.</param>
/// <param name="Count">Captions at this level.</param>
/// <param name="Mean">Mean sigma.</param>
/// <param name="Std">Population standard deviation of sigma (divides by <paramref name="Count"/>; 0 for one caption).</param>
public sealed record LevelSigma(int Level, int Count, double Mean, double Std);

/// <summary>The small statistics the figures print or draw, on plain arrays.</summary>
public static class PlotStatistics
{
    /// <summary>Mean and population standard deviation (divides by n, numpy's default) of a non-empty sample.</summary>
    public static (double Mean, double Std) MeanAndStd(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("Need at least one value.", nameof(values));
        double mean = 0;
        for (int i = 0; i < values.Count; i++) mean += values[i];
        mean /= values.Count;
        double squares = 0;
        for (int i = 0; i < values.Count; i++) squares += (values[i] - mean) * (values[i] - mean);
        return (mean, Math.Sqrt(squares / values.Count));
    }

    /// <summary>Mean and standard deviation of <paramref name="sigma"/> per level of <paramref name="specificity"/>, ordered by level.</summary>
    /// <param name="specificity">Each caption's specificity level (0 = most specific .. 4 = vaguest).</param>
    /// <param name="sigma">Each caption's sigma (e.g. the geometric mean exp(mean(h)/2)), same length.</param>
    public static IReadOnlyList<LevelSigma> SigmaBySpecificity(IReadOnlyList<int> specificity, IReadOnlyList<double> sigma)
    {
        if (specificity.Count != sigma.Count)
            throw new ArgumentException($"specificity has {specificity.Count} entries but sigma has {sigma.Count}.", nameof(sigma));
        return Enumerable.Range(0, sigma.Count)
            .GroupBy(i => specificity[i])
            .OrderBy(g => g.Key)
            .Select(g =>
            {
                var values = g.Select(i => sigma[i]).ToArray();
                var (mean, std) = MeanAndStd(values);
                return new LevelSigma(g.Key, values.Length, mean, std);
            })
            .ToArray();
    }

    /// <summary>Ranks 1..n with ties given the average of the ranks they span (scipy.stats.rankdata's default); see <see cref="Pcme.Analysis.AmbiguityAnalysis.Ranks"/>.</summary>
    public static double[] AverageRanks(IReadOnlyList<double> values) => Pcme.Analysis.AmbiguityAnalysis.Ranks(values);

    /// <summary>Spearman's rank correlation (equal to scipy.stats.spearmanr); see <see cref="Pcme.Analysis.AmbiguityAnalysis.Spearman"/>.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y) => Pcme.Analysis.AmbiguityAnalysis.Spearman(x, y);

    /// <summary>Pearson's correlation coefficient; see <see cref="Pcme.Analysis.AmbiguityAnalysis.Pearson"/>.</summary>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y) => Pcme.Analysis.AmbiguityAnalysis.Pearson(x, y);
}
