using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Pcme.Evaluation;

/// <summary>One uncertainty bin of <see cref="UncertaintyAnalysis.RecallByUncertainty(IReadOnlyList{double}, IReadOnlyList{bool}, int)"/>.</summary>
/// <param name="Index">0 = the least uncertain queries.</param>
/// <param name="QueryCount">Queries in the bin.</param>
/// <param name="MeanUncertainty">Mean uncertainty of its queries (the x value of the paper's Fig. 6).</param>
/// <param name="MinUncertainty">Smallest uncertainty in the bin.</param>
/// <param name="MaxUncertainty">Largest uncertainty in the bin.</param>
/// <param name="Recall">Recall@K of its queries (K = 1 for Fig. 6), percent.</param>
public sealed record UncertaintyBin(int Index, int QueryCount, double MeanUncertainty, double MinUncertainty, double MaxUncertainty, double Recall)
{
    /// <summary>As JSON: <c>{"bin", "queries", "mean_uncertainty", "min_uncertainty", "max_uncertainty", "recall"}</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["bin"] = Index,
        ["queries"] = QueryCount,
        ["mean_uncertainty"] = MetricsJson.Number(MeanUncertainty),
        ["min_uncertainty"] = MetricsJson.Number(MinUncertainty),
        ["max_uncertainty"] = MetricsJson.Number(MaxUncertainty),
        ["recall"] = MetricsJson.Number(Recall),
    };
}

/// <summary>
/// Summary of an uncertainty vector of one modality. The standard deviation is the population one
/// (divide by N, numpy's default); quartiles interpolate linearly between order statistics (numpy's
/// default "linear" method: position p (N - 1) in the sorted values).
/// </summary>
/// <param name="Count">N.</param>
/// <param name="Mean">Mean.</param>
/// <param name="StandardDeviation">Population standard deviation.</param>
/// <param name="Min">Minimum.</param>
/// <param name="FirstQuartile">25th percentile.</param>
/// <param name="Median">50th percentile.</param>
/// <param name="ThirdQuartile">75th percentile.</param>
/// <param name="Max">Maximum.</param>
public sealed record UncertaintyStatistics(int Count, double Mean, double StandardDeviation, double Min, double FirstQuartile, double Median, double ThirdQuartile, double Max)
{
    /// <summary>Statistics of <paramref name="values"/> (at least one, none NaN).</summary>
    public static UncertaintyStatistics Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("Statistics of an empty uncertainty vector are undefined.", nameof(values));
        if (values.Any(double.IsNaN)) throw new ArgumentException("The uncertainty vector contains NaN.", nameof(values));
        var sorted = values.Order().ToArray();
        double mean = sorted.Average();
        double variance = sorted.Sum(v => (v - mean) * (v - mean)) / sorted.Length;
        return new UncertaintyStatistics(sorted.Length, mean, Math.Sqrt(variance), sorted[0],
            Percentile(sorted, 0.25), Percentile(sorted, 0.5), Percentile(sorted, 0.75), sorted[^1]);
    }

    /// <summary>Statistics of <paramref name="values"/> (an array overload: TorchSharp also converts arrays to tensors implicitly).</summary>
    public static UncertaintyStatistics Of(double[] values) => Of((IReadOnlyList<double>)values);

    /// <summary>Statistics of a vector [N] (e.g. <see cref="Probabilistic.GaussianEmbedding.Uncertainty"/>).</summary>
    public static UncertaintyStatistics Of(Tensor values) => Of(UncertaintyAnalysis.ToArray(values));

    static double Percentile(double[] sorted, double p)
    {
        double position = p * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        if (below >= sorted.Length - 1) return sorted[^1];
        return sorted[below] + (position - below) * (sorted[below + 1] - sorted[below]);
    }

    /// <summary>As JSON: <c>{"count", "mean", "std", "min", "q1", "median", "q3", "max"}</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["count"] = Count,
        ["mean"] = MetricsJson.Number(Mean),
        ["std"] = MetricsJson.Number(StandardDeviation),
        ["min"] = MetricsJson.Number(Min),
        ["q1"] = MetricsJson.Number(FirstQuartile),
        ["median"] = MetricsJson.Number(Median),
        ["q3"] = MetricsJson.Number(ThirdQuartile),
        ["max"] = MetricsJson.Number(Max),
    };
}

