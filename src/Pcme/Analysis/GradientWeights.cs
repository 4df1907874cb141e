using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Analysis;

/// <summary>
/// The gradient weights of one pair's soft contrastive loss over its J x K sample pairs
/// (paper Sec. 3.2.2; shared/DESIGN.md §1), all [J, K], detached and ready to plot.
/// With l_jk = -a ||z_a^j - z_b^k|| + b and L = -log((1/JK) sum s(+-l)):
/// dL/dl_jk = -+ w_jk (1 - s(+-l_jk)), w_jk = s(+-l_jk) / sum s(+-l) (+ for a positive pair).
/// </summary>
/// <param name="Positive">Whether the pair was treated as a match.</param>
/// <param name="Logits">l_jk.</param>
/// <param name="Exact">w_jk = s(+-l_jk) / sum s(+-l): the exact weights.</param>
/// <param name="Paper">The paper's form e^{+-l_jk} / sum e^{+-l}, the limit s(x) ~ e^x.</param>
/// <param name="SigmoidComplement">1 - s(+-l_jk), the factor between the weights and the gradient.</param>
/// <param name="Autograd">dL/dl_jk from autograd.</param>
/// <param name="Loss">The pair's NLL L.</param>
public sealed record GradientWeightMaps(bool Positive, Tensor Logits, Tensor Exact, Tensor Paper, Tensor SigmoidComplement, Tensor Autograd, double Loss)
{
    /// <summary>The gradient the exact weights predict: -+ w (1 - s(+-l)). Equals <see cref="Autograd"/>.</summary>
    public Tensor PredictedGradient => Exact.mul(SigmoidComplement).mul(Positive ? -1 : 1);

    /// <summary>
    /// -mean_jk log s(+-l_jk): the loss if every sample pair had to be right on its own. By Jensen's
    /// inequality it is at least <see cref="Loss"/> = -log mean_jk s(+-l_jk), which one right sample pair can
    /// already make small (paper Sec. 3.2.2).
    /// </summary>
    public double MeanSamplePairLoss
    {
        get
        {
            using var scope = NewDisposeScope();
            return nn.functional.logsigmoid(Positive ? Logits : Logits.neg()).mean().neg().to(ScalarType.Float64).item<double>();
        }
    }

    /// <summary>
    /// 1 / sum_jk w_jk^2 of the exact weights: how many sample pairs effectively carry the gradient
    /// (J K when all weigh the same, 1 when one pair takes all of it).
    /// </summary>
    public double EffectiveSamplePairs
    {
        get
        {
            using var scope = NewDisposeScope();
            return 1 / Exact.pow(2).sum().to(ScalarType.Float64).item<double>();
        }
    }
}

/// <summary>Computes <see cref="GradientWeightMaps"/>.</summary>
public static class GradientWeights
{
    /// <summary>Weights for one pair of sample sets <paramref name="za"/> [J, D] and <paramref name="zb"/> [K, D].</summary>
    public static GradientWeightMaps ForSamples(Tensor za, Tensor zb, double negativeScale, double shift, bool positive)
    {
        using var scope = NewDisposeScope();
        return MoveOut(Compute(za, zb, negativeScale, shift, positive));
    }

    static GradientWeightMaps Compute(Tensor za, Tensor zb, double negativeScale, double shift, bool positive)
    {
        var d = SampleDistances.Euclidean(za.detach().unsqueeze(0), zb.detach().unsqueeze(0)).squeeze(2).squeeze(0); // [J, K]
        var logits = d.mul(-negativeScale).add(shift).detach().requires_grad_(true);
        var signed = positive ? logits : logits.neg();
        var logS = nn.functional.logsigmoid(signed);
        var loss = logS.flatten().logsumexp(0, false).sub(Math.Log(logits.numel())).neg();
        loss.backward();
        var exact = logS.detach().flatten().softmax(0).view_as(logits);
        var paper = signed.detach().flatten().softmax(0).view_as(logits);
        var complement = signed.detach().neg().sigmoid();
        return new GradientWeightMaps(positive, logits.detach(), exact, paper, complement, logits.grad!.detach().clone(), loss.item<double>());
    }

    static GradientWeightMaps MoveOut(GradientWeightMaps r) => r with
    {
        Logits = r.Logits.MoveToOuterDisposeScope(), Exact = r.Exact.MoveToOuterDisposeScope(), Paper = r.Paper.MoveToOuterDisposeScope(),
        SigmoidComplement = r.SigmoidComplement.MoveToOuterDisposeScope(), Autograd = r.Autograd.MoveToOuterDisposeScope(),
    };

    /// <summary>
    /// Weights for item <paramref name="i"/> of <paramref name="a"/> against item <paramref name="j"/> of
    /// <paramref name="b"/>, with J samples each drawn from <paramref name="generator"/>.
    /// </summary>
    public static GradientWeightMaps ForPair(GaussianEmbedding a, long i, GaussianEmbedding b, long j, int samples,
        double negativeScale, double shift, bool positive, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var za = a.Slice(i, 1).Sample(samples, generator)[0];
        var zb = b.Slice(j, 1).Sample(samples, generator)[0];
        return MoveOut(Compute(za, zb, negativeScale, shift, positive));
    }
}
