using Pcme.Losses;
using TorchSharp;
using static Pcme.Tests.Losses.LossTestKit;
using static TorchSharp.torch;

namespace Pcme.Tests.Losses;

public class InfoNceLossTests
{
    // Multi-positive InfoNCE over the rows of logits, written out with explicit max-shifted sums.
    static (double Loss, long Skipped) ReferenceRows(double[,] logits, bool[,] m)
    {
        int r = logits.GetLength(0), c = logits.GetLength(1);
        double total = 0;
        long used = 0;
        for (int i = 0; i < r; i++)
        {
            double max = double.NegativeInfinity;
            bool any = false;
            for (int j = 0; j < c; j++) { max = Math.Max(max, logits[i, j]); any |= m[i, j]; }
            if (!any) continue;
            double all = 0, positives = 0;
            for (int j = 0; j < c; j++)
            {
                double e = Math.Exp(logits[i, j] - max);
                all += e;
                if (m[i, j]) positives += e;
            }
            total += Math.Log(all) - Math.Log(positives);   // -log(sum of the positives' softmax)
            used++;
        }
        return (used == 0 ? 0 : total / used, r - used);
    }

    static void AssertMatchesReference(Tensor image, Tensor caption, bool[,] m, InfoNceLossOptions options, double rel = 1e-10)
    {
        using var loss = new InfoNceLoss(options);
        loss.to(float64);
        var output = loss.Forward(image, caption, ToTensor(m));
        // logit_scale was created in float32: take the scale it holds (checked against 1 / tau separately).
        double scale = Scalar(loss.Scale());
        Close(Math.Min(1 / options.InitTemperature, options.MaxScale), scale, 1e-6, "scale");
        var logits = CosineMatrix(Matrix(image), Matrix(caption));
        for (int i = 0; i < logits.GetLength(0); i++)
            for (int j = 0; j < logits.GetLength(1); j++)
                logits[i, j] *= scale;
        Close(logits, output.Logits, rel, "logits");
        var (i2t, skippedRows) = ReferenceRows(logits, m);
        var (t2i, skippedColumns) = ReferenceRows(Transpose(logits), Transpose(m));
        Close(i2t, Scalar(output.ImageToText), rel, "i2t");
        Close(t2i, Scalar(output.TextToImage), rel, "t2i");
        Close((i2t + t2i) / 2, Scalar(output.Loss), rel, "loss");
        Assert.Equal(skippedRows, output.SkippedRows);
        Assert.Equal(skippedColumns, output.SkippedColumns);
    }

    [Fact]
    public void Matches_naive_reference_with_duplicate_positives_and_skipped_queries()
    {
        var g = new Generator(41);
        var options = new InfoNceLossOptions { InitTemperature = 0.2 };
        AssertMatchesReference(Randn(g, 5, 4), Randn(g, 6, 4), Match(ImageLabels, CaptionLabels), options);
        using var loss = new InfoNceLoss(options);
        var output = loss.Forward(Randn(g, 5, 4), Randn(g, 6, 4), ToTensor(Match(ImageLabels, CaptionLabels)));
        Assert.Equal(1, output.SkippedRows);
        Assert.Equal(1, output.SkippedColumns);
    }

    [Fact]
    public void Diagonal_is_clip_and_defaults_are_clips()
    {
        var g = new Generator(42);
        using var loss = new InfoNceLoss();
        loss.to(float64);
        Close(Math.Log(1 / 0.07), loss.logit_scale.item<double>(), 1e-6);
        Assert.Empty(loss.logit_scale.shape);
        Assert.True(loss.logit_scale.requires_grad);
        Assert.Equal(new[] { "logit_scale" }, loss.state_dict().Keys.ToArray());
        var image = Randn(g, 6, 5);
        var caption = Randn(g, 6, 5);
        AssertMatchesReference(image, caption, Identity(6), new InfoNceLossOptions());
        // CLIP: mean of cross-entropy with labels 0..B-1 over rows and over columns, halved.
        var output = loss.Forward(image, caption);
        var labels = arange(6, dtype: int64);
        var clip = nn.functional.cross_entropy(output.Logits, labels).add(nn.functional.cross_entropy(output.Logits.t(), labels)).div(2);
        Close(Scalar(clip), Scalar(output.Loss));
        Assert.Equal(0, output.SkippedRows);
    }