/// <summary>
/// How retrieval quality varies with the model's uncertainty (PCME paper Fig. 6): queries sorted by their
/// uncertainty (shared/DESIGN.md §3: instance uncertainty = exp(mean(h) / 2),
/// <see cref="Probabilistic.GaussianEmbedding.Uncertainty"/>), cut into equal-count bins, recall per bin.
/// </summary>
public static class UncertaintyAnalysis
{
    /// <summary>The default number of bins (the paper's Fig. 6 uses 10).</summary>
    public const int DefaultBinCount = 10;

    /// <summary>
    /// Sorts queries by ascending uncertainty (ties: lower query index first) and cuts them into
    /// <paramref name="binCount"/> equal-count bins: bin b holds sorted positions
    /// [floor(b N / bins), floor((b + 1) N / bins)), so sizes differ by at most one when N is not a multiple.
    /// </summary>
    /// <param name="uncertainty">Per query, its uncertainty [N].</param>
    /// <param name="hit">Per query, whether it was answered correctly (e.g. a hit at 1).</param>
    /// <param name="binCount">Number of bins (1 &lt;= bins &lt;= N).</param>
    public static IReadOnlyList<UncertaintyBin> RecallByUncertainty(IReadOnlyList<double> uncertainty, IReadOnlyList<bool> hit, int binCount = DefaultBinCount)
    {
        if (uncertainty.Count != hit.Count)
            throw new ArgumentException($"{uncertainty.Count} uncertainties for {hit.Count} queries.", nameof(hit));
        if (binCount < 1 || binCount > uncertainty.Count)
            throw new ArgumentOutOfRangeException(nameof(binCount), binCount, $"Bins must number between 1 and the number of queries ({uncertainty.Count}).");
        if (uncertainty.Any(double.IsNaN)) throw new ArgumentException("The uncertainty vector contains NaN.", nameof(uncertainty));
        int n = uncertainty.Count;
        var order = Enumerable.Range(0, n).OrderBy(q => uncertainty[q]).ToArray();   // OrderBy is stable
        var bins = new UncertaintyBin[binCount];
        for (int b = 0; b < binCount; b++)
        {
            int from = (int)((long)b * n / binCount), to = (int)((long)(b + 1) * n / binCount);
            var members = order[from..to];
            bins[b] = new UncertaintyBin(b, members.Length,
                members.Average(q => uncertainty[q]), uncertainty[members[0]], uncertainty[members[^1]],
                100.0 * members.Count(q => hit[q]) / members.Length);
        }
        return bins;
    }

    /// <summary>
    /// Recall@<paramref name="k"/> per uncertainty bin of one direction's evaluated queries. Queries with no
    /// relevant item are left out first (as from every metric), then the rest are binned.
    /// </summary>
    /// <param name="uncertainty">Per query [Q], in the order of the evaluation's queries.</param>
    /// <param name="outcomes">The direction's per-query outcomes.</param>
    /// <param name="binCount">Number of bins.</param>
    /// <param name="k">The recall cut-off (paper Fig. 6: 1).</param>
    public static IReadOnlyList<UncertaintyBin> RecallByUncertainty(Tensor uncertainty, QueryOutcomes outcomes, int binCount = DefaultBinCount, int k = 1)
    {
        var values = ToArray(uncertainty);
        if (values.Length != outcomes.Count)
            throw new ArgumentException($"{values.Length} uncertainties for {outcomes.Count} queries.", nameof(uncertainty));
        var answerable = Enumerable.Range(0, outcomes.Count).Where(outcomes.HasRelevant).ToArray();
        return RecallByUncertainty(answerable.Select(q => values[q]).ToArray(), answerable.Select(q => outcomes.IsHitAt(q, k)).ToArray(), binCount);
    }

    /// <summary>A vector [N] (any shape that flattens to N values) as doubles on the CPU.</summary>
    internal static double[] ToArray(Tensor values) =>
        values.detach().reshape(-1).to(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
}
