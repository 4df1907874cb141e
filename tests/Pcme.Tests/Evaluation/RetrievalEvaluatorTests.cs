using Pcme.Evaluation;
using TorchSharp;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Evaluation;

public class RetrievalEvaluatorTests
{
    /// <summary>
    /// 9 queries x 6 gallery items. Rankings (stable descending sort: ties go to the lower gallery index) and,
    /// per query, the sorted 0-based positions p of its relevant items, R-Precision and AP@R:
    /// <code>
    /// q  scores                          relevant  ranking (gallery)   p        RP    AP@R
    /// 0  .9 .1 .8 .3 .2 .0               {2}       0 2 3 4 1 5         [1]      0     0
    /// 1  .5 .7 .6 .4 .3 .2               {0,1,5}   1 2 0 3 4 5         [0,2,5]  2/3   (1/1 + 2/3)/3 = 5/9
    /// 2  .5 .5 .5 .5 .5 .5 (all tied)    {3}       0 1 2 3 4 5         [3]      0     0
    /// 3  .6 .5 .4 .3 .2 .1               {5}       0 1 2 3 4 5         [5]      0     0      (relevant item last)
    /// 4  .3 .9 .9 .1 .2 .0               {2}       1 2 0 4 3 5         [1]      0     0      (tie lost to lower index 1)
    /// 5  .3 .9 .9 .1 .2 .0               {1}       1 2 0 4 3 5         [0]      1     1      (tie won: it is the lower index)
    /// 6  0 0 0 0 0 0                     {}        -                   -        excluded from every mean
    /// 7  .1 .2 .3 .4 .5 .6               {4,5}     5 4 3 2 1 0         [0,1]    1     (1 + 1)/2 = 1
    /// 8  .9 .8 .7 .6 .5 .4               {1,2,4}   0 1 2 3 4 5         [1,2,4]  2/3   (1/2 + 2/3)/3 = 7/18
    /// </code>
    /// 8 answerable queries. First ranks 1 0 3 5 1 0 0 1.
    /// R@1 = {1,5,7} = 3/8 = 37.5; R@5 = all but q3 (rank 5) = 7/8 = 87.5; R@10 = 8/8 = 100.
    /// R-P = (2/3 + 1 + 1 + 2/3) / 8 = 10/24; mAP@R = (5/9 + 1 + 1 + 7/18) / 8 = 53/144.
    /// medr: sorted ranks 0 0 0 1 1 1 3 5, median 1, floor(1) + 1 = 2; meanr = 11/8 + 1 = 2.375.
    /// </summary>
    internal static readonly float[,] Scores =
    {
        { .9f, .1f, .8f, .3f, .2f, .0f },
        { .5f, .7f, .6f, .4f, .3f, .2f },
        { .5f, .5f, .5f, .5f, .5f, .5f },
        { .6f, .5f, .4f, .3f, .2f, .1f },
        { .3f, .9f, .9f, .1f, .2f, .0f },
        { .3f, .9f, .9f, .1f, .2f, .0f },
        { 0f, 0f, 0f, 0f, 0f, 0f },
        { .1f, .2f, .3f, .4f, .5f, .6f },
        { .9f, .8f, .7f, .6f, .5f, .4f },
    };

    internal static readonly int[][] Relevant = [[2], [0, 1, 5], [3], [5], [2], [1], [], [4, 5], [1, 2, 4]];

    static GalleryRelevance FixtureRelevance() => GalleryRelevance.FromLists(Relevant, 6);