    [Fact]
    public void Batch_of_one_and_no_positives_at_all()
    {
        var g = new Generator(43);
        var options = new InfoNceLossOptions();
        AssertMatchesReference(Randn(g, 1, 3), Randn(g, 1, 3), Identity(1), options);
        AssertMatchesReference(Randn(g, 1, 3), Randn(g, 4, 3), new bool[,] { { false, true, false, true } }, options);
        var x = Randn(g, 2, 3).requires_grad_(true);
        using var loss = new InfoNceLoss(options);
        var none = loss.Forward(x, Randn(g, 3, 3), zeros(2, 3, dtype: ScalarType.Bool));
        Assert.Equal(0.0, Scalar(none.Loss));
        Assert.Equal(2, none.SkippedRows);
        Assert.Equal(3, none.SkippedColumns);
        none.Loss.backward();
        Assert.Equal(0.0, Flat(x.grad!).Select(Math.Abs).Max());
    }

    [Fact]
    public void Very_large_embeddings_and_scales_stay_finite()
    {
        var g = new Generator(44);
        var m = Match(ImageLabels, CaptionLabels);
        // Huge vectors, and a temperature of 1e-4 with the cap lifted: logits up to 1e4.
        AssertMatchesReference(Randn(g, 5, 4).mul(1e150), Randn(g, 6, 4).mul(1e150), m, new InfoNceLossOptions());
        var sharp = new InfoNceLossOptions { InitTemperature = 1e-4, MaxScale = double.PositiveInfinity };
        AssertMatchesReference(Randn(g, 5, 4), Randn(g, 6, 4), m, sharp, rel: 1e-9);
        var x = Randn(g, 5, 4).mul(1e150).detach().requires_grad_(true);
        using var loss = new InfoNceLoss(sharp);
        loss.to(float64);
        loss.Forward(x, Randn(g, 6, 4), ToTensor(m)).Loss.backward();
        AllFinite(x.grad!, "d loss / d image");
        AllFinite(loss.logit_scale.grad!, "d loss / d logit_scale");
        // The CLIP cap: 1 / tau = 1e4 is clamped to 100.
        using var capped = new InfoNceLoss(new InfoNceLossOptions { InitTemperature = 1e-4 });
        Close(100, Scalar(capped.Scale()));
    }

    [Fact]
    public void Fixed_temperature_gets_no_gradient()
    {
        var g = new Generator(45);
        using var loss = new InfoNceLoss(new InfoNceLossOptions { LearnTemperature = false, InitTemperature = 0.5 });
        Assert.False(loss.logit_scale.requires_grad);
        Assert.DoesNotContain(loss.parameters(), p => p.requires_grad);
        AssertMatchesReference(Randn(g, 5, 4), Randn(g, 6, 4), Match(ImageLabels, CaptionLabels), loss.Options);
    }

    [Fact]
    public void Gradients_match_central_differences_for_embeddings_and_logit_scale()
    {
        var g = new Generator(46);
        var image = Randn(g, 5, 3).requires_grad_(true);
        var caption = Randn(g, 6, 3).requires_grad_(true);
        var match = ToTensor(Match(ImageLabels, CaptionLabels));
        using var loss = new InfoNceLoss(new InfoNceLossOptions { InitTemperature = 0.3 });
        loss.to(float64);
        CheckGradients(() => loss.Forward(image, caption, match).Loss,
            ("image", image), ("caption", caption), ("logit_scale", loss.logit_scale));
    }
}
