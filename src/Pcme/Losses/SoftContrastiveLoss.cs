using Pcme.Probabilistic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>Settings of the PCME objective. Defaults mirror the official CUB config, in the kit's standard-sigmoid convention.</summary>
public sealed record PcmeLossOptions
{
    /// <summary>J, samples per item (official: 7 on CUB and COCO).</summary>
    public int Samples { get; init; } = 7;
    /// <summary>Initial a in l = -a d + b. Official CUB init is 5 in its s(2x) convention, i.e. 10 here.</summary>
    public double InitNegativeScale { get; init; } = 10;
    /// <summary>Initial b. Official CUB init is 5 in its s(2x) convention, i.e. 10 here.</summary>
    public double InitShift { get; init; } = 10;
    /// <summary>
    /// Weight of KL to N(0, I) (official vib_beta: 1e-3 CUB, 1e-5 COCO), relative to the official
    /// objective (2 x the sum over pairs); other reductions scale it with the match term.
    /// </summary>
    public double KlWeight { get; init; } = 1e-3;
    /// <summary>Weight of the uniformity loss over all samples of both modalities (official: 10 CUB, 0 COCO), in the same units as <see cref="KlWeight"/>.</summary>
    public double UniformityWeight { get; init; } = 10;
    /// <summary>How per-pair NLLs are combined.</summary>
    public PairReduction Reduction { get; init; } = PairReduction.Mean;
    /// <summary>False: sigma switched off, z = mu (J = 1), a deterministic soft-contrastive model.</summary>
    public bool UseVariance { get; init; } = true;

    /// <summary>Official CUB settings (a = b = 5 there, so 10 here; KL 1e-3; uniformity 10).</summary>
    public static PcmeLossOptions Cub => new();
    /// <summary>Official COCO settings (a = b = 15 there, so 30 here; KL 1e-5; no uniformity).</summary>
    public static PcmeLossOptions Coco => new() { InitNegativeScale = 30, InitShift = 30, KlWeight = 1e-5, UniformityWeight = 0 };
}

/// <summary>
/// The PCME objective for a batch: soft contrastive NLL over all pairs + KL + uniformity.
/// Every tensor is part of the autograd graph; <see cref="Loss"/> is what to call backward on.
/// </summary>
/// <param name="Loss">MatchLoss + s (KlWeight * Kl + UniformityWeight * Uniformity), s = 1 for
/// <see cref="PairReduction.OfficialSum"/>, 1/2 for <see cref="PairReduction.Sum"/> and 1/(2 B_a B_b) for
/// <see cref="PairReduction.Mean"/>: the weights keep the official objective's balance under every reduction.</param>
/// <param name="MatchLoss">Reduced soft contrastive NLL (= PositiveLoss + NegativeLoss).</param>
/// <param name="PositiveLoss">The part from positive pairs.</param>
/// <param name="NegativeLoss">The part from negative pairs.</param>
/// <param name="Kl">KL to N(0, I), summed over both modalities' items.</param>
/// <param name="Uniformity">Uniformity of all samples (null when its weight is 0).</param>
/// <param name="PairNll">-log p(m = m_ij) for every pair [B_a, B_b].</param>
public sealed record PcmeLossOutput(Tensor Loss, Tensor MatchLoss, Tensor PositiveLoss, Tensor NegativeLoss, Tensor Kl, Tensor? Uniformity, Tensor PairNll);

/// <summary>
/// The HIB / PCME soft contrastive loss (paper Eq. 3-4; shared/DESIGN.md §1) with learnable
/// a (<c>negative_scale</c>) and b (<c>shift</c>), named like the official state-dict keys.
/// <para>For B_a x B_b pairs with samples z [B, J, D]: NLL_ij = -log p(m = 1) for positives and
/// -log(1 - p(m = 1)) for negatives, with p from <see cref="MatchProbability"/>. Which pairs are
/// positive comes from a match matrix, so duplicated images and same-class pairs work.</para>
/// <para>Reproducing the official number: build it with <see cref="FromOfficial"/> (doubles a and b)
/// and <see cref="PairReduction.OfficialSum"/> (its i2t + t2i are one sum counted twice).</para>
/// </summary>
public sealed class SoftContrastiveLoss : RetrievalObjective
{
    /// <summary>a in l = -a d + b.</summary>
    public readonly Parameter negative_scale;
    /// <summary>b in l = -a d + b.</summary>
    public readonly Parameter shift;

    /// <summary>The settings.</summary>
    public PcmeLossOptions Options { get; }

    /// <summary>Creates the loss with a and b on <paramref name="device"/> in <paramref name="dtype"/> (float32 by default).</summary>
    public SoftContrastiveLoss(PcmeLossOptions? options = null, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(SoftContrastiveLoss))
    {
        Options = options ?? new PcmeLossOptions();
        if (Options.Samples < 1) throw new ArgumentOutOfRangeException(nameof(options), "Samples must be at least 1.");
        negative_scale = new Parameter(full(1, Options.InitNegativeScale, dtype: dtype, device: device));
        shift = new Parameter(full(1, Options.InitShift, dtype: dtype, device: device));
        RegisterComponents();
    }

    /// <summary>
    /// The loss configured so that <see cref="PairReduction.OfficialSum"/> reproduces naver-ai/pcme's
    /// MCSoftContrastiveLoss for its (init_negative_scale, init_shift): a = 2 a_off, b = 2 b_off.
    /// </summary>
    public static SoftContrastiveLoss FromOfficial(double officialNegativeScale, double officialShift, PcmeLossOptions? options = null, Device? device = null, ScalarType dtype = ScalarType.Float32) =>
        new((options ?? new PcmeLossOptions()) with
        {
            InitNegativeScale = 2 * officialNegativeScale, InitShift = 2 * officialShift, Reduction = PairReduction.OfficialSum,
        }, device, dtype);

