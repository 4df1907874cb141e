using Pcme.Losses;
using Pcme.Probabilistic;
using TorchSharp;
using static Pcme.Tests.Losses.LossTestKit;
using static TorchSharp.torch;

namespace Pcme.Tests.Losses;

public class ClosedFormSampledDistanceLossTests
{
    sealed record Naive(double Loss, double MatchLoss, double Kl, long Count, double[,] Logits, double[,] Csd, double PseudoLoss);

    // PCME++ written out pair by pair, dimension by dimension, in doubles.
    static Naive Reference(double[,] mu1, double[,] h1, double[,] mu2, double[,] h2, bool[,] m, double a, double b, double klWeight, double alpha)
    {
        int na = mu1.GetLength(0), nb = mu2.GetLength(0), d = mu1.GetLength(1);
        var csd = new double[na, nb];
        var logits = new double[na, nb];
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++)
                    s += (mu1[i, k] - mu2[j, k]) * (mu1[i, k] - mu2[j, k]) + Math.Exp(h1[i, k]) + Math.Exp(h2[j, k]);
                csd[i, j] = s;
                logits[i, j] = -a * s + b;
            }
        double Bce(bool[,] target)
        {
            double sum = 0;
            for (int i = 0; i < na; i++)
                for (int j = 0; j < nb; j++)
                {
                    double x = logits[i, j], y = target[i, j] ? 1 : 0;
                    sum += Math.Max(x, 0) - x * y + Math.Log(1 + Math.Exp(-Math.Abs(x)));
                }
            return sum / (na * nb);
        }
        double Kl(double[,] mu, double[,] h)
        {
            double sum = 0;
            for (int i = 0; i < mu.GetLength(0); i++)
                for (int k = 0; k < d; k++)
                    sum += 1 + h[i, k] - mu[i, k] * mu[i, k] - Math.Exp(h[i, k]);
            return -0.5 * sum / mu.Length;
        }
        double matchLoss = 2 * Bce(m);
        double kl = Kl(mu1, h1) + Kl(mu2, h2);
        double loss = matchLoss + klWeight * kl;
        long count = 0;
        double pseudo = 0;
        if (alpha != 0)
        {
            var rows = (bool[,])m.Clone();
            for (int i = 0; i < na; i++)
            {
                double threshold = double.PositiveInfinity;
                for (int j = 0; j < nb; j++) if (m[i, j]) threshold = Math.Min(threshold, logits[i, j]);
                if (double.IsPositiveInfinity(threshold)) continue;
                for (int j = 0; j < nb; j++)
                    if (!m[i, j] && logits[i, j] >= threshold) { rows[i, j] = true; count++; }
            }
            var columns = (bool[,])m.Clone();
            for (int j = 0; j < nb; j++)
            {
                double threshold = double.PositiveInfinity;
                for (int i = 0; i < na; i++) if (m[i, j]) threshold = Math.Min(threshold, logits[i, j]);
                if (double.IsPositiveInfinity(threshold)) continue;
                for (int i = 0; i < na; i++)
                    if (!m[i, j] && logits[i, j] >= threshold) { columns[i, j] = true; count++; }
            }
            pseudo = Bce(rows) + Bce(columns);
            loss += alpha * pseudo;
        }
        return new Naive(loss, matchLoss, kl, count, logits, csd, pseudo);
    }

    static void AssertMatchesReference(GaussianEmbedding img, GaussianEmbedding cap, bool[,] m, PcmeppLossOptions options, double rel = 1e-10)
    {
        using var loss = new ClosedFormSampledDistanceLoss(options);
        loss.to(float64);
        var output = loss.Forward(img, cap, ToTensor(m));
        var naive = Reference(Matrix(img.Mean), Matrix(img.LogVariance), Matrix(cap.Mean), Matrix(cap.LogVariance), m,
            options.InitNegativeScale, options.InitShift, options.KlWeight, options.PseudoPositiveWeight);
        Close(naive.Loss, Scalar(output.Loss), rel, "loss");
        Close(naive.MatchLoss, Scalar(output.MatchLoss), rel, "match loss");
        Close(naive.Kl, Scalar(output.Kl), rel, "kl");
        Assert.Equal(naive.Count, output.PseudoPositiveCount);
        Close(naive.Csd, output.Csd, rel, "csd");
        Close(naive.Logits, output.Logits, rel, "logits");
        if (options.PseudoPositiveWeight != 0) Close(naive.PseudoLoss, Scalar(output.PseudoPositiveLoss!), rel, "pseudo-positive loss");
        else Assert.Null(output.PseudoPositiveLoss);
    }

    static GaussianEmbedding RandomEmbedding(Generator g, long n, long d, double meanScale = 1, double logVarianceShift = -1) =>
        new(Randn(g, n, d).mul(meanScale), Randn(g, n, d).mul(0.5).add(logVarianceShift));

    [Fact]
    public void Matches_naive_reference_with_duplicate_positives_kl_and_pseudo_positives()
    {
        var g = new Generator(11);
        var img = RandomEmbedding(g, 5, 4);
        var cap = RandomEmbedding(g, 6, 4);
        var m = Match(ImageLabels, CaptionLabels);
        // a = 0.25 (exact in float32, like every a and b here) keeps logits spread around the positives', so several negatives beat them.
        var options = new PcmeppLossOptions { InitNegativeScale = 0.25, InitShift = 2, KlWeight = 0.1, PseudoPositiveWeight = 0.25 };
        AssertMatchesReference(img, cap, m, options);
        using var loss = new ClosedFormSampledDistanceLoss(options);
        Assert.True(loss.Forward(img, cap, ToTensor(m)).PseudoPositiveCount > 0, "the case should exercise pseudo-positives");
    }

    [Fact]
    public void Defaults_are_the_official_ones_and_no_match_matrix_means_the_diagonal()
    {
        var g = new Generator(12);
        var img = RandomEmbedding(g, 4, 3);
        var cap = RandomEmbedding(g, 4, 3);
        using var loss = new ClosedFormSampledDistanceLoss();
        loss.to(float64);
        Assert.Equal(5.0, loss.negative_scale.item<double>());
        Assert.Equal(5.0, loss.shift.item<double>());
        Assert.Equal(new[] { "negative_scale", "shift" }, loss.state_dict().Keys.Order().ToArray());
        var implicitDiagonal = loss.Forward(img, cap);
        Assert.Null(implicitDiagonal.PseudoPositiveLoss);
        Assert.Equal(0, implicitDiagonal.PseudoPositiveCount);
        Assert.Equal(Scalar(implicitDiagonal.MatchLoss), Scalar(implicitDiagonal.Loss));
        AssertMatchesReference(img, cap, Identity(4), new PcmeppLossOptions());
        Assert.Throws<ArgumentException>(() => loss.Forward(img, RandomEmbedding(g, 3, 3)));
    }

    [Fact]
    public void Batch_of_one_and_one_against_many()
    {
        var g = new Generator(13);
        var options = new PcmeppLossOptions { KlWeight = 0.5, PseudoPositiveWeight = 1, InitNegativeScale = 0.5, InitShift = 1 };
        AssertMatchesReference(RandomEmbedding(g, 1, 3), RandomEmbedding(g, 1, 3), Identity(1), options);
        AssertMatchesReference(RandomEmbedding(g, 1, 3), RandomEmbedding(g, 3, 3), new bool[,] { { false, true, false } }, options);
        AssertMatchesReference(RandomEmbedding(g, 1, 3), RandomEmbedding(g, 3, 3), new bool[,] { { false, false, false } }, options);
    }

    [Fact]
    public void Very_large_means_and_variances_stay_finite_and_exact()
    {
        var g = new Generator(14);
        var img = RandomEmbedding(g, 5, 4, meanScale: 1e50, logVarianceShift: 100);
        var cap = RandomEmbedding(g, 6, 4, meanScale: 1e50, logVarianceShift: 100);
        var m = Match(ImageLabels, CaptionLabels);
        var options = new PcmeppLossOptions { KlWeight = 1e-3, PseudoPositiveWeight = 0.1 };
        AssertMatchesReference(img, cap, m, options, rel: 1e-9);

        // Gradients too: every one finite.
        var mu = img.Mean.clone().requires_grad_(true);
        var h = img.LogVariance.clone().requires_grad_(true);
        using var loss = new ClosedFormSampledDistanceLoss(options);
        loss.to(float64);
        loss.Forward(new GaussianEmbedding(mu, h), cap, ToTensor(m)).Loss.backward();
        AllFinite(mu.grad!, "d loss / d mu");
        AllFinite(h.grad!, "d loss / d h");
        AllFinite(loss.negative_scale.grad!, "d loss / d a");
        AllFinite(loss.shift.grad!, "d loss / d b");
    }

    [Fact]
    public void Gradients_match_central_differences_for_mu_h_a_and_b()
    {
        var g = new Generator(15);
        var m = Match(ImageLabels, CaptionLabels);
        var mu1 = Randn(g, 5, 3).requires_grad_(true);
        var h1 = Randn(g, 5, 3).mul(0.5).sub(1).detach().requires_grad_(true);
        var mu2 = Randn(g, 6, 3).requires_grad_(true);
        var h2 = Randn(g, 6, 3).mul(0.5).sub(1).detach().requires_grad_(true);
        using var loss = new ClosedFormSampledDistanceLoss(new PcmeppLossOptions { InitNegativeScale = 0.25, InitShift = 2, KlWeight = 0.1, PseudoPositiveWeight = 0.25 });
        loss.to(float64);
        var match = ToTensor(m);
        Assert.True(loss.Forward(new(mu1, h1), new(mu2, h2), match).PseudoPositiveCount > 0);
        CheckGradients(() => loss.Forward(new(mu1, h1), new(mu2, h2), match).Loss,
            ("mu_image", mu1), ("h_image", h1), ("mu_caption", mu2), ("h_caption", h2),
            ("negative_scale", loss.negative_scale), ("shift", loss.shift));
    }

    [Fact]
    public void Pseudo_positives_are_exactly_the_pairs_that_beat_the_positive()
    {
        // D = 1, variances ~ e^-30 (negligible), a = 1, b = 0: logit = -(mu_i - mu_j)^2.
        // Images at 0, 2, 100; captions at 3, 1, 60; the diagonal is positive.
        //   row 0: positive c0 at distance^2 9; c1 at 1 beats it                    -> (0, 1)
        //   row 1: positive c1 at 1; c0 at 1 ties (>= counts)                         -> (1, 0)
        //   row 2: positive c2 at 1600; c0 and c1 are farther                         -> none
        //   col 0: positive i0 at 9; i1 at 1 beats it                                  -> (1, 0)
        //   col 1: positive i1 at 1; i0 at 1 ties                                      -> (0, 1)
        //   col 2: positive i2 at 1600; i0 (3600) and i1 (3364) are farther            -> none
        var img = GaussianEmbedding.PointMass(tensor(new double[] { 0, 2, 100 }).reshape(3, 1));
        var cap = GaussianEmbedding.PointMass(tensor(new double[] { 3, 1, 60 }).reshape(3, 1));
        using var loss = new ClosedFormSampledDistanceLoss(new PcmeppLossOptions { InitNegativeScale = 1, InitShift = 0, PseudoPositiveWeight = 1 });
        loss.to(float64);
        var output = loss.Forward(img, cap);
        Assert.Equal(4, output.PseudoPositiveCount);
        var diagonal = MatchMatrix.Diagonal(3);
        Assert.Equal(new[] { false, true, false, true, false, false, false, false, false },
            ClosedFormSampledDistanceLoss.PseudoPositives(output.Logits, diagonal).flatten().data<bool>().ToArray());
        Assert.Equal(new[] { false, true, false, true, false, false, false, false, false },
            ClosedFormSampledDistanceLoss.PseudoPositives(output.Logits.t(), diagonal).t().flatten().data<bool>().ToArray());
        AssertMatchesReference(img, cap, Identity(3), loss.Options);
    }

    [Fact]
    public void Several_positives_use_the_smallest_positive_logit_and_rows_without_positives_get_none()
    {
        var logits = tensor(new double[,]
        {
            { -1, -5, -3, -6 },   // positives -1, -5: threshold -5, so -3 is pseudo, -6 is not
            { 4, 0, 9, 1 },       // no positive: nothing, however large
            { 2, 2, 0, 2.5 },     // one positive (2): the tie at 2 and 2.5 are pseudo
        });
        var match = ToTensor(new bool[,]
        {
            { true, true, false, false },
            { false, false, false, false },
            { true, false, false, false },
        });
        var pseudo = ClosedFormSampledDistanceLoss.PseudoPositives(logits, match);
        Assert.Equal(new[]
        {
            false, false, true, false,
            false, false, false, false,
            false, true, false, true,
        }, pseudo.flatten().data<bool>().ToArray());
        Assert.False(pseudo.requires_grad);
    }
}
