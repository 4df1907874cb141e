using Pcme.Evaluation;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Evaluation;

public class UncertaintyAnalysisTests
{
    [Fact]
    public void Equal_count_bins_sorted_by_uncertainty()
    {
        //  query:        0    1    2    3    4    5    6    7    8    9
        double[] u =    [.5,  .1,  .9,  .3,  .7,  .2,  .8,  .4,  .6,  .0];
        bool[] hit =    [false, true, false, false, true, true, false, true, false, true];
        // Ascending: q9 q1 | q5 q3 | q7 q0 | q8 q4 | q6 q2
        // hits:       T  T |  T  F |  T  F |  F  T |  F  F   -> 100, 50, 50, 50, 0
        var bins = UncertaintyAnalysis.RecallByUncertainty(u, hit, binCount: 5);
        Assert.Equal([0, 1, 2, 3, 4], bins.Select(b => b.Index));
        Assert.All(bins, b => Assert.Equal(2, b.QueryCount));
        Assert.Equal([100.0, 50, 50, 50, 0], bins.Select(b => b.Recall));
        double[] means = [.05, .25, .45, .65, .85];
        for (int b = 0; b < 5; b++) Close(means[b], bins[b].MeanUncertainty);
        Close(.3, bins[1].MaxUncertainty);
        Close(.2, bins[1].MinUncertainty);

        // 10 queries in 3 bins: positions [0, 3), [3, 6), [6, 10) -> sizes 3, 3, 4.
        var three = UncertaintyAnalysis.RecallByUncertainty(u, hit, binCount: 3);
        Assert.Equal([3, 3, 4], three.Select(b => b.QueryCount));
        Close(100, three[0].Recall);              // q9 q1 q5
        Close(100.0 / 3, three[1].Recall);        // q3 q7 q0
        Close(25, three[2].Recall);               // q8 q4 q6 q2
        Assert.Equal(10, UncertaintyAnalysis.RecallByUncertainty(u, hit).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => UncertaintyAnalysis.RecallByUncertainty(u, hit, binCount: 11));
    }

    [Fact]
    public void Bins_from_an_evaluation_skip_queries_without_relevant_items()
    {
        // Diagonal relevance; q2 and q3 rank their item first, q0 and q1 do not; q4 has no relevant item.
        var scores = tensor(new float[,]
        {
            { .1f, .9f, 0f, 0f },
            { .9f, .1f, 0f, 0f },
            { 0f, 0f, .9f, .1f },
            { 0f, 0f, .1f, .9f },
            { 1f, 0f, 0f, 0f },
        });
        var outcomes = RetrievalEvaluator.Evaluate(scores, GalleryRelevance.FromLists([[0], [1], [2], [3], []], 4)).Queries;
        // Uncertainties: answerable q3 .1, q2 .2 (both hits) | q1 .3, q0 .4 (misses); q4's 9.9 is ignored.
        var bins = UncertaintyAnalysis.RecallByUncertainty(tensor(new[] { .4, .3, .2, .1, 9.9 }), outcomes, binCount: 2);
        Assert.Equal([100.0, 0], bins.Select(b => b.Recall));
        Close(.15, bins[0].MeanUncertainty);
        Close(.35, bins[1].MeanUncertainty);
        // Recall@2 instead: q0 and q1 have their item second -> hits.
        Assert.Equal([100.0, 100], UncertaintyAnalysis.RecallByUncertainty(tensor(new[] { .4, .3, .2, .1, 9.9 }), outcomes, 2, k: 2).Select(b => b.Recall));
        Assert.Equal(2, bins[0].ToJson()["queries"]!.GetValue<int>());
    }

    [Fact]
    public void Statistics_of_one_modality()
    {
        // [4, 1, 3, 2]: mean 2.5; population variance (2.25 + .25 + .25 + 2.25) / 4 = 1.25;
        // quartiles at positions .75, 1.5, 2.25 of the sorted 1 2 3 4 -> 1.75, 2.5, 3.25.
        var s = UncertaintyStatistics.Of([4.0, 1, 3, 2]);
        Assert.Equal(4, s.Count);
        Close(2.5, s.Mean);
        Close(Math.Sqrt(1.25), s.StandardDeviation);
        Close(1, s.Min);
        Close(1.75, s.FirstQuartile);
        Close(2.5, s.Median);
        Close(3.25, s.ThirdQuartile);
        Close(4, s.Max);
        var fromTensor = UncertaintyStatistics.Of(tensor(new float[] { 4, 1, 3, 2 }));
        Assert.Equal(s, fromTensor);
        var single = UncertaintyStatistics.Of([7.0]);
        Assert.Equal(new UncertaintyStatistics(1, 7, 0, 7, 7, 7, 7, 7), single);
        Close(3.25, s.ToJson()["q3"]!.GetValue<double>());
        Assert.Throws<ArgumentException>(() => UncertaintyStatistics.Of(Array.Empty<double>()));
        Assert.Throws<ArgumentException>(() => UncertaintyStatistics.Of([double.NaN]));
    }
}