    [Fact]
    public void Hand_computed_metrics_on_the_fixture()
    {
        var result = RetrievalEvaluator.Evaluate(tensor(Scores), FixtureRelevance());
        var m = result.Metrics;
        Assert.Equal([1, 5, 10], m.Recalls.Select(r => r.K));
        Close(37.5, m.RecallAt(1));
        Close(87.5, m.RecallAt(5));
        Close(100, m.RecallAt(10));
        Close(100.0 * 10 / 24, m.RPrecision);
        Close(100.0 * 53 / 144, m.MapAtR);
        Close(2, m.MedianRank);
        Close(2.375, m.MeanRank);
        Assert.Equal(8, m.QueryCount);
        Assert.Equal(1, m.QueriesWithoutRelevant);
        Assert.Equal(6, m.GalleryCount);
        Assert.Null(m.Pmrp);

        var q = result.Queries;
        Assert.Equal([1, 0, 3, 5, 1, 0, -1, 0, 1], q.FirstRelevantRank);
        Assert.Equal([1, 3, 1, 1, 1, 1, 0, 2, 3], q.RelevantCount);
        double[] rp = [0, 2.0 / 3, 0, 0, 0, 1, double.NaN, 1, 2.0 / 3];
        double[] ap = [0, 5.0 / 9, 0, 0, 0, 1, double.NaN, 1, 7.0 / 18];
        for (int i = 0; i < rp.Length; i++)
        {
            if (double.IsNaN(rp[i])) { Assert.True(double.IsNaN(q.RPrecision[i])); Assert.True(double.IsNaN(q.AveragePrecisionAtR[i])); continue; }
            Close(rp[i], q.RPrecision[i]);
            Close(ap[i], q.AveragePrecisionAtR[i]);
        }
        Assert.False(q.HasRelevant(6));
        Assert.True(q.IsHitAt(3, 6));
        Assert.False(q.IsHitAt(3, 5));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Ties_go_to_the_lower_gallery_index(bool bySorting)
    {
        var options = new EvaluationOptions { Ranking = bySorting ? RankingMethod.Sort : RankingMethod.Count };
        // Every score equal: the ranking is the gallery order, so the relevant item's rank is its index.
        var flat = zeros(3, 5);
        var relevance = GalleryRelevance.FromLists([[0], [2], [4]], 5);
        var q = RetrievalEvaluator.Evaluate(flat, relevance, options).Queries;
        Assert.Equal([0, 2, 4], q.FirstRelevantRank);
        // Queries 4 and 5 of the fixture: items 1 and 2 tie at 0.9; item 1 wins, whichever is relevant.
        var fixture = RetrievalEvaluator.Evaluate(tensor(Scores), FixtureRelevance(), options).Queries;
        Assert.False(fixture.IsHitAt(4, 1));
        Assert.True(fixture.IsHitAt(5, 1));
        Assert.Equal([1, 0, 3, 5, 1, 0, -1, 0, 1], fixture.FirstRelevantRank);
        // Same in float64 and with -0.0 == +0.0 and infinities as ordinary values.
        var special = tensor(new double[,] { { -0.0, 0.0, double.PositiveInfinity, double.NegativeInfinity } });
        var s = RetrievalEvaluator.Evaluate(special, GalleryRelevance.FromLists([[1]], 4), options).Queries;
        Assert.Equal(2, s.FirstRelevantRank[0]);   // ranking: 2 (+inf), 0 (-0.0), 1 (+0.0, ties with item 0), 3 (-inf)
        var last = RetrievalEvaluator.Evaluate(special, GalleryRelevance.FromLists([[3]], 4), options).Queries;
        Assert.Equal(3, last.FirstRelevantRank[0]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(1000)]
    public void Block_size_does_not_change_results(int blockSize)
    {
        var reference = RetrievalEvaluator.Evaluate(tensor(Scores), FixtureRelevance(), new EvaluationOptions { QueryBlockSize = 9 });
        var blocked = RetrievalEvaluator.Evaluate(tensor(Scores), FixtureRelevance(), new EvaluationOptions { QueryBlockSize = blockSize });
        Assert.Equal(reference.Queries.FirstRelevantRank, blocked.Queries.FirstRelevantRank);
        Assert.Equal(reference.Metrics.ToJson().ToJsonString(), blocked.Metrics.ToJson().ToJsonString());
    }

    [Fact]
    public void Matches_a_naive_reference_on_random_tie_heavy_scores()
    {
        var g = new Generator(31);
        // Scores on a grid of 5 values: many ties. 23 queries x 17 gallery items, 0-4 relevant each.
        var scores = randint(0, 5, [23, 17], generator: g).to(float32).div(4);
        var flags = rand([23, 17], generator: g).lt(0.15);
        var lists = B2(flags).Select(row => Enumerable.Range(0, row.Length).Where(j => row[j]).ToArray()).ToArray();
        var s = D2(scores);
        var options = new EvaluationOptions { RecallKs = [1, 2, 5, 10, 50] };
        foreach (int block in new[] { 1, 3, 23 })
        foreach (var method in new[] { RankingMethod.Sort, RankingMethod.Count, RankingMethod.Auto })
        {
            var m = RetrievalEvaluator.Evaluate(scores, GalleryRelevance.FromLists(lists, 17), options with { QueryBlockSize = block, Ranking = method }).Metrics;
            var answerable = Enumerable.Range(0, 23).Where(q => lists[q].Length > 0).ToArray();
            foreach (var k in options.RecallKs)
                Close(100.0 * answerable.Count(q => NaiveRanking(s[q]).Take(k).Any(lists[q].Contains)) / answerable.Length, m.RecallAt(k));
            Close(100 * answerable.Average(q => NaiveRPrecision(s[q], lists[q])), m.RPrecision);
            Close(100 * answerable.Average(q => NaiveAveragePrecisionAtR(s[q], lists[q])), m.MapAtR);
            Assert.Equal(23 - answerable.Length, m.QueriesWithoutRelevant);
        }
    }

    /// <summary>Gallery indices by descending score, ties by ascending index, with a plain insertion-stable LINQ sort.</summary>
    internal static int[] NaiveRanking(double[] row) => Enumerable.Range(0, row.Length).OrderByDescending(j => row[j]).ToArray();

    static double NaiveRPrecision(double[] row, int[] relevant)
    {
        int r = relevant.Length;
        return (double)NaiveRanking(row).Take(r).Count(relevant.Contains) / r;
    }

    static double NaiveAveragePrecisionAtR(double[] row, int[] relevant)
    {
        int r = relevant.Length, seen = 0;
        double sum = 0;
        var ranking = NaiveRanking(row);
        for (int i = 0; i < r; i++)
            if (relevant.Contains(ranking[i])) { seen++; sum += (double)seen / (i + 1); }
        return sum / r;
    }

    [Fact]
    public void Any_cut_off_and_cut_offs_beyond_the_gallery()
    {
        var m = RetrievalEvaluator.Evaluate(tensor(Scores), FixtureRelevance(), new EvaluationOptions { RecallKs = [100, 2, 1] }).Metrics;
        Assert.Equal([1, 2, 100], m.Recalls.Select(r => r.K));
        Close(100 * 6.0 / 8, m.RecallAt(2));   // first ranks < 2: q0 q1 q4 q5 q7 q8
        Close(100, m.RecallAt(100));
        Assert.Throws<KeyNotFoundException>(() => m.RecallAt(5));
        Assert.Throws<ArgumentException>(() => RetrievalMetrics.Rsum(m, m));
    }

    [Fact]
    public void Block_scorer_is_called_block_by_block()
    {
        var full = tensor(Scores);
        var calls = new List<(int Start, int Count)>();
        var result = RetrievalEvaluator.Evaluate((start, count) => { calls.Add((start, count)); return full.narrow(0, start, count); },
            9, 6, FixtureRelevance(), new EvaluationOptions { QueryBlockSize = 4 });
        Assert.Equal([(0, 4), (4, 4), (8, 1)], calls);
        Close(37.5, result.Metrics.RecallAt(1));
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_reasons()
    {
        var relevance = FixtureRelevance();
        var nan = tensor(Scores).clone();
        nan[3, 2] = tensor(float.NaN);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate(nan, relevance)).Message);
        Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate(zeros(9, 5), relevance));
        Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate(zeros(9), relevance));
        Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate(zeros(9, 6, dtype: int64), relevance));
        Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate((s, c) => zeros(c, 5), 9, 6, relevance));
        Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate(zeros(2, 6), GalleryRelevance.FromLists([[], []], 6)));
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrievalEvaluator.Evaluate(tensor(Scores), relevance, new EvaluationOptions { QueryBlockSize = 0 }));
        Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate(tensor(Scores), relevance, new EvaluationOptions { RecallKs = [0] }));
    }

    [Fact]
    public void Rsum_json_and_table()
    {
        var m = RetrievalEvaluator.Evaluate(tensor(Scores), FixtureRelevance()).Metrics;
        var both = new CrossModalMetrics(m, m);
        Close(2 * (37.5 + 87.5 + 100), both.Rsum);
        var json = both.ToJson();
        Close(37.5, json["i2t"]!["recall"]!["1"]!.GetValue<double>());
        Close(100.0 * 53 / 144, json["t2i"]!["map_at_r"]!.GetValue<double>());
        Assert.Null(json["i2t"]!["pmrp"]);
        Assert.Equal(8, json["i2t"]!["queries"]!.GetValue<int>());
        Close(450, json["rsum"]!.GetValue<double>());
        var table = both.ToTable();
        var lines = table.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("direction", lines[0]);
        Assert.Contains("R@10", lines[0]);
        // R@1 R@5 R@10, P@1 P@5 P@10 P@50 P@100 (PrecisionAtKTests), R-P, mAP@R, PMRP, queries, gallery.
        Assert.Matches(@"^i2t\s+37\.50\s+87\.50\s+100\.00\s+37\.50\s+27\.50\s+16\.25\s+3\.25\s+1\.6\d\s+41\.67\s+36\.81\s+-\s+8\s+6$", lines[1]);
        Assert.Equal("RSUM 450.00", lines[3]);
    }

    [Fact]
    public void Averaging_is_metric_by_metric_and_counts_add()
    {
        var a = RetrievalEvaluator.Evaluate(tensor(Scores), FixtureRelevance()).Metrics;
        var b = RetrievalEvaluator.Evaluate(zeros(2, 6), GalleryRelevance.FromLists([[0], [5]], 6)).Metrics;   // ranks 0 and 5
        var mean = RetrievalMetrics.Average([a, b]);
        Close((37.5 + 50) / 2, mean.RecallAt(1));
        Close((87.5 + 50) / 2, mean.RecallAt(5));
        Close((100.0 * 10 / 24 + 50) / 2, mean.RPrecision);
        Assert.Equal(10, mean.QueryCount);
        Assert.Equal(2, mean.FoldCount);
    }
}
