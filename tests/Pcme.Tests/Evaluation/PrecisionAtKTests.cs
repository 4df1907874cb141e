using Pcme.Evaluation;
using TorchSharp;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Evaluation;

/// <summary>
/// Precision@K against the official CUB evaluator's <c>precision_at_k</c> (engine/eval_cub.py): the ranked gallery
/// labels cut to the first K columns, matches summed and divided by K (not by the number of columns left, so K past
/// the gallery still divides by K), the mean over queries.
/// </summary>
public class PrecisionAtKTests
{
    /// <summary>The official form on class labels: knn_labels[:, :k] == gt_labels, summed over the row, / k.</summary>
    static double OfficialPrecisionAtK(int[][] knnLabels, int[] gtLabels, int k) =>
        Enumerable.Range(0, gtLabels.Length).Average(q => (double)knnLabels[q].Take(k).Count(l => l == gtLabels[q]) / k);

    /// <summary>P@K of one query from relevance lists: relevant items in the naive ranking's first K, / K.</summary>
    static double NaivePrecision(double[] row, int[] relevant, int k) =>
        (double)RetrievalEvaluatorTests.NaiveRanking(row).Take(k).Count(relevant.Contains) / k;

    [Fact]
    public void Hand_computed_precision_on_the_fixture()
    {
        // RetrievalEvaluatorTests' fixture: sorted positions p of the relevant items per answerable query
        // [1] [0,2,5] [3] [5] [1] [0] [0,1] [1,2,4]: in the top 5 1+2+1+0+1+1+2+3 = 11, all 13 in the top 6.
        var m = RetrievalEvaluator.Evaluate(tensor(RetrievalEvaluatorTests.Scores), GalleryRelevance.FromLists(RetrievalEvaluatorTests.Relevant, 6)).Metrics;
        Assert.Equal([1, 5, 10, 50, 100], m.Precisions.Select(p => p.K));
        Close(m.RecallAt(1), m.PrecisionAt(1));
        Close(100.0 * 11 / 40, m.PrecisionAt(5));
        Close(100.0 * 13 / 80, m.PrecisionAt(10));    // K = 10 > 6 gallery items: still / 10
        Close(100.0 * 13 / 800, m.PrecisionAt(100));
        Assert.Throws<KeyNotFoundException>(() => m.PrecisionAt(2));
    }

    [Fact]
    public void Matches_the_official_class_label_form_including_k_beyond_the_gallery()
    {
        var g = new Generator(41);
        // CUB-like: 4 classes, 30 queries x 23 gallery items, tie-heavy scores; K = 50 and 100 exceed the gallery.
        var scores = randint(0, 6, [30, 23], generator: g).to(float32).div(5);
        var queryClasses = randint(0, 4, [30], generator: g).data<long>().Select(x => (int)x).ToArray();
        var galleryClasses = randint(0, 4, [23], generator: g).data<long>().Select(x => (int)x).ToArray();
        var s = D2(scores);
        // The official knn_labels: gallery classes in ranking order (here the stable tie rule, as the kit documents).
        var knn = s.Select(row => RetrievalEvaluatorTests.NaiveRanking(row).Select(j => galleryClasses[j]).ToArray()).ToArray();
        var relevance = GalleryRelevance.FromClasses(queryClasses, galleryClasses);
        Assert.All(Enumerable.Range(0, 30), q => Assert.True(relevance.CountFor(q) > 0));   // every query answerable, as in CUB
        var m = RetrievalEvaluator.Evaluate(scores, relevance).Metrics;
        foreach (var k in new[] { 1, 5, 10, 50, 100 })
            Close(100 * OfficialPrecisionAtK(knn, queryClasses, k), m.PrecisionAt(k), rel: 1e-12);
    }

    [Fact]
    public void Matches_a_naive_reference_on_random_relevance_with_unanswerable_queries()
    {
        var g = new Generator(42);
        // 27 queries x 17 gallery items, 0-5 relevant each (some none), grid-valued scores (many ties).
        var scores = randint(0, 5, [27, 17], generator: g).to(float32).div(4);
        var flags = rand([27, 17], generator: g).lt(0.12);
        var lists = B2(flags).Select(row => Enumerable.Range(0, row.Length).Where(j => row[j]).ToArray()).ToArray();
        lists[3] = []; lists[11] = [];
        var s = D2(scores);
        var answerable = Enumerable.Range(0, 27).Where(q => lists[q].Length > 0).ToArray();
        Assert.True(answerable.Length < 27);
        int[] ks = [100, 1, 3, 17, 18, 5];
        foreach (int block in new[] { 1, 4, 27 })
        foreach (var method in new[] { RankingMethod.Sort, RankingMethod.Count, RankingMethod.Auto })
        {
            var options = new EvaluationOptions { PrecisionKs = ks, QueryBlockSize = block, Ranking = method };
            var result = RetrievalEvaluator.Evaluate(scores, GalleryRelevance.FromLists(lists, 17), options);
            Assert.Equal([1, 3, 5, 17, 18, 100], result.Metrics.Precisions.Select(p => p.K));
            foreach (var k in ks)
            {
                // Per query, unanswerable ones included (0); the metric averages the answerable ones, as for every metric.
                for (int q = 0; q < 27; q++) Close(lists[q].Length == 0 ? 0 : NaivePrecision(s[q], lists[q], k), result.Queries.PrecisionAt(q, k), abs: 1e-15);
                Close(100 * answerable.Average(q => NaivePrecision(s[q], lists[q], k)), result.Metrics.PrecisionAt(k));
            }
        }
    }

    [Fact]
    public void Json_table_averaging_and_validation()
    {
        var relevance = GalleryRelevance.FromLists(RetrievalEvaluatorTests.Relevant, 6);
        var a = RetrievalEvaluator.Evaluate(tensor(RetrievalEvaluatorTests.Scores), relevance).Metrics;
        var json = a.ToJson();
        Close(100.0 * 11 / 40, json["precision"]!["5"]!.GetValue<double>());
        Assert.Equal(5, json["precision"]!.AsObject().Count);
        foreach (var key in new[] { "recall", "r_precision", "map_at_r", "pmrp", "median_rank", "mean_rank", "queries", "queries_without_relevant", "gallery", "folds" })
            Assert.True(json.ContainsKey(key), key);
        var header = MetricsTable.Format([("i2t", a)]).Split(Environment.NewLine)[0];
        Assert.Matches(@"R@10\s+P@1\s+P@5\s+P@10\s+P@50\s+P@100\s+R-P", header);

        var b = RetrievalEvaluator.Evaluate(zeros(2, 6), GalleryRelevance.FromLists([[0], [5]], 6)).Metrics;   // positions 0 and 5
        var mean = RetrievalMetrics.Average([a, b]);
        Close((100.0 * 11 / 40 + 100.0 * 1 / 5 / 2) / 2, mean.PrecisionAt(5));
        var other = RetrievalEvaluator.Evaluate(zeros(2, 6), GalleryRelevance.FromLists([[0], [5]], 6), new EvaluationOptions { PrecisionKs = [5] }).Metrics;
        Assert.Throws<ArgumentException>(() => RetrievalMetrics.Average([a, other]));

        var none = RetrievalEvaluator.Evaluate(tensor(RetrievalEvaluatorTests.Scores), relevance, new EvaluationOptions { PrecisionKs = [] }).Metrics;
        Assert.Empty(none.Precisions);
        Assert.Empty(none.ToJson()["precision"]!.AsObject());
        Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate(tensor(RetrievalEvaluatorTests.Scores), relevance, new EvaluationOptions { PrecisionKs = [0] }));
    }
}
