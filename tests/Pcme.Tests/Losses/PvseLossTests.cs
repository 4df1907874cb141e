using Pcme.Losses;
using TorchSharp;
using static Pcme.Tests.Losses.LossTestKit;
using static TorchSharp.torch;

namespace Pcme.Tests.Losses;

public class PvseLossTests
{
    static double[,] ReferenceSimilarities(double[,,] a, double[,,] b)
    {
        var s = new double[a.GetLength(0), b.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < b.GetLength(0); j++)
            {
                double best = double.NegativeInfinity;
                for (int k = 0; k < a.GetLength(1); k++)
                    for (int l = 0; l < b.GetLength(1); l++)
                        best = Math.Max(best, Cosine(Row(a, i, k), Row(b, j, l)));
                s[i, j] = best;
            }
        return s;
    }

    static double ReferenceDiversity(double[,,] x)
    {
        int batch = x.GetLength(0), k = x.GetLength(1);
        double total = 0;
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < k; r++)
                for (int c = 0; c < k; c++)
                {
                    double g = Cosine(Row(x, b, r), Row(x, b, c)) - (r == c ? 1 : 0);
                    total += g * g;
                }
        return total / batch;
    }

    static double ReferenceMmd(double[][] x, double[][] y, double gamma)
    {
        double K(double[] u, double[] v)
        {
            double d2 = 0;
            for (int d = 0; d < u.Length; d++) d2 += (u[d] - v[d]) * (u[d] - v[d]);
            return Math.Exp(-gamma * d2);
        }
        double Mean(double[][] u, double[][] v)
        {
            double s = 0;
            foreach (var p in u) foreach (var q in v) s += K(p, q);
            return s / (u.Length * v.Length);
        }
        return Mean(x, x) + Mean(y, y) - 2 * Mean(x, y);
    }

    static double[][] UnitRows(double[,,] x)
    {
        var rows = new List<double[]>();
        for (int i = 0; i < x.GetLength(0); i++)
            for (int k = 0; k < x.GetLength(1); k++)
            {
                var r = Row(x, i, k);
                double n = Math.Max(Math.Sqrt(r.Sum(v => v * v)), 1e-12);
                rows.Add(r.Select(v => v / n).ToArray());
            }
        return rows.ToArray();
    }

    static void AssertMatchesReference(Tensor image, Tensor caption, bool[,] m, PvseLossOptions options, double rel = 1e-10)
    {
        using var loss = new PvseLoss(options);
        var output = loss.Forward(image, caption, ToTensor(m));
        double[,,] a = Cube(image), b = Cube(caption);
        var s = ReferenceSimilarities(a, b);
        Close(s, output.Ranking.Similarities, rel, "similarities");
        var (i2t, t2i) = TripletLossTests.Reference(s, m, options.Margin, options.Reduction);
        Close(i2t + t2i, Scalar(output.Ranking.Loss), rel, "ranking");
        double expected = i2t + t2i;
        if (options.DiversityWeight != 0)
        {
            double div = ReferenceDiversity(a) + ReferenceDiversity(b);
            Close(div, Scalar(output.Diversity!), rel, "diversity");
            expected += options.DiversityWeight * div;
        }
        else Assert.Null(output.Diversity);
        if (options.MmdWeight != 0)
        {
            double mmd = ReferenceMmd(UnitRows(a), UnitRows(b), options.MmdGamma);
            Close(mmd, Scalar(output.Mmd!), rel, "mmd");
            expected += options.MmdWeight * mmd;
        }
        else Assert.Null(output.Mmd);
        Close(expected, Scalar(output.Loss), rel, "loss");
    }

    [Theory]
    [InlineData(TripletReduction.Sum)]
    [InlineData(TripletReduction.HardestNegative)]
    public void Matches_naive_reference_with_duplicate_positives(TripletReduction reduction)
    {
        var g = new Generator(31);
        var options = new PvseLossOptions { Reduction = reduction, Margin = 0.2, DiversityWeight = 0.3, MmdWeight = 0.7, MmdGamma = 0.8 };
        AssertMatchesReference(Randn(g, 5, 3, 4), Randn(g, 6, 2, 4), Match(ImageLabels, CaptionLabels), options);
        AssertMatchesReference(Randn(g, 4, 2, 4), Randn(g, 4, 2, 4), Identity(4), options with { DiversityWeight = 0, MmdWeight = 0 });
    }

    [Fact]
    public void Batch_of_one_and_one_embedding_per_item()
    {
        var g = new Generator(32);
        var options = new PvseLossOptions();
        AssertMatchesReference(Randn(g, 1, 2, 3), Randn(g, 1, 2, 3), Identity(1), options);
        AssertMatchesReference(Randn(g, 1, 2, 3), Randn(g, 3, 2, 3), new bool[,] { { false, false, true } }, options);
        // K = 1: the best of 1 x 1 is the plain cosine, so PVSE's ranking term is the triplet loss.
        var image = Randn(g, 5, 1, 4);
        var caption = Randn(g, 6, 1, 4);
        var match = ToTensor(Match(ImageLabels, CaptionLabels));
        using var pvse = new PvseLoss(options);
        using var triplet = new TripletLoss(new TripletLossOptions { Margin = options.Margin, Reduction = options.Reduction });
        Close(Scalar(triplet.Forward(image.squeeze(1), caption.squeeze(1), match).Loss), Scalar(pvse.Forward(image, caption, match).Ranking.Loss));
    }

    [Fact]
    public void Diversity_on_hand_made_maps()
    {
        // Orthogonal rows: 0. Two equal rows (any length): both off-diagonal cosines are 1 -> 2.
        // Rows at 60 degrees: 2 * cos^2 = 0.5. Batch mean of the last two: 1.25.
        var orthogonal = tensor(new double[] { 3, 0, 0, 0, 0.5, 0 }).reshape(1, 2, 3);
        Close(0, Scalar(DiversityRegularizer.Compute(orthogonal)));
        var pair = tensor(new double[] { 1, 1, 0, 2, 2, 0, 1, 0, 0, 0.5, Math.Sqrt(3) / 2, 0 }).reshape(2, 2, 3);
        Close(1.25, Scalar(DiversityRegularizer.Compute(pair)));
        var g = new Generator(33);
        var x = Randn(g, 3, 4, 5);
        Close(ReferenceDiversity(Cube(x)), Scalar(DiversityRegularizer.Compute(x)));
    }

    [Fact]
    public void Mmd_matches_naive_and_vanishes_for_one_set()
    {
        var g = new Generator(34);
        var x = Randn(g, 5, 3);
        var y = Randn(g, 7, 3).add(0.5);
        double[][] Rows(Tensor t) { var m = Matrix(t); return Enumerable.Range(0, m.GetLength(0)).Select(i => Row(m, i)).ToArray(); }
        Close(ReferenceMmd(Rows(x), Rows(y), 0.3), Scalar(MmdRegularizer.Compute(x, y, 0.3)));
        Close(0, Scalar(MmdRegularizer.Compute(x, x, 0.3)), 1e-12);
        Close(ReferenceMmd(Rows(x.slice(0, 0, 1, 1)), Rows(y), 0.5), Scalar(MmdRegularizer.Compute(x.slice(0, 0, 1, 1), y)));
        // Far-apart huge sets: the cross kernel underflows to 0 cleanly, MMD -> 2 (each set is its own point here).
        Close(2, Scalar(MmdRegularizer.Compute(full(1, 2, 1e100, dtype: float64), full(1, 2, -1e100, dtype: float64))));
    }

    [Fact]
    public void Very_large_embeddings_stay_finite()
    {
        var g = new Generator(35);
        var options = new PvseLossOptions { DiversityWeight = 0.1, MmdWeight = 0.1 };
        AssertMatchesReference(Randn(g, 5, 2, 4).mul(1e150), Randn(g, 6, 2, 4).mul(1e150), Match(ImageLabels, CaptionLabels), options);
        var x = Randn(g, 5, 2, 4).mul(1e150).detach().requires_grad_(true);
        using var loss = new PvseLoss(options);
        loss.Forward(x, Randn(g, 6, 2, 4), ToTensor(Match(ImageLabels, CaptionLabels))).Loss.backward();
        AllFinite(x.grad!, "d loss / d image");
    }

    [Theory]
    [InlineData(TripletReduction.Sum)]
    [InlineData(TripletReduction.HardestNegative)]
    public void Gradients_match_central_differences(TripletReduction reduction)
    {
        var g = new Generator(36);
        var image = Randn(g, 5, 2, 3).requires_grad_(true);
        var caption = Randn(g, 6, 3, 3).requires_grad_(true);
        var imageMaps = Randn(g, 5, 2, 4).requires_grad_(true);
        var match = ToTensor(Match(ImageLabels, CaptionLabels));
        using var loss = new PvseLoss(new PvseLossOptions { Reduction = reduction, Margin = 0.5, DiversityWeight = 0.2, MmdWeight = 0.5 });
        CheckGradients(() => loss.Forward(image, caption, match, imageDiversityInput: imageMaps).Loss,
            ("image", image), ("caption", caption), ("image attention", imageMaps));
    }
}
