using Pcme.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Tests.Data;

public class MixedSampleAugmentationTests
{
    const double S = 1e-4;   // the official mixup_smoothing

    static Tensor Images(int batch, int height, int width, long seed = 1) =>
        randn([batch, 3, height, width], generator: new Generator((ulong)seed));

    static float[] Floats(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    static double[,] Matrix(Tensor t)
    {
        var v = t.detach().cpu().to(float64).contiguous().data<double>().ToArray();
        int r = (int)t.shape[0], c = (int)t.shape[1];
        var m = new double[r, c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) m[i, j] = v[i * c + j];
        return m;
    }

    static Tensor Bool(bool[,] m)
    {
        int r = m.GetLength(0), c = m.GetLength(1);
        var flat = new bool[r * c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) flat[i * c + j] = m[i, j];
        return tensor(flat).reshape(r, c);
    }

    static bool[,] Diagonal(int n)
    {
        var m = new bool[n, n];
        for (int i = 0; i < n; i++) m[i, i] = true;
        return m;
    }

    /// <summary>Images with duplicates (0 and 3, 2 and 5) and captions with several positives; image 6 has none.</summary>
    static bool[,] SeveralPositives(int images, int captions)
    {
        long[] imageLabels = [0, 1, 2, 0, 4, 2, 9, 7];
        long[] captionLabels = [0, 1, 2, 0, 4, 2, 7, 1, 0];
        var m = new bool[images, captions];
        for (int i = 0; i < images; i++) for (int c = 0; c < captions; c++) m[i, c] = imageLabels[i] == captionLabels[c];
        return m;
    }

    static readonly MixedSampleAugmentationOptions AlwaysMix = new() { MixRatio = 1 };

    [Fact]
    public void Defaults_are_the_official_config()
    {
        var o = new MixedSampleAugmentationOptions();
        Assert.Equal((2.0, 2.0, 1.0, 0.5, 0.25, 1e-4), (o.MixupAlpha, o.CutmixAlpha, o.Probability, o.SwitchProbability, o.MixRatio, o.LabelSmoothing));
        Assert.Equal(7, MixedSampleAugmentation.Partner(0, 8));
        Assert.Equal(3, MixedSampleAugmentation.Partner(3, 7));
    }

    [Fact]
    public void Same_seed_epoch_step_gives_the_same_bits_other_keys_differ()
    {
        var aug = new MixedSampleAugmentation(AlwaysMix);
        var x = Images(8, 16, 16);
        var m = Bool(Diagonal(8));
        var a = aug.Apply(x, m, seed: 5, epoch: 2, step: 3);
        var b = new MixedSampleAugmentation(AlwaysMix).Apply(x.clone(), m, seed: 5, epoch: 2, step: 3);
        Assert.Equal(Floats(a.Images), Floats(b.Images));
        Assert.Equal(Floats(a.Targets), Floats(b.Targets));
        Assert.Equal(a.Lambdas, b.Lambdas);
        Assert.Equal(a.UsedCutmix, b.UsedCutmix);
        foreach (var (seed, epoch, step) in new[] { (5, 2, 4), (5, 3, 3), (6, 2, 3) })
        {
            var c = aug.Apply(x, m, seed, epoch, step);
            Assert.NotEqual(a.Lambdas, c.Lambdas);
            Assert.NotEqual(Floats(a.Images), Floats(c.Images));
        }
        // The input is left alone.
        Assert.Equal(Floats(Images(8, 16, 16)), Floats(x));
    }

    [Fact]
    public void Draws_are_pinned_values_of_the_kits_derivation()
    {
        // Computed once in another process; any process must reproduce them (SplitMix64, no HashCode, no global
        // RNG). Lambdas to 1e-12, not bit for bit: Math.Log / Exp / Sqrt come from the C runtime, whose last ulp
        // may differ between platforms. The boxes are integers: exact.
        var aug = new MixedSampleAugmentation(AlwaysMix);
        var draws = Enumerable.Range(0, 4).Select(i => aug.Draw(i, 224, 224, seed: 1, epoch: 0, step: 0)).ToArray();
        double[] lambdas = [0.7320232780612245, 0.08025546918996258, 0.13934392796165165, 0.493473115510521];
        for (int i = 0; i < 4; i++) Assert.Equal(lambdas[i], draws[i].Lambda, 1e-12);
        Assert.Equal(1 - 83 * 162 / (224.0 * 224), draws[0].Lambda, 1e-15);   // cutmix: the corrected lambda of its box
        Assert.Equal(new PixelBox?[] { new PixelBox(0, 7, 83, 162), null, null, null }, draws.Select(d => d.Box).ToArray());
    }

    [Theory]
    [InlineData(8)]
    [InlineData(7)]
    public void Soft_targets_mix_the_match_rows_of_image_and_partner_then_smooth(int batch)
    {
        int captions = 9;
        var positives = SeveralPositives(batch, captions);
        var aug = new MixedSampleAugmentation(AlwaysMix);
        int mixedRows = 0;
        for (int step = 0; step < 6; step++)
        {
            var result = aug.Apply(Images(batch, 12, 10, step), Bool(positives), seed: 3, epoch: 0, step);
            Assert.Equal(ScalarType.Float32, result.Targets.dtype);
            Assert.Equal(new long[] { batch, captions }, result.Targets.shape);
            var t = Matrix(result.Targets);
            for (int i = 0; i < batch; i++)
            {
                int j = batch - 1 - i;
                double lam = result.Lambdas[i];
                Assert.InRange(lam, 0, 1);
                if (lam < 1) mixedRows++;
                double sum = 0;
                int own = 0, partner = 0;
                for (int c = 0; c < captions; c++)
                {
                    double expected = S + (1 - 2 * S) * (lam * (positives[i, c] ? 1 : 0) + (1 - lam) * (positives[j, c] ? 1 : 0));
                    Assert.Equal((float)expected, (float)t[i, c]);
                    sum += t[i, c];
                    own += positives[i, c] ? 1 : 0;
                    partner += positives[j, c] ? 1 : 0;
                }
                double rowSum = captions * S + (1 - 2 * S) * (lam * own + (1 - lam) * partner);
                Assert.True(Math.Abs(rowSum - sum) <= 1e-6 * Math.Max(1, rowSum), $"row {i}: sum {sum:R}, expected {rowSum:R}");
            }
            if (batch % 2 == 1)
            {
                int middle = batch / 2;
                Assert.Equal(1.0, result.Lambdas[middle]);
                Assert.False(result.UsedCutmix[middle]);
                Assert.Null(result.Boxes[middle]);
            }
        }
        Assert.True(mixedRows >= 4 * (batch - batch % 2), $"MixRatio 1 should mix nearly every paired row; {mixedRows} mixed");
    }

    [Fact]
    public void Diagonal_match_gives_the_official_mixup_target()
    {
        // Official mixup_target(arange(B), B, lam, s): y1 = onehot(i) with on 1 - s, off s; y2 the flipped one;
        // lam y1 + (1 - lam) y2, element by element.
        const int batch = 6;
        var result = new MixedSampleAugmentation(AlwaysMix).Apply(Images(batch, 8, 8), Bool(Diagonal(batch)), seed: 9, epoch: 1, step: 2);
        var t = Matrix(result.Targets);
        for (int i = 0; i < batch; i++)
            for (int c = 0; c < batch; c++)
            {
                double y1 = c == i ? 1 - S : S, y2 = c == batch - 1 - i ? 1 - S : S;
                double lam = result.Lambdas[i];
                Assert.Equal((float)(y1 * lam + y2 * (1 - lam)), (float)t[i, c]);
            }
        // Float64 images give float64 targets.
        var t64 = new MixedSampleAugmentation(AlwaysMix).Apply(Images(batch, 8, 8).to(float64), Bool(Diagonal(batch)), 9, 1, 2).Targets;
        Assert.Equal(ScalarType.Float64, t64.dtype);
    }

    [Fact]
    public void Mixup_pixels_are_the_lambda_blend_with_the_flipped_partner()
    {
        const int batch = 7;
        var aug = new MixedSampleAugmentation(new MixedSampleAugmentationOptions { MixRatio = 1, SwitchProbability = 0 });
        var x = Images(batch, 5, 6);
        var result = aug.Apply(x, Bool(Diagonal(batch)), seed: 4, epoch: 0, step: 1);
        var input = Floats(x);
        var output = Floats(result.Images);
        int per = 3 * 5 * 6;
        for (int i = 0; i < batch; i++)
        {
            int j = batch - 1 - i;
            double lam = result.Lambdas[i];
            Assert.False(result.UsedCutmix[i]);
            if (i == batch / 2) Assert.Equal(1.0, lam);
            else Assert.InRange(lam, 1e-9, 1 - 1e-9);
            for (int k = 0; k < per; k++)
            {
                double expected = lam * input[i * per + k] + (1 - lam) * input[j * per + k];
                Assert.True(Math.Abs(expected - output[i * per + k]) <= 1e-6 * Math.Max(1, Math.Abs(expected)),
                    $"image {i}, value {k}: expected {expected:R}, got {output[i * per + k]:R}");
            }
        }
        // The unpaired middle image is exactly itself.
        Assert.Equal(input.Skip(batch / 2 * per).Take(per), output.Skip(batch / 2 * per).Take(per));
    }

    [Fact]
    public void Cutmix_pastes_one_rectangle_of_the_partner_whose_area_is_one_minus_lambda()
    {
        const int batch = 8, height = 20, width = 14;
        var aug = new MixedSampleAugmentation(new MixedSampleAugmentationOptions { MixRatio = 1, SwitchProbability = 1 });
        int clipped = 0, cut = 0;
        for (int step = 0; step < 10; step++)
        {
            var x = Images(batch, height, width, 100 + step);
            var result = aug.Apply(x, Bool(Diagonal(batch)), seed: 2, epoch: 0, step);
            var input = Floats(x);
            var output = Floats(result.Images);
            int plane = height * width, per = 3 * plane;
            for (int i = 0; i < batch; i++)
            {
                int j = batch - 1 - i;
                int fromPartner = 0, top = height, bottom = -1, left = width, right = -1;
                for (int p = 0; p < plane; p++)
                {
                    bool own = true, partner = true;
                    for (int ch = 0; ch < 3; ch++)
                    {
                        float v = output[i * per + ch * plane + p];
                        own &= v == input[i * per + ch * plane + p];
                        partner &= v == input[j * per + ch * plane + p];
                    }
                    Assert.True(own ^ partner, $"image {i}, pixel {p}: not exactly one of image {i} and its partner {j}");
                    if (partner)
                    {
                        fromPartner++;
                        int r = p / width, c = p % width;
                        top = Math.Min(top, r); bottom = Math.Max(bottom, r); left = Math.Min(left, c); right = Math.Max(right, c);
                    }
                }
                Assert.Equal(1 - fromPartner / (double)plane, result.Lambdas[i], 12);
                Assert.Equal(fromPartner > 0, result.UsedCutmix[i]);
                if (fromPartner == 0) { Assert.Null(result.Boxes[i]); continue; }
                cut++;
                // One rectangle: its bounding box holds exactly the pasted pixels; it is the reported box.
                Assert.Equal(fromPartner, (bottom - top + 1) * (right - left + 1));
                Assert.Equal(new PixelBox(top, left, bottom - top + 1, right - left + 1), result.Boxes[i]);
                if (top == 0 || left == 0 || bottom == height - 1 || right == width - 1) clipped++;
            }
        }
        Assert.True(cut > 60, $"SwitchProbability 1 and MixRatio 1 should cut nearly every image; {cut} cut");
        Assert.True(clipped > 0, "some boxes should touch the border (the clipping path)");
    }

    [Fact]
    public void Draw_frequencies_follow_the_official_per_element_rule()
    {
        // Official _params_per_elem with the defaults: mixed with probability MixRatio (0.25); of those, cutmix
        // with probability 0.5; the mixup lambda ~ Beta(2, 2): mean 1/2, variance 1/20.
        var aug = new MixedSampleAugmentation();
        int n = 0, mixed = 0, cutmix = 0;
        double sum = 0, sumSq = 0;
        int mixups = 0;
        for (int step = 0; step < 500; step++)
            for (int i = 0; i < 64; i++)
            {
                var (lam, box) = aug.Draw(i, 224, 224, seed: 7, epoch: 1, step);
                n++;
                if (lam == 1) continue;
                mixed++;
                if (box is not null) { cutmix++; continue; }
                mixups++;
                sum += lam; sumSq += lam * lam;
            }
        static void WithinSd(double expected, double actual, double sd, string what) =>
            Assert.True(Math.Abs(actual - expected) <= 5 * sd, $"{what}: {actual:R}, expected {expected} +/- 5 x {sd:R}");
        WithinSd(0.25, mixed / (double)n, Math.Sqrt(0.25 * 0.75 / n), "mixed fraction");
        WithinSd(0.5, cutmix / (double)mixed, Math.Sqrt(0.25 / mixed), "cutmix fraction of the mixed");
        double mean = sum / mixups, variance = sumSq / mixups - mean * mean;
        WithinSd(0.5, mean, Math.Sqrt(0.05 / mixups), "mean mixup lambda");
        // Var of the sample variance of Beta(2, 2): (mu4 - sigma^4) / n, mu4 = 3/560.
        WithinSd(0.05, variance, Math.Sqrt((3.0 / 560 - 0.0025) / mixups), "variance of the mixup lambda");

        // Probability multiplies in: 0.5 x MixRatio 1 -> half mixed.
        var half = new MixedSampleAugmentation(new MixedSampleAugmentationOptions { MixRatio = 1, Probability = 0.5 });
        int halfMixed = 0, total = 0;
        for (int step = 0; step < 200; step++)
            for (int i = 0; i < 50; i++, total++)
                if (half.Draw(i, 224, 224, 3, 0, step).Lambda != 1) halfMixed++;
        WithinSd(0.5, halfMixed / (double)total, Math.Sqrt(0.25 / total), "mixed fraction at Probability 0.5");
    }

    [Fact]
    public void Beta_draws_have_the_right_moments_for_shapes_above_and_below_one()
    {
        foreach (var (a, b) in new[] { (2.0, 2.0), (0.3, 0.3), (2.0, 5.0), (1.0, 1.0) })
        {
            var random = SeededRandom.Derive(11, (ulong)(a * 10), (ulong)(b * 10));
            const int n = 40000;
            double sum = 0, sumSq = 0;
            for (int k = 0; k < n; k++)
            {
                double v = random.NextBeta(a, b);
                Assert.InRange(v, 0, 1);
                sum += v; sumSq += v * v;
            }
            double mean = sum / n, variance = sumSq / n - mean * mean;
            double expectedMean = a / (a + b), expectedVar = a * b / ((a + b) * (a + b) * (a + b + 1));
            Assert.True(Math.Abs(mean - expectedMean) <= 5 * Math.Sqrt(expectedVar / n), $"Beta({a}, {b}) mean {mean:R}, expected {expectedMean:R}");
            Assert.True(Math.Abs(variance - expectedVar) <= 0.05 * expectedVar, $"Beta({a}, {b}) variance {variance:R}, expected {expectedVar:R}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new SeededRandom(1).NextLogGamma(0));
    }

    [Fact]
    public void Single_method_settings_and_validation()
    {
        var onlyCutmix = new MixedSampleAugmentation(new MixedSampleAugmentationOptions { MixupAlpha = 0, MixRatio = 1 });
        var onlyMixup = new MixedSampleAugmentation(new MixedSampleAugmentationOptions { CutmixAlpha = 0, MixRatio = 1 });
        for (int i = 0; i < 40; i++)
        {
            var c = onlyCutmix.Draw(i, 64, 64, 1, 0, 0);
            Assert.True(c.Lambda == 1 || c.Box is not null);
            Assert.Null(onlyMixup.Draw(i, 64, 64, 1, 0, 0).Box);
        }
        Assert.Throws<ArgumentException>(() => new MixedSampleAugmentation(new MixedSampleAugmentationOptions { MixupAlpha = 0, CutmixAlpha = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MixedSampleAugmentation(new MixedSampleAugmentationOptions { MixRatio = 1.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MixedSampleAugmentation(new MixedSampleAugmentationOptions { LabelSmoothing = 0.5 }));
        var aug = new MixedSampleAugmentation();
        Assert.Throws<ArgumentException>(() => aug.Apply(Images(4, 4, 4), Bool(Diagonal(3)), 0, 0, 0));
        Assert.Throws<ArgumentException>(() => aug.Apply(Images(4, 4, 4).view(4, 3, 16), Bool(Diagonal(4)), 0, 0, 0));
        Assert.Throws<ArgumentException>(() => aug.Apply(Images(4, 4, 4), eye(4), 0, 0, 0));
        // A batch of one is its own partner: unchanged, target = smoothed match row.
        var one = aug.Apply(Images(1, 4, 4), Bool(Diagonal(1)), 0, 0, 0);
        Assert.Equal(Floats(Images(1, 4, 4)), Floats(one.Images));
        Assert.Equal((float)(1 - S), Floats(one.Targets).Single());
    }
}