    /// <inheritdoc />
    public override Tensor Objective(ObjectiveInput input)
    {
        RequireHardTargets(input);
        return Forward(input.Image, input.Caption, input.Match, input.Sampling).Loss;
    }

    /// <inheritdoc />
    public override (double NegativeScale, double Shift)? MatchLogit => (Value(negative_scale), Value(shift));

    /// <summary>Per-pair NLL [B_a, B_b] for samples <paramref name="za"/> [B_a, J, D], <paramref name="zb"/> [B_b, K, D].</summary>
    public Tensor PairNll(Tensor za, Tensor zb, Tensor match)
    {
        var m = MatchMatrix.Check(match, za.shape[0], zb.shape[0]);
        var p = MatchProbability.FromSamples(za, zb, negative_scale, shift);
        return where(m, p.LogMatch, p.LogMismatch).neg();
    }

    /// <summary>
    /// The PCME objective for images x captions. Samples are drawn here (J per item, from
    /// <paramref name="generator"/>), or z = mu when <see cref="PcmeLossOptions.UseVariance"/> is off.
    /// </summary>
    /// <param name="image">B_a image embeddings.</param>
    /// <param name="caption">B_b caption embeddings.</param>
    /// <param name="match">[B_a, B_b] positives (bool or 0/1).</param>
    /// <param name="generator">Seeded generator on the embeddings' device.</param>
    public PcmeLossOutput Forward(GaussianEmbedding image, GaussianEmbedding caption, Tensor match, Generator? generator)
    {
        var (zi, zc) = Draw(image, caption, generator);
        return FromSamples(image, caption, zi, zc, match);
    }

    /// <summary>The objective from samples already drawn (for parity checks and analyses).</summary>
    public PcmeLossOutput FromSamples(GaussianEmbedding image, GaussianEmbedding caption, Tensor imageSamples, Tensor captionSamples, Tensor match) =>
        Objective(image, caption, imageSamples, captionSamples, match, includePairs: null, singleSet: false);

    PcmeLossOutput Objective(GaussianEmbedding image, GaussianEmbedding caption, Tensor imageSamples, Tensor captionSamples, Tensor match, Tensor? includePairs, bool singleSet)
    {
        var nll = PairNll(imageSamples, captionSamples, match);
        var m = MatchMatrix.Check(match, nll.shape[0], nll.shape[1]);
        var include = includePairs is null ? null : MatchMatrix.Check(includePairs, nll.shape[0], nll.shape[1]);
        var pos = include is null ? m : m.logical_and(include);
        var neg = include is null ? m.logical_not() : m.logical_not().logical_and(include);
        double count = include is null ? nll.numel() : include.sum().item<long>();
        Tensor Reduce(Tensor mask)
        {
            var part = nll.masked_fill(mask.logical_not(), 0).sum();
            return Options.Reduction switch
            {
                PairReduction.Mean => part.div(count),
                PairReduction.Sum => part,
                PairReduction.OfficialSum => part.mul(2),
                _ => throw new ArgumentOutOfRangeException(nameof(Options.Reduction)),
            };
        }
        var positive = Reduce(pos);
        var negative = Reduce(neg);
        var matchLoss = positive.add(negative);
        var kl = singleSet ? Regularizers.KlToStandardNormal(image)
                           : Regularizers.KlToStandardNormal(image).add(Regularizers.KlToStandardNormal(caption));
        // The regulariser weights are in the official objective's units (2 x the sum over pairs):
        // scale them like the match term so every reduction keeps the official balance.
        double scale = Options.Reduction switch
        {
            PairReduction.Mean => 1.0 / (2 * count),
            PairReduction.Sum => 0.5,
            _ => 1.0,
        };
        Tensor? uniformity = null;
        var loss = matchLoss.add(kl.mul(Options.KlWeight * scale));
        if (Options.UniformityWeight != 0)
        {
            long d = imageSamples.shape[2];
            uniformity = Regularizers.Uniformity(singleSet
                ? imageSamples.reshape(-1, d)
                : cat([imageSamples.reshape(-1, d), captionSamples.reshape(-1, d)], 0));
            loss = loss.add(uniformity.mul(Options.UniformityWeight * scale));
        }
        return new PcmeLossOutput(loss, matchLoss, positive, negative, kl, uniformity, nll);
    }

    /// <summary>
    /// HIB (Oh et al. 2019) on one modality: both sides of every pair come from <paramref name="items"/>,
    /// positives are pairs with equal <paramref name="labels"/>, and an item is never paired with
    /// itself. Exactly the loss code PCME uses, with one set of samples.
    /// </summary>
    public PcmeLossOutput ForwardSingleModality(GaussianEmbedding items, Tensor labels, Generator? generator)
    {
        var z = Options.UseVariance ? items.Sample(Options.Samples, generator) : items.MeanAsSamples();
        var match = MatchMatrix.FromLabels(labels, labels);
        var notSelf = eye(items.Count, dtype: ScalarType.Bool, device: items.Device).logical_not();
        return Objective(items, items, z, z, match, notSelf, singleSet: true);
    }

    (Tensor, Tensor) Draw(GaussianEmbedding image, GaussianEmbedding caption, Generator? generator) =>
        Options.UseVariance
            ? (image.Sample(Options.Samples, generator), caption.Sample(Options.Samples, generator))
            : (image.MeanAsSamples(), caption.MeanAsSamples());
}
