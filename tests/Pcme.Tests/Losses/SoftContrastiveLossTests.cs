using CsCheck;
using Pcme.Losses;
using Pcme.Losses.Reference;
using Pcme.Probabilistic;
using static Pcme.Tests.TensorData;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Tests.Losses;

public class SoftContrastiveLossTests
{
    static GaussianEmbedding Random(long n, long d, Generator g, double logVarShift = -2) =>
        new(randn([n, d], dtype: float64, generator: g), randn([n, d], dtype: float64, generator: g).mul(0.5).add(logVarShift));

    static SoftContrastiveLoss Loss(PcmeLossOptions o, double a, double b)
    {
        return new SoftContrastiveLoss(o with { InitNegativeScale = a, InitShift = b }, dtype: float64);
    }

    static Tensor RandomMatch(int ba, int bb, Generator g)
    {
        // Diagonal plus random extra positives (duplicated images / same class).
        var m = rand([ba, bb], generator: g).lt(0.25);
        for (int i = 0; i < Math.Min(ba, bb); i++) m[i, i] = tensor(true);
        return m;
    }

    [Theory]
    [InlineData(4, 4, 3, 5, 1)]
    [InlineData(1, 1, 1, 3, 2)]
    [InlineData(3, 5, 1, 4, 3)]
    [InlineData(5, 2, 7, 6, 4)]
    public void Pair_nll_equals_the_naive_double_loop(int ba, int bb, int j, int d, int seed)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)seed);
        var za = randn([ba, j, d], dtype: float64, generator: g);
        var zb = randn([bb, j, d], dtype: float64, generator: g);
        var match = RandomMatch(ba, bb, g);
        var loss = Loss(new PcmeLossOptions { UniformityWeight = 0 }, 3.0, 2.5);
        var nll = D2(loss.PairNll(za, zb, match));
        var a = D3(za); var b = D3(zb); var m = B2(match);
        for (int x = 0; x < ba; x++)
            for (int y = 0; y < bb; y++)
            {
                Close(Naive.PairNllDirect(a[x], b[y], 3.0, 2.5, m[x][y]), nll[x][y], rel: 1e-10);
                Close(Naive.PairNll(a[x], b[y], 3.0, 2.5, m[x][y]), nll[x][y], rel: 1e-10);
            }
    }

    [Theory]
    [InlineData(PairReduction.Mean)]
    [InlineData(PairReduction.Sum)]
    [InlineData(PairReduction.OfficialSum)]
    public void Full_objective_equals_naive_nll_plus_kl_plus_uniformity(PairReduction reduction)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        var img = Random(4, 6, g); var cap = Random(4, 6, g);
        var match = RandomMatch(4, 4, g);
        var opts = new PcmeLossOptions { Samples = 3, KlWeight = 0.1, UniformityWeight = 0.7, Reduction = reduction };
        var loss = Loss(opts, 4.0, 3.0);
        var zi = img.Sample(3, g); var zc = cap.Sample(3, g);
        var o = loss.FromSamples(img, cap, zi, zc, match);

        var a = D3(zi); var b = D3(zc); var m = B2(match);
        double pos = 0, neg = 0;
        for (int x = 0; x < 4; x++)
            for (int y = 0; y < 4; y++)
            {
                double v = Naive.PairNll(a[x], b[y], 4.0, 3.0, m[x][y]);
                if (m[x][y]) pos += v; else neg += v;
            }
        double scale = reduction switch { PairReduction.Mean => 1.0 / 16, PairReduction.Sum => 1, _ => 2 };
        double kl = Naive.Kl(D2(img.Mean), D2(img.LogVariance)) + Naive.Kl(D2(cap.Mean), D2(cap.LogVariance));
        double uni = Naive.Uniformity(a.Concat(b).SelectMany(s => s).ToList());
        Close(pos * scale, o.PositiveLoss.item<double>());
        Close(neg * scale, o.NegativeLoss.item<double>());
        Close((pos + neg) * scale, o.MatchLoss.item<double>());
        Close(kl, o.Kl.item<double>());
        Close(uni, o.Uniformity!.item<double>());
        double regScale = reduction switch { PairReduction.Mean => 1.0 / 32, PairReduction.Sum => 0.5, _ => 1 };
        Close((pos + neg) * scale + regScale * (0.1 * kl + 0.7 * uni), o.Loss.item<double>());
    }

    [Fact]
    public void Official_number_is_reproduced_with_doubled_a_b_and_OfficialSum()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var img = Random(5, 8, g); var cap = Random(5, 8, g);
        var zi = img.Sample(4, g); var zc = cap.Sample(4, g);
        var match = MatchMatrix.Diagonal(5);
        const double aOff = 1.3, bOff = 0.9;
        var loss = SoftContrastiveLoss.FromOfficial(aOff, bOff, new PcmeLossOptions { Samples = 4, UniformityWeight = 0, KlWeight = 0 }, dtype: float64);
        double ours = loss.FromSamples(img, cap, zi, zc, match).Loss.item<double>();
        double naive = Naive.OfficialLoss(D3(zi), D3(zc), B2(match), aOff, bOff);
        double reference = PairwiseExpansionLoss.Compute(zi, zc, match, tensor(aOff, float64), tensor(bOff, float64)).item<double>();
        Close(naive, ours, rel: 1e-10);
        Close(naive, reference, rel: 1e-10);
        // And the reference agrees with a general match matrix too.
        var m2 = RandomMatch(5, 5, g);
        Close(Naive.OfficialLoss(D3(zi), D3(zc), B2(m2), aOff, bOff),
              PairwiseExpansionLoss.Compute(zi, zc, m2, tensor(aOff, float64), tensor(bOff, float64)).item<double>(), rel: 1e-10);
        Close(Naive.OfficialLoss(D3(zi), D3(zc), B2(m2), aOff, bOff), loss.FromSamples(img, cap, zi, zc, m2).Loss.item<double>(), rel: 1e-10);
    }

    [Theory]
    [InlineData(1e4, 1e4)]
    [InlineData(1e4, -1e4)]
    [InlineData(500, 0)]
    public void Huge_logits_stay_finite_and_match_the_log_space_reference(double a, double b)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9);
        var za = randn([3, 2, 4], dtype: float64, generator: g).requires_grad_(true);
        var zb = randn([3, 2, 4], dtype: float64, generator: g);
        var match = MatchMatrix.Diagonal(3);
        var loss = Loss(new PcmeLossOptions(), a, b);
        var nll = loss.PairNll(za, zb, match);
        nll.sum().backward();
        Assert.True(nll.isfinite().all().item<bool>());
        Assert.True(za.grad!.isfinite().all().item<bool>());
        var x = D3(za.detach()); var y = D3(zb); var n = D2(nll.detach());
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++)
                Close(Naive.PairNll(x[i], y[k], a, b, i == k), n[i][k], rel: 1e-9);
    }

    [Fact]
    public void Identical_samples_give_finite_loss_and_gradients()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var z = randn([3, 2, 5], dtype: float64, generator: g).requires_grad_(true);
        var loss = Loss(new PcmeLossOptions(), 10, 10);
        var nll = loss.PairNll(z, z, MatchMatrix.Diagonal(3));
        nll.sum().backward();
        Assert.True(z.grad!.isfinite().all().item<bool>());
        var zz = D3(z.detach());
        Close(Naive.PairNll(zz[0], zz[0], 10, 10, true), nll[0, 0].item<double>(), rel: 1e-9);
    }

    [Fact]
    public void Finite_differences_agree_with_autograd_for_mu_h_a_and_b()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(21);
        var mu = randn([3, 4], dtype: float64, generator: g).mul(0.5).requires_grad_(true);
        var h = randn([3, 4], dtype: float64, generator: g).mul(0.3).sub(1).requires_grad_(true);
        var muC = randn([3, 4], dtype: float64, generator: g).mul(0.5);
        var hC = randn([3, 4], dtype: float64, generator: g).mul(0.3).sub(1);
        var match = RandomMatch(3, 3, g);
        var loss = Loss(new PcmeLossOptions { Samples = 3, KlWeight = 0.05, UniformityWeight = 0.5 }, 2.0, 1.5);

        double Eval()
        {
            var gen = new Generator(77); // same eps every evaluation
            return loss.Forward(new GaussianEmbedding(mu, h), new GaussianEmbedding(muC, hC), match, gen).Loss.item<double>();
        }
        var gen0 = new Generator(77);
        loss.Forward(new GaussianEmbedding(mu, h), new GaussianEmbedding(muC, hC), match, gen0).Loss.backward();
        var analytic = new[] { D1(mu.grad!), D1(h.grad!), D1(loss.negative_scale.grad!), D1(loss.shift.grad!) };
        var tensors = new[] { mu, h, (Tensor)loss.negative_scale, loss.shift };
        const double eps = 1e-6;
        for (int t = 0; t < tensors.Length; t++)
        {
            var flat = tensors[t].detach().view(-1);
            for (int i = 0; i < flat.shape[0]; i++)
            {
                double orig = flat[i].item<double>();
                using (no_grad()) flat[i] = tensor(orig + eps, float64);
                double plus = Eval();
                using (no_grad()) flat[i] = tensor(orig - eps, float64);
                double minus = Eval();
                using (no_grad()) flat[i] = tensor(orig, float64);
                Close((plus - minus) / (2 * eps), analytic[t][i], rel: 1e-5, abs: 1e-7);
            }
        }
    }

    [Fact]
    public void Sigma_to_zero_with_one_sample_reduces_to_the_deterministic_soft_contrastive_loss()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(13);
        var muI = randn([4, 6], dtype: float64, generator: g); var muC = randn([4, 6], dtype: float64, generator: g);
        var match = MatchMatrix.Diagonal(4);
        var deterministic = Loss(new PcmeLossOptions { UseVariance = false, KlWeight = 0, UniformityWeight = 0 }, 3, 2);
        var probabilistic = Loss(new PcmeLossOptions { Samples = 1, KlWeight = 0, UniformityWeight = 0 }, 3, 2);
        double det = deterministic.Forward(GaussianEmbedding.PointMass(muI), GaussianEmbedding.PointMass(muC), match, null).Loss.item<double>();
        double prob = probabilistic.Forward(GaussianEmbedding.PointMass(muI, -40), GaussianEmbedding.PointMass(muC, -40), match, new Generator(1)).Loss.item<double>();
        Close(det, prob, rel: 1e-7);
        // The deterministic model is the plain soft contrastive loss on the means.
        var a = D2(muI); var c = D2(muC); double naive = 0;
        for (int i = 0; i < 4; i++) for (int k = 0; k < 4; k++) naive += Naive.PairNll([a[i]], [c[k]], 3, 2, i == k);
        Close(naive / 16, det, rel: 1e-10);
        // With sigma off, h gets no gradient at all from the match term.
        var h = zeros([4, 6], dtype: float64).requires_grad_(true);
        deterministic.Forward(new GaussianEmbedding(muI, h), GaussianEmbedding.PointMass(muC), match, null).MatchLoss.backward();
        Assert.True(h.grad is null || h.grad.abs().max().item<double>() == 0);
    }

    [Fact]
    public void Kl_is_zero_exactly_at_the_standard_normal_and_positive_elsewhere()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(0.0, Regularizers.KlToStandardNormal(new GaussianEmbedding(zeros([3, 5], dtype: float64), zeros([3, 5], dtype: float64))).item<double>());
        var g = new Generator(2);
        var e = Random(3, 5, g);
        double kl = Regularizers.KlToStandardNormal(e).item<double>();
        Assert.True(kl > 0);
        Close(Naive.Kl(D2(e.Mean), D2(e.LogVariance)), kl);
    }

    [Fact]
    public void A_fixed_seed_reproduces_every_number_bit_for_bit()
    {
        (double[] Loss, double[] GradMu) Run()
        {
            using var scope = NewDisposeScope();
            var g = new Generator(42);
            var img = new GaussianEmbedding(randn([6, 8], generator: g).requires_grad_(true), randn([6, 8], generator: g).sub(2));
            var cap = new GaussianEmbedding(randn([6, 8], generator: g), randn([6, 8], generator: g).sub(2));
            var loss = new SoftContrastiveLoss();
            var o = loss.Forward(img, cap, MatchMatrix.Diagonal(6), g);
            o.Loss.backward();
            return ([o.Loss.item<float>(), o.MatchLoss.item<float>(), o.Kl.item<float>(), o.Uniformity!.item<float>()], D1(img.Mean.grad!));
        }
        var r1 = Run(); var r2 = Run();
        Assert.Equal(r1.Loss.Select(BitConverter.DoubleToInt64Bits), r2.Loss.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(r1.GradMu.Select(BitConverter.DoubleToInt64Bits), r2.GradMu.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void Hib_single_modality_uses_same_class_pairs_and_never_self_pairs()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(8);
        var x = Random(5, 4, g);
        long[] labels = [0, 1, 0, 2, 1];
        var loss = Loss(new PcmeLossOptions { Samples = 2, KlWeight = 0.01, UniformityWeight = 0.3 }, 2, 1);
        var o = loss.ForwardSingleModality(x, tensor(labels), new Generator(4));
        var z = D3(x.Sample(2, new Generator(4)));
        double sum = 0; int n = 0;
        for (int i = 0; i < 5; i++) for (int k = 0; k < 5; k++)
        {
            if (i == k) continue;
            sum += Naive.PairNll(z[i], z[k], 2, 1, labels[i] == labels[k]); n++;
        }
        double kl = Naive.Kl(D2(x.Mean), D2(x.LogVariance));
        double uni = Naive.Uniformity(z.SelectMany(s => s).ToList());
        Close(sum / n, o.MatchLoss.item<double>());
        Close(kl, o.Kl.item<double>());
        Close(sum / n + (0.01 * kl + 0.3 * uni) / (2 * n), o.Loss.item<double>());
    }

    [Fact]
    public void Loss_is_symmetric_under_swapping_modalities_with_the_transposed_match_matrix()
    {
        Gen.Select(Gen.Int[1, 5], Gen.Int[1, 5], Gen.Int[1, 3], Gen.Int[0, 1_000_000]).Sample(t =>
        {
            var (ba, bb, j, seed) = t;
            using var scope = NewDisposeScope();
            var g = new Generator((ulong)seed);
            var za = randn([ba, j, 4], dtype: float64, generator: g); var zb = randn([bb, j, 4], dtype: float64, generator: g);
            var ea = Random(ba, 4, g); var eb = Random(bb, 4, g);
            var m = RandomMatch(ba, bb, g);
            var loss = Loss(new PcmeLossOptions { UniformityWeight = 0.5, KlWeight = 0.1 }, 3, 2);
            double ab = loss.FromSamples(ea, eb, za, zb, m).Loss.item<double>();
            double ba2 = loss.FromSamples(eb, ea, zb, za, m.t()).Loss.item<double>();
            return Math.Abs(ab - ba2) <= 1e-10 * Math.Max(1, Math.Abs(ab));
        }, iter: 40);
    }

    [Fact]
    public void Loss_is_invariant_to_permuting_the_batch_together_with_the_match_matrix()
    {
        Gen.Select(Gen.Int[1, 6], Gen.Int[1, 3], Gen.Int[0, 1_000_000]).Sample(t =>
        {
            var (b, j, seed) = t;
            using var scope = NewDisposeScope();
            var g = new Generator((ulong)seed);
            var ei = Random(b, 4, g); var ec = Random(b, 4, g);
            var zi = randn([b, j, 4], dtype: float64, generator: g); var zc = randn([b, j, 4], dtype: float64, generator: g);
            var m = RandomMatch(b, b, g);
            var pi = randperm(b, generator: g); var pc = randperm(b, generator: g);
            var loss = Loss(new PcmeLossOptions { UniformityWeight = 0.5, KlWeight = 0.1 }, 3, 2);
            double before = loss.FromSamples(ei, ec, zi, zc, m).Loss.item<double>();
            double after = loss.FromSamples(ei.Select(pi), ec.Select(pc), zi.index_select(0, pi), zc.index_select(0, pc),
                m.index_select(0, pi).index_select(1, pc)).Loss.item<double>();
            return Math.Abs(before - after) <= 1e-10 * Math.Max(1, Math.Abs(before));
        }, iter: 40);
    }

    [Fact]
    public void Bad_shapes_are_one_clear_error()
    {
        using var scope = NewDisposeScope();
        var loss = new SoftContrastiveLoss();
        var e = Assert.Throws<ArgumentException>(() => loss.PairNll(zeros(3, 2, 4), zeros(3, 2, 4), zeros(2, 3)));
        Assert.Contains("[3, 3]", e.Message);
        Assert.Throws<ArgumentException>(() => loss.PairNll(zeros(3, 2, 4), zeros(3, 2, 5), MatchMatrix.Diagonal(3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SoftContrastiveLoss(new PcmeLossOptions { Samples = 0 }));
    }
}
