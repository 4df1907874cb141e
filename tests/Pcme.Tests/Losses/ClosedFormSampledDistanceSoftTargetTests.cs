using Pcme.Losses;
using Pcme.Probabilistic;
using TorchSharp;
using static Pcme.Tests.Losses.LossTestKit;
using static TorchSharp.torch;

namespace Pcme.Tests.Losses;

/// <summary>
/// The soft-target path of the PCME++ loss (<see cref="ClosedFormSampledDistanceLoss.ForwardSoft"/>) against
/// the official naver-ai/pcmepp <c>ClosedFormSampledDistanceLoss.forward</c> written out in doubles: BCEWithLogits
/// mean, doubled, + vib_beta (KL_img + KL_cap) + alpha (i2t + t2i) with <c>_recompute_matched</c>.
/// </summary>
public class ClosedFormSampledDistanceSoftTargetTests
{
    sealed record Naive(double Loss, double MatchLoss, double Kl, long Count, double[,] Logits, double PseudoLoss);

    /// <summary>Which rule picks the ground-truth column of a row among tied largest targets.</summary>
    enum Ties { OfficialFirstIndex, SmallestLogit }

    static double[,] Logits(double[,] mu1, double[,] h1, double[,] mu2, double[,] h2, double a, double b)
    {
        int na = mu1.GetLength(0), nb = mu2.GetLength(0), d = mu1.GetLength(1);
        var logits = new double[na, nb];
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++)
            {
                double mu = 0, sigma = 0;
                for (int k = 0; k < d; k++)
                {
                    mu += (mu1[i, k] - mu2[j, k]) * (mu1[i, k] - mu2[j, k]);
                    sigma += Math.Exp(h1[i, k]) + Math.Exp(h2[j, k]);
                }
                logits[i, j] = -a * (mu + sigma) + b;
            }
        return logits;
    }

    /// <summary>nn.BCEWithLogitsLoss (mean): max(x, 0) - x y + log(1 + e^-|x|).</summary>
    static double Bce(double[,] x, double[,] y)
    {
        double sum = 0;
        for (int i = 0; i < x.GetLength(0); i++)
            for (int j = 0; j < x.GetLength(1); j++)
                sum += Math.Max(x[i, j], 0) - x[i, j] * y[i, j] + Math.Log(1 + Math.Exp(-Math.Abs(x[i, j])));
        return sum / x.Length;
    }

    /// <summary>
    /// Official <c>_recompute_matched</c>: gt_labels, gt_indices = max(matched, 1); gt_vals = logits[i, gt_i];
    /// pseudo = logits &gt;= gt_vals; matched[pseudo] = gt_label. Returns the new targets and the raised pairs
    /// (official count sum(pseudo) - rows when each row's maximum is unique).
    /// </summary>
    static (double[,] Targets, long Raised) Recompute(double[,] logits, double[,] matched, Ties ties)
    {
        int r = logits.GetLength(0), c = logits.GetLength(1);
        var result = (double[,])matched.Clone();
        long raised = 0;
        for (int i = 0; i < r; i++)
        {
            int gt = 0;
            for (int j = 1; j < c; j++) if (matched[i, j] > matched[i, gt]) gt = j;    // torch.max: first maximum
            double label = matched[i, gt], threshold = logits[i, gt];
            if (ties == Ties.SmallestLogit)
                for (int j = 0; j < c; j++) if (matched[i, j] == label) threshold = Math.Min(threshold, logits[i, j]);
            for (int j = 0; j < c; j++)
                if (logits[i, j] >= threshold)
                {
                    if (matched[i, j] != label) raised++;
                    result[i, j] = label;
                }
        }
        return (result, raised);
    }

    static Naive Reference(double[,] mu1, double[,] h1, double[,] mu2, double[,] h2, double[,] y, PcmeppLossOptions o, Ties ties)
    {
        int d = mu1.GetLength(1);
        var logits = Logits(mu1, h1, mu2, h2, o.InitNegativeScale, o.InitShift);
        double Kl(double[,] mu, double[,] h)
        {
            double sum = 0;
            for (int i = 0; i < mu.GetLength(0); i++)
                for (int k = 0; k < d; k++)
                    sum += 1 + h[i, k] - mu[i, k] * mu[i, k] - Math.Exp(h[i, k]);
            return -0.5 * sum / mu.Length;
        }
        double matchLoss = 2 * Bce(logits, y);
        double kl = Kl(mu1, h1) + Kl(mu2, h2);
        double loss = matchLoss + o.KlWeight * kl;
        double pseudo = 0;
        long count = 0;
        if (o.PseudoPositiveWeight != 0)
        {
            // i2t on (img, cap); t2i is the official loss_fn(cap_emb, img_emb, matched.T): transposed logits.
            var (i2t, n1) = Recompute(logits, y, ties);
            var logitsT = Transpose(logits);
            var (t2i, n2) = Recompute(logitsT, Transpose(y), ties);
            pseudo = Bce(logits, i2t) + Bce(logitsT, t2i);
            count = n1 + n2;
            loss += o.PseudoPositiveWeight * pseudo;
        }
        return new Naive(loss, matchLoss, kl, count, logits, pseudo);
    }

    static Tensor ToTensor(double[,] m) => tensor(m);

    static PcmeppLossOutput AssertMatches(GaussianEmbedding img, GaussianEmbedding cap, double[,] y, PcmeppLossOptions options, Ties ties, double rel = 1e-10)
    {
        using var loss = new ClosedFormSampledDistanceLoss(options);
        loss.to(float64);
        var output = loss.ForwardSoft(img, cap, ToTensor(y));
        var naive = Reference(Matrix(img.Mean), Matrix(img.LogVariance), Matrix(cap.Mean), Matrix(cap.LogVariance), y, options, ties);
        Close(naive.Loss, Scalar(output.Loss), rel, "loss");
        Close(naive.MatchLoss, Scalar(output.MatchLoss), rel, "match loss");
        Close(naive.Kl, Scalar(output.Kl), rel, "kl");
        Close(naive.Logits, output.Logits, rel, "logits");
        Assert.Equal(naive.Count, output.PseudoPositiveCount);
        if (options.PseudoPositiveWeight != 0) Close(naive.PseudoLoss, Scalar(output.PseudoPositiveLoss!), rel, "pseudo-positive loss");
        else Assert.Null(output.PseudoPositiveLoss);
        return output;
    }

    static GaussianEmbedding RandomEmbedding(Generator g, long n, long d) =>
        new(Randn(g, n, d), Randn(g, n, d).mul(0.5).sub(1));

    const double S = 1e-4;

    /// <summary>The official mixup target for arange labels: lam onehot(i) + (1 - lam) onehot(B-1-i), smoothed.</summary>
    static double[,] MixupTargets(double[] lambdas)
    {
        int n = lambdas.Length;
        var y = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < n; c++)
                y[i, c] = lambdas[i] * (c == i ? 1 - S : S) + (1 - lambdas[i]) * (c == n - 1 - i ? 1 - S : S);
        return y;
    }

    static readonly PcmeppLossOptions Spread = new() { InitNegativeScale = 0.25, InitShift = 2, KlWeight = 0.1, PseudoPositiveWeight = 0.25 };

    [Fact]
    public void Matches_the_official_formulas_on_mixup_targets()
    {
        var g = new Generator(21);
        // Mixed rows (some with the partner as the larger weight), unmixed ones, and the odd batch's middle.
        var y = MixupTargets([0.7, 1, 0.2, 1, 0.45, 0.9, 0.35]);
        var img = RandomEmbedding(g, 7, 4);
        var cap = RandomEmbedding(g, 7, 4);
        var output = AssertMatches(img, cap, y, Spread, Ties.OfficialFirstIndex);
        Assert.True(output.PseudoPositiveCount > 0, "the case should exercise pseudo-positives");
        // The official config (a = b = 5, vib_beta 1e-4, alpha 0.1) too.
        AssertMatches(img, cap, y, new PcmeppLossOptions { KlWeight = 1e-4, PseudoPositiveWeight = 0.1 }, Ties.OfficialFirstIndex);
    }

    [Fact]
    public void Matches_the_official_formulas_on_arbitrary_rectangular_soft_targets()
    {
        var g = new Generator(22);
        var y = Matrix(rand([5, 6], dtype: float64, generator: g));
        AssertMatches(RandomEmbedding(g, 5, 3), RandomEmbedding(g, 6, 3), y, Spread, Ties.OfficialFirstIndex);
        AssertMatches(RandomEmbedding(g, 5, 3), RandomEmbedding(g, 6, 3), y, Spread with { PseudoPositiveWeight = 0 }, Ties.OfficialFirstIndex);
    }

    [Fact]
    public void Logit_ties_with_the_ground_truth_count_as_pseudo_positives()
    {
        // D = 1, variances ~ e^-30, a = 1, b = 0: logit = -(mu_i - mu_j)^2. Images at 0, 2, 100; captions at 3, 1, 60.
        //   logits: row 0: -9, -1, -3600; row 1: -1, -1, -3364; row 2: -9409, -9801, -1600.
        var img = GaussianEmbedding.PointMass(tensor(new double[] { 0, 2, 100 }).reshape(3, 1));
        var cap = GaussianEmbedding.PointMass(tensor(new double[] { 3, 1, 60 }).reshape(3, 1));
        var y = new double[,]
        {
            { 0.8, 0.2, S },    // gt c0 (-9): c1 (-1) beats it -> raised to 0.8
            { S, 0.6, 0.4 },    // gt c1 (-1): c0 ties at -1 -> raised (>=); c2 does not
            { 0.3, S, 0.7 },    // gt c2 (-1600): nothing beats it
        };
        var options = new PcmeppLossOptions { InitNegativeScale = 1, InitShift = 0, PseudoPositiveWeight = 1 };
        var output = AssertMatches(img, cap, y, options, Ties.OfficialFirstIndex);
        Assert.Equal(new[] { false, true, false, true, false, false, false, false, false },
            ClosedFormSampledDistanceLoss.SoftPseudoPositives(output.Logits, ToTensor(y)).flatten().data<bool>().ToArray());
        // t2i, per caption: col 0 gt i0 (-9): i1 (-1) beats it; col 1 gt i1 (-1): i0 ties; col 2 gt i2: none.
        Assert.Equal(new[] { false, true, false, true, false, false, false, false, false },
            ClosedFormSampledDistanceLoss.SoftPseudoPositives(output.Logits.t(), ToTensor(y).t()).t().flatten().data<bool>().ToArray());
        var raised = ClosedFormSampledDistanceLoss.WithSoftPseudoPositives(output.Logits, ToTensor(y), out _);
        Close(new double[,] { { 0.8, 0.8, S }, { 0.6, 0.6, 0.4 }, { 0.3, S, 0.7 } }, raised, 0, "i2t targets");
        Assert.Equal(4, output.PseudoPositiveCount);
    }

    [Fact]
    public void Tied_largest_targets_use_the_smallest_tied_logit_so_zero_one_targets_equal_the_bool_path()
    {
        // Several positives per row: the kit's bool rule (threshold = the weakest positive). The official
        // torch.max would take the first tied column instead; here they differ on row 0.
        var logits = tensor(new double[,] { { -1, -5, -3, -6 }, { 4, 0, 9, 1 }, { 2, 2, 0, 2.5 } });
        var y = tensor(new double[,] { { 1, 1, 0, 0 }, { 0, 0, 0, 0 }, { 1, 0, 0, 0 } });
        Assert.Equal(new[] { false, false, true, false, false, false, false, false, false, true, false, true },
            ClosedFormSampledDistanceLoss.SoftPseudoPositives(logits, y).flatten().data<bool>().ToArray());
        var (official, _) = Recompute(Matrix(logits), Matrix(y), Ties.OfficialFirstIndex);
        Assert.Equal(0.0, official[0, 2]);   // first-index rule: threshold -1, so -3 is not raised

        // Whole loss on a duplicate-image match matrix: soft path on 0/1 floats == bool path, and == the naive
        // generalised rule; also smoothed (ties at 1 - s) against the naive generalised rule.
        var g = new Generator(23);
        var img = RandomEmbedding(g, 5, 4);
        var cap = RandomEmbedding(g, 6, 4);
        var m = Match(ImageLabels, CaptionLabels);
        var y01 = new double[5, 6];
        var ySmooth = new double[5, 6];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 6; j++) { y01[i, j] = m[i, j] ? 1 : 0; ySmooth[i, j] = m[i, j] ? 1 - S : S; }
        var soft = AssertMatches(img, cap, y01, Spread, Ties.SmallestLogit);
        AssertMatches(img, cap, ySmooth, Spread, Ties.SmallestLogit);
        using var loss = new ClosedFormSampledDistanceLoss(Spread);
        loss.to(float64);
        var hard = loss.Forward(img, cap, LossTestKit.ToTensor(m));
        Assert.True(hard.PseudoPositiveCount > 0);
        Assert.Equal(hard.PseudoPositiveCount, soft.PseudoPositiveCount);
        Close(Scalar(hard.Loss), Scalar(soft.Loss), 1e-12, "loss");
        Close(Scalar(hard.MatchLoss), Scalar(soft.MatchLoss), 1e-12, "match loss");
        Close(Scalar(hard.PseudoPositiveLoss!), Scalar(soft.PseudoPositiveLoss!), 1e-12, "pseudo-positive loss");
    }

    [Fact]
    public void Gradients_match_central_differences()
    {
        var g = new Generator(24);
        var y = ToTensor(MixupTargets([0.7, 1, 0.3, 0.55]));
        var mu1 = Randn(g, 4, 3).requires_grad_(true);
        var h1 = Randn(g, 4, 3).mul(0.5).sub(1).detach().requires_grad_(true);
        var mu2 = Randn(g, 4, 3).requires_grad_(true);
        var h2 = Randn(g, 4, 3).mul(0.5).sub(1).detach().requires_grad_(true);
        using var loss = new ClosedFormSampledDistanceLoss(Spread);
        loss.to(float64);
        Assert.True(loss.ForwardSoft(new(mu1, h1), new(mu2, h2), y).PseudoPositiveCount > 0);
        CheckGradients(() => loss.ForwardSoft(new(mu1, h1), new(mu2, h2), y).Loss,
            ("mu_image", mu1), ("h_image", h1), ("mu_caption", mu2), ("h_caption", h2),
            ("negative_scale", loss.negative_scale), ("shift", loss.shift));
    }

    [Fact]
    public void Soft_bce_is_stable_for_large_logits_and_equals_the_bool_one_on_zero_one_targets()
    {
        var x = new double[,] { { 1e4, -1e4, 30 }, { -745, 0, 1e-3 } };
        var y = new double[,] { { 0.3, 0.7, 1 }, { 0, 0.5, 1 } };
        Close(Bce(x, y), Scalar(ClosedFormSampledDistanceLoss.SoftBinaryCrossEntropy(tensor(x), tensor(y))), 1e-12, "soft bce");
        var yb = new bool[,] { { true, false, true }, { false, false, true } };
        var y01 = new double[,] { { 1, 0, 1 }, { 0, 0, 1 } };
        Close(Scalar(ClosedFormSampledDistanceLoss.BinaryCrossEntropy(tensor(x), LossTestKit.ToTensor(yb))),
            Scalar(ClosedFormSampledDistanceLoss.SoftBinaryCrossEntropy(tensor(x), tensor(y01))), 1e-12, "0/1 targets");
        // Float32 targets with float64 logits are converted; bool or misshapen targets are refused.
        var g = new Generator(25);
        using var loss = new ClosedFormSampledDistanceLoss();
        loss.to(float64);
        var img = RandomEmbedding(g, 3, 2);
        var cap = RandomEmbedding(g, 3, 2);
        Close(Scalar(loss.ForwardSoft(img, cap, eye(3, dtype: float64)).Loss), Scalar(loss.ForwardSoft(img, cap, eye(3)).Loss), 1e-12, "float32 targets");
        Assert.Throws<ArgumentException>(() => loss.ForwardSoft(img, cap, eye(3, dtype: ScalarType.Bool)));
        Assert.Throws<ArgumentException>(() => loss.ForwardSoft(img, cap, ones(3, 2)));
    }
}
