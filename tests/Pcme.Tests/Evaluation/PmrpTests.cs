using Pcme.Evaluation;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Evaluation;

public class PmrpTests
{
    // Categories 0..3. Gallery labels (multi-hot):      Query labels:
    //   g0 {0}      1000                                   q0 {0,1}  1100
    //   g1 {0,1}    1100                                   q1 {2}    0010
    //   g2 {2}      0010                                   q2 {}     0000  (unlabelled)
    //   g3 {}       0000  (unlabelled)                     q3 {0}    1000
    //   g4 {0,1,2}  1110
    // Hamming distances (rows q, columns g0..g4):
    //   q0: 1 0 3 2 1      q1: 2 3 0 1 2      q2: 1 2 1 0 3      q3: 0 1 2 1 2
    static readonly int[][] GalleryLabels = [[0], [0, 1], [2], [], [0, 1, 2]];
    static readonly int[][] QueryLabels = [[0, 1], [2], [], [0]];

    // Rankings (ties to the lower index):
    //   q0: .5 .1 .9 .8 .3 -> g2 g3 g0 g4 g1
    //   q1: .9 .2 .2 .7 .4 -> g0 g3 g4 g1 g2   (g1, g2 tie at .2: g1 first)
    //   q2: .1 .2 .3 .4 .5 -> g4 g3 g2 g1 g0
    //   q3: .9 .8 .0 .0 .7 -> g0 g1 g4 g2 g3   (g2, g3 tie at 0: g2 first)
    static readonly float[,] Scores =
    {
        { .5f, .1f, .9f, .8f, .3f },
        { .9f, .2f, .2f, .7f, .4f },
        { .1f, .2f, .3f, .4f, .5f },
        { .9f, .8f, 0f, 0f, .7f },
    };

    static PlausibleMatchLabels Labels() => new(
        MultiHotLabels.FromIndices(QueryLabels, 4), MultiHotLabels.FromIndices(GalleryLabels, 4));

    [Fact]
    public void Official_rule_excludes_unlabelled_items()
    {
        // q2 is skipped; g3 leaves every ranking:  q0: g2 g0 g4 g1   q1: g0 g4 g1 g2   q3: g0 g1 g4 g2
        //         plausible set (R)        top R          RP      top-1 plausible
        // z=0 q0: {g1} (1)                 g2             0       no
        //     q1: {g2} (1)                 g0             0       no
        //     q3: {g0} (1)                 g0             1       yes     -> RP 1/3, R@1 1/3
        // z=1 q0: {g0,g1,g4} (3)           g2 g0 g4       2/3     no
        //     q1: {g2} (1; g3 excluded)    g0             0       no
        //     q3: {g0,g1} (2; g3 excl.)    g0 g1          1       yes     -> RP 5/9, R@1 1/3
        // z=2 q0: {g0,g1,g4} (3)           g2 g0 g4       2/3     no
        //     q1: {g0,g2,g4} (3)           g0 g4 g1       2/3     yes
        //     q3: {g0,g1,g2,g4} (4)        all four       1       yes     -> RP 7/9, R@1 2/3
        // PMRP = (1/3 + 5/9 + 7/9) / 3 = 5/9.
        var m = PlausibleMatchRPrecision.Evaluate(tensor(Scores), Labels());
        Assert.Equal([0, 1, 2], m.PerZeta.Select(z => z.Zeta));
        Close(100.0 / 3, m.At(0).RPrecision);
        Close(100.0 * 5 / 9, m.At(1).RPrecision);
        Close(100.0 * 7 / 9, m.At(2).RPrecision);
        Close(100.0 / 3, m.At(0).RecallAt1);
        Close(100.0 / 3, m.At(1).RecallAt1);
        Close(200.0 / 3, m.At(2).RecallAt1);
        Close(100.0 * 5 / 9, m.Mean);
        Assert.Equal(3, m.QueryCount);
        Assert.Equal(1, m.UnlabelledQueries);
        Assert.Equal(4, m.GalleryCount);
        Assert.All(m.PerZeta, z => Assert.Equal(3, z.QueryCount));
    }

