using Pcme.Losses;
using TorchSharp;
using static Pcme.Tests.Losses.LossTestKit;
using static TorchSharp.torch;

namespace Pcme.Tests.Losses;

public class TripletLossTests
{
    /// <summary>The generalised VSE++ loss, one positive pair and one negative at a time.</summary>
    internal static (double I2t, double T2i) Reference(double[,] s, bool[,] m, double margin, TripletReduction reduction)
    {
        int na = s.GetLength(0), nb = s.GetLength(1);
        double i2t = 0, t2i = 0;
        for (int i = 0; i < na; i++)
            for (int p = 0; p < nb; p++)
            {
                if (!m[i, p]) continue;
                double sum = 0, hardest = 0;
                for (int n = 0; n < nb; n++)            // other captions of image i
                {
                    if (m[i, n]) continue;
                    double cost = Math.Max(0, margin + s[i, n] - s[i, p]);
                    sum += cost; hardest = Math.Max(hardest, cost);
                }
                i2t += reduction == TripletReduction.Sum ? sum : hardest;
                sum = 0; hardest = 0;
                for (int n = 0; n < na; n++)            // other images of caption p
                {
                    if (m[n, p]) continue;
                    double cost = Math.Max(0, margin + s[n, p] - s[i, p]);
                    sum += cost; hardest = Math.Max(hardest, cost);
                }
                t2i += reduction == TripletReduction.Sum ? sum : hardest;
            }
        return (i2t, t2i);
    }

    static void AssertMatchesReference(Tensor image, Tensor caption, bool[,] m, TripletLossOptions options, double rel = 1e-10)
    {
        using var loss = new TripletLoss(options);
        var output = loss.Forward(image, caption, ToTensor(m));
        var s = CosineMatrix(Matrix(image), Matrix(caption));
        Close(s, output.Similarities, rel, "similarities");
        var (i2t, t2i) = Reference(s, m, options.Margin, options.Reduction);
        Close(i2t, Scalar(output.ImageToText), rel, "i2t");
        Close(t2i, Scalar(output.TextToImage), rel, "t2i");
        Close(i2t + t2i, Scalar(output.Loss), rel, "loss");
    }

    [Theory]
    [InlineData(TripletReduction.Sum)]
    [InlineData(TripletReduction.HardestNegative)]
    public void Matches_naive_reference_with_duplicate_positives(TripletReduction reduction)
    {
        var g = new Generator(21);
        var options = new TripletLossOptions { Reduction = reduction, Margin = 0.3 };
        AssertMatchesReference(Randn(g, 5, 4), Randn(g, 6, 4), Match(ImageLabels, CaptionLabels), options);
        AssertMatchesReference(Randn(g, 7, 3), Randn(g, 7, 3), Identity(7), options);
    }

    [Theory]
    [InlineData(TripletReduction.Sum)]
    [InlineData(TripletReduction.HardestNegative)]
    public void Batch_of_one_and_rows_that_are_all_positive(TripletReduction reduction)
    {
        var g = new Generator(22);
        var options = new TripletLossOptions { Reduction = reduction };
        using var loss = new TripletLoss(options);
        // 1 x 1: no negatives anywhere, loss 0 with a zero (not NaN) gradient.
        var x = Randn(g, 1, 4).requires_grad_(true);
        var single = loss.Forward(x, Randn(g, 1, 4));
        Assert.Equal(0.0, Scalar(single.Loss));
        single.Loss.backward();
        Assert.Equal(0.0, Flat(x.grad!).Select(Math.Abs).Max());
        AssertMatchesReference(Randn(g, 1, 4), Randn(g, 3, 4), new bool[,] { { false, true, false } }, options);
        AssertMatchesReference(Randn(g, 2, 4), Randn(g, 3, 4), new bool[,] { { true, true, true }, { false, true, false } }, options);
    }

    [Fact]
    public void Hand_made_similarities()
    {
        // Diagonal positives, margin 0.2.
        //   i2t row 0: 0.2 + 0.7 - 0.5 = 0.4;  row 1: 0.2 + 0.1 - 0.9 < 0 -> 0
        //   t2i col 0: 0.2 + 0.1 - 0.5 = -0.2 -> 0;  col 1: 0.2 + 0.7 - 0.9 = 0
        var s = tensor(new double[,] { { 0.5, 0.7 }, { 0.1, 0.9 } });
        using var sum = new TripletLoss(new TripletLossOptions { Reduction = TripletReduction.Sum });
        var output = sum.FromSimilarities(s);
        Close(0.4, Scalar(output.ImageToText));
        Close(0.0, Scalar(output.TextToImage));
        // 3 x 3 with hardest negative: row 0 has negatives 0.8 and 0.6 against 0.5: only 0.8 counts.
        var s3 = tensor(new double[,] { { 0.5, 0.8, 0.6 }, { 0.0, 1.0, 0.0 }, { 0.0, 0.0, 1.0 } });
        using var hardest = new TripletLoss(new TripletLossOptions { Reduction = TripletReduction.HardestNegative, Margin = 0.2 });
        using var all = new TripletLoss(new TripletLossOptions { Reduction = TripletReduction.Sum, Margin = 0.2 });
        Close(0.5, Scalar(hardest.FromSimilarities(s3).ImageToText));
        Close(0.5 + 0.3, Scalar(all.FromSimilarities(s3).ImageToText));
    }

    [Fact]
    public void Very_large_and_tiny_embeddings_stay_finite()
    {
        var g = new Generator(23);
        foreach (var reduction in new[] { TripletReduction.Sum, TripletReduction.HardestNegative })
        {
            var options = new TripletLossOptions { Reduction = reduction };
            AssertMatchesReference(Randn(g, 5, 4).mul(1e150), Randn(g, 6, 4).mul(1e150), Match(ImageLabels, CaptionLabels), options);
            AssertMatchesReference(Randn(g, 5, 4).mul(1e-150), Randn(g, 6, 4).mul(1e150), Match(ImageLabels, CaptionLabels), options);
            var x = Randn(g, 5, 4).mul(1e150).detach().requires_grad_(true);
            using var loss = new TripletLoss(options);
            loss.Forward(x, Randn(g, 6, 4), ToTensor(Match(ImageLabels, CaptionLabels))).Loss.backward();
            AllFinite(x.grad!, "d loss / d image");
        }
    }

    [Theory]
    [InlineData(TripletReduction.Sum)]
    [InlineData(TripletReduction.HardestNegative)]
    public void Gradients_match_central_differences(TripletReduction reduction)
    {
        var g = new Generator(24);
        var image = Randn(g, 5, 3).requires_grad_(true);
        var caption = Randn(g, 6, 3).requires_grad_(true);
        var match = ToTensor(Match(ImageLabels, CaptionLabels));
        using var loss = new TripletLoss(new TripletLossOptions { Reduction = reduction, Margin = 0.5 });
        Assert.True(Scalar(loss.Forward(image, caption, match).Loss) > 0);
        CheckGradients(() => loss.Forward(image, caption, match).Loss, ("image", image), ("caption", caption));
    }
}
