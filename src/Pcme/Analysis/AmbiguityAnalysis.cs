namespace Pcme.Analysis;

/// <summary>Mean and spread of sigma for one caption specificity level.</summary>
/// <param name="Level">0 = most specific.</param>
/// <param name="Count">Captions at this level.</param>
/// <param name="MeanSigma">Mean instance uncertainty (geometric-mean sigma).</param>
/// <param name="StdSigma">Standard deviation of it.</param>
/// <param name="MeanRelevantImages">Mean number of relevant images of these captions.</param>
public sealed record SigmaByLevel(int Level, int Count, double MeanSigma, double StdSigma, double MeanRelevantImages);

/// <summary>Statistics that relate uncertainty to ambiguity (paper Sec. 4.4 and Fig. 6).</summary>
public static class AmbiguityAnalysis
{
    /// <summary>Groups <paramref name="sigma"/> by <paramref name="levels"/>; items with a null level are left out.</summary>
    public static IReadOnlyList<SigmaByLevel> ByLevel(IReadOnlyList<double> sigma, IReadOnlyList<int?> levels, IReadOnlyList<int> relevantCounts)
    {
        if (sigma.Count != levels.Count || sigma.Count != relevantCounts.Count)
            throw new ArgumentException($"sigma ({sigma.Count}), levels ({levels.Count}) and relevant counts ({relevantCounts.Count}) must have one entry per caption.");
        return Enumerable.Range(0, sigma.Count).Where(i => levels[i] is not null).GroupBy(i => levels[i]!.Value).OrderBy(g => g.Key)
            .Select(g =>
            {
                var s = g.Select(i => sigma[i]).ToArray();
                double mean = s.Average();
                return new SigmaByLevel(g.Key, s.Length, mean, Math.Sqrt(s.Select(x => (x - mean) * (x - mean)).Average()), g.Average(i => (double)relevantCounts[i]));
            }).ToArray();
    }

    /// <summary>
    /// Spearman's rank correlation: the Pearson correlation of the average ranks (correct with ties,
    /// equal to scipy.stats.spearmanr). NaN when either side is constant or there are fewer than 2 points.
    /// </summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"Spearman needs paired samples ({x.Count} vs {y.Count}).", nameof(y));
        foreach (var v in x.Concat(y))
            if (double.IsNaN(v)) throw new ArgumentException("Spearman's rho is undefined with NaN values.");
        if (x.Count < 2) return double.NaN;
        return Pearson(Ranks(x), Ranks(y));
    }

    /// <summary>Pearson's correlation coefficient.</summary>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"Pearson needs paired samples ({x.Count} vs {y.Count}).", nameof(y));
        int n = x.Count;
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my); }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>1-based ranks, ties sharing the average of their positions.</summary>
    public static double[] Ranks(IReadOnlyList<double> v)
    {
        var order = Enumerable.Range(0, v.Count).OrderBy(i => v[i]).ToArray();
        var ranks = new double[v.Count];
        for (int s = 0; s < order.Length;)
        {
            int e = s;
            while (e + 1 < order.Length && v[order[e + 1]] == v[order[s]]) e++;
            double avg = (s + e) / 2.0 + 1;
            for (int k = s; k <= e; k++) ranks[order[k]] = avg;
            s = e + 1;
        }
        return ranks;
    }
}