    [Fact]
    public void Unlabelled_items_can_be_ordinary()
    {
        // Every query and gallery item ranked as is (an empty label vector is just 0000):
        //         plausible set (R)             top R              RP
        // z=0 q0: {g1} (1)                      g2                 0
        //     q1: {g2} (1)                      g0                 0
        //     q2: {g3} (1)                      g4                 0
        //     q3: {g0} (1)                      g0                 1      -> 1/4
        // z=1 q0: {g0,g1,g4} (3)                g2 g3 g0           1/3
        //     q1: {g2,g3} (2)                   g0 g3              1/2
        //     q2: {g0,g2,g3} (3)                g4 g3 g2           2/3
        //     q3: {g0,g1,g3} (3)                g0 g1 g4           2/3    -> (4+6+8+8)/12/4 = 13/24
        // z=2 q0: {g0,g1,g3,g4} (4)             g2 g3 g0 g4        3/4
        //     q1: {g0,g2,g3,g4} (4)             g0 g3 g4 g1        3/4
        //     q2: {g0,g1,g2,g3} (4)             g4 g3 g2 g1        3/4
        //     q3: all five (5)                  all                1      -> 13/16
        var m = PlausibleMatchRPrecision.Evaluate(tensor(Scores), Labels(), new PmrpOptions { ExcludeUnlabelled = false });
        Close(25, m.At(0).RPrecision);
        Close(100.0 * 13 / 24, m.At(1).RPrecision);
        Close(100.0 * 13 / 16, m.At(2).RPrecision);
        Close(100.0 * (0.25 + 13.0 / 24 + 13.0 / 16) / 3, m.Mean);
        Assert.Equal(4, m.QueryCount);
        Assert.Equal(0, m.UnlabelledQueries);
        Assert.Equal(5, m.GalleryCount);
    }

    [Fact]
    public void Own_pair_counts_through_its_labels_and_any_zetas_work()
    {
        // A COCO-like pair: query i's own gallery item i has its labels, so at zeta = 0 it is always
        // plausible (R >= 1), and a perfect diagonal ranking whose labels are all distinct scores 100.
        var labels = MultiHotLabels.FromIndices([[0], [1], [2]], 3);
        var m = PlausibleMatchRPrecision.Evaluate(eye(3), new PlausibleMatchLabels(labels, labels), new PmrpOptions { Zetas = [0, 3] });
        Close(100, m.At(0).RPrecision);
        // zeta = 3 >= every distance (2): everything is plausible, R = 3, the top 3 is everything.
        Close(100, m.At(3).RPrecision);
        Assert.Throws<KeyNotFoundException>(() => m.At(1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void Block_size_does_not_change_results(int blockSize)
    {
        var reference = PlausibleMatchRPrecision.Evaluate(tensor(Scores), Labels(), queryBlockSize: 4);
        var blocked = PlausibleMatchRPrecision.Evaluate(tensor(Scores), Labels(), queryBlockSize: blockSize);
        Assert.Equal(reference.ToJson().ToJsonString(), blocked.ToJson().ToJsonString());
    }

    [Fact]
    public void Evaluator_reports_the_same_pmrp_next_to_recall()
    {
        // Relevance: the gallery item with identical labels (the "own pair"); q2 has none.
        var relevance = GalleryRelevance.FromLists([[1], [2], [], [0]], 5);
        var m = RetrievalEvaluator.Evaluate(tensor(Scores), relevance, new EvaluationOptions { QueryBlockSize = 3 }, Labels()).Metrics;
        Assert.NotNull(m.Pmrp);
        Close(100.0 * 5 / 9, m.Pmrp!.Mean);
        // Recall is unaffected by the PMRP exclusions: q0's g1 is last of 5 (rank 4), q1's g2 last (4), q3's g0 first.
        Close(100.0 / 3, m.RecallAt(1));
        Close(100, m.RecallAt(5));
        var json = m.ToJson()["pmrp"]!;
        Close(100.0 * 5 / 9, json["mean"]!.GetValue<double>());
        Assert.Equal(3, json["per_zeta"]!.AsArray().Count);
        Assert.Matches(@"55\.56\s+3\s+5$", MetricsTable.Format([("i2t", m)]).TrimEnd());
    }

    [Fact]
    public void Labels_from_tensors_and_matrices_agree()
    {
        var fromTensor = MultiHotLabels.FromTensor(tensor(new long[,] { { 1, 0, 2 }, { 0, 0, 0 } }));
        var fromMatrix = MultiHotLabels.FromMatrix(new[,] { { true, false, true }, { false, false, false } });
        var fromIndices = MultiHotLabels.FromIndices([[0, 2], null]);
        foreach (var l in new[] { fromTensor, fromMatrix, fromIndices })
        {
            Assert.Equal(2, l.Count);
            Assert.Equal(3, l.ClassCount);
            Assert.True(l.Has(0, 2) && !l.Has(0, 1));
            Assert.True(l.IsLabelled(0));
            Assert.False(l.IsLabelled(1));
        }
        var picked = fromIndices.Select([1, 0, 0]);
        Assert.False(picked.IsLabelled(0));
        Assert.True(picked.Has(2, 0));
        Assert.Throws<ArgumentException>(() => PlausibleMatchRPrecision.Evaluate(zeros(2, 2),
            new PlausibleMatchLabels(fromIndices, MultiHotLabels.FromIndices([[0], [1]], 2))));
    }
}
