using Pcme.Probabilistic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>Settings of the PCME++ objective. Defaults mirror the official naver-ai/pcmepp <c>ClosedFormSampledDistanceLoss</c>.</summary>
public sealed record PcmeppLossOptions
{
    /// <summary>Initial a in logit = -a CSD + b (official <c>init_negative_scale</c>: 5).</summary>
    public double InitNegativeScale { get; init; } = 5;
    /// <summary>Initial b in logit = -a CSD + b (official <c>init_shift</c>: 5).</summary>
    public double InitShift { get; init; } = 5;
    /// <summary>
    /// Weight of the VIB term (official <c>vib_beta</c>, default 0): KL to N(0, I) averaged over
    /// elements per modality (<see cref="Regularizers.KlToStandardNormalMean"/>), image + caption.
    /// </summary>
    public double KlWeight { get; init; }
    /// <summary>Weight alpha of the pseudo-positive (smoothed) losses (official <c>smoothness_alpha</c>, default 0 = off).</summary>
    public double PseudoPositiveWeight { get; init; }
}

/// <summary>
/// The PCME++ objective for a batch. Every tensor except the count is part of the autograd graph;
/// <see cref="Loss"/> is what to call backward on.
/// </summary>
/// <param name="Loss">MatchLoss + KlWeight * Kl + PseudoPositiveWeight * PseudoPositiveLoss.</param>
/// <param name="MatchLoss">2 x the binary cross-entropy against the match matrix, averaged over the B_a x B_b pairs
/// (official: i2t == t2i, counted once and doubled).</param>
/// <param name="Kl">KL to N(0, I), mean over elements, summed over the two modalities (computed even when its weight is 0).</param>
/// <param name="PseudoPositiveCount">Negative pairs turned into targets, i2t plus t2i (0 when the weight is 0).</param>
/// <param name="Logits">-a CSD + b, shape [B_a, B_b].</param>
/// <param name="Csd">Closed-form sampled distances, shape [B_a, B_b].</param>
/// <param name="PseudoPositiveLoss">BCE_i2t + BCE_t2i against the match matrix with pseudo-positives added
/// (each a mean over pairs); null when the weight is 0.</param>
public sealed record PcmeppLossOutput(Tensor Loss, Tensor MatchLoss, Tensor Kl, long PseudoPositiveCount, Tensor Logits, Tensor Csd, Tensor? PseudoPositiveLoss);

/// <summary>
/// PCME++ (Chun, ICLR 2024, Eq. 1-2; shared/DESIGN.md §1): the closed-form sampled distance
/// CSD(i, j) = E ||z_i - z_j||^2 = ||mu_i - mu_j||^2 + sum_d (e^{h_i,d} + e^{h_j,d}), the logit
/// -a CSD + b with learnable a (<c>negative_scale</c>) and b (<c>shift</c>), named like the official
/// state-dict keys, and binary cross-entropy against the match matrix. No sampling.
/// <para>All B_a x B_b distances come from one GEMM (||mu_i||^2 + ||mu_j||^2 - 2 mu_i.mu_j, clamped at 0)
/// plus broadcast sums of the variances; nothing of size B_a x B_b x D is built.</para>
/// <para>The official <c>std</c> tensors of PCME++ already hold h = log sigma^2 (its CSD uses
/// exp(std) as the variance), so they go into <see cref="GaussianEmbedding"/> unchanged.</para>
/// </summary>
public sealed class ClosedFormSampledDistanceLoss : RetrievalObjective
{
    /// <summary>a in logit = -a CSD + b.</summary>
    public readonly Parameter negative_scale;
    /// <summary>b in logit = -a CSD + b.</summary>
    public readonly Parameter shift;

    /// <summary>The settings.</summary>
    public PcmeppLossOptions Options { get; }

    /// <summary>Creates the loss with a and b on <paramref name="device"/>.</summary>
    public ClosedFormSampledDistanceLoss(PcmeppLossOptions? options = null, Device? device = null) : base(nameof(ClosedFormSampledDistanceLoss))
    {
        Options = options ?? new PcmeppLossOptions();
        negative_scale = new Parameter(full(1, Options.InitNegativeScale, device: device));
        shift = new Parameter(full(1, Options.InitShift, device: device));
        RegisterComponents();
    }

    /// <inheritdoc />
    /// <remarks>Soft targets (mixed samples) take <see cref="ForwardSoft"/>, hard positives <see cref="Forward"/>.</remarks>
    public override Tensor Objective(ObjectiveInput input) =>
        input.Targets is { } soft ? ForwardSoft(input.Image, input.Caption, soft).Loss : Forward(input.Image, input.Caption, input.Match).Loss;

    /// <inheritdoc />
    public override bool AcceptsSoftTargets => true;

    /// <inheritdoc />
    public override (double NegativeScale, double Shift)? MatchLogit => (Value(negative_scale), Value(shift));

    /// <summary>
    /// CSD(i, j) = ||mu_i - mu_j||^2 + sum_d (e^{h_i,d} + e^{h_j,d}) for every pair, shape [B_a, B_b]
    /// (PCME++ Eq. 1): the expected squared distance between a sample of each Gaussian.
    /// </summary>
    public static Tensor Distance(GaussianEmbedding a, GaussianEmbedding b)
    {
        a.Validate(); b.Validate();
        if (a.Dimension != b.Dimension)
            throw new ArgumentException($"Both embedding sets need one dimension D; got {a.Dimension} and {b.Dimension}.");
        var means = SampleDistances.Squared(a.MeanAsSamples(), b.MeanAsSamples()).view(a.Count, b.Count);
        var variances = a.Variance.sum(1, keepdim: true).add(b.Variance.sum(1).unsqueeze(0));
        return means.add(variances);
    }

    /// <summary>Logits -a CSD + b for distances <paramref name="csd"/> (any shape).</summary>
    public Tensor Logits(Tensor csd) => csd.mul(negative_scale.neg()).add(shift);

    /// <summary>
    /// Pseudo-positives of the rows (i2t direction; pass transposes for t2i): the non-positive pairs
    /// whose logit is at least the smallest positive logit of their row. With one positive per row this
    /// is the official rule (logit >= the row's positive logit); rows without a positive get none.
    /// Computed without gradient; bool, shape of <paramref name="logits"/> [R, C].
    /// </summary>
    /// <param name="logits">Pair logits [R, C].</param>
    /// <param name="match">Positives [R, C] (bool or 0/1).</param>
    public static Tensor PseudoPositives(Tensor logits, Tensor match)
    {
        var m = MatchMatrix.Check(match, logits.shape[0], logits.shape[1]);
        using var _ = no_grad();
        var threshold = logits.detach().masked_fill(m.logical_not(), double.PositiveInfinity).amin([1], keepdim: true);
        var hasPositive = m.any(1, keepdim: true);
        return logits.detach().ge(threshold).logical_and(hasPositive).logical_and(m.logical_not());
    }

    /// <summary>
    /// Mean binary cross-entropy with logits for 0/1 targets, -[y log s(x) + (1 - y) log s(-x)] =
    /// -log s(+/-x), one stable log-sigmoid of the sign-flipped logit: accurate and finite for any logit
    /// size, on both the right and the wrong side (no cancellation of large terms).
    /// </summary>
    /// <param name="logits">x, any shape.</param>
    /// <param name="targets">y, bool, same shape.</param>
    public static Tensor BinaryCrossEntropy(Tensor logits, Tensor targets) =>
        nn.functional.logsigmoid(where(targets, logits, logits.neg())).neg().mean();

    /// <summary>
    /// Pseudo-positives for soft targets (i2t direction; pass transposes for t2i), the official
    /// <c>_recompute_matched</c>: per row the ground truth is the column of the largest target, every pair
    /// whose logit is at least the ground truth's becomes a pseudo-positive, and its target is raised to that
    /// row maximum. Returned: the pairs whose target that raises, i.e. pseudo-positives not already at the
    /// row maximum (the official count, pseudo-positives minus one ground truth per row, when the maximum is
    /// unique). Without gradient; bool [R, C].
    /// <para>Ties of the largest target (several positives in a row: duplicated images, the relevance
    /// regime, or an exact lambda = 0.5 mix) use the smallest logit among the tied columns, the rule of
    /// <see cref="PseudoPositives"/>; the official <c>torch.max</c> would take the first tied column, which
    /// depends on the caption order. With a unique maximum, which is every row the official code produces
    /// except an exact tie, the two are the same; on 0/1 targets this is exactly <see cref="PseudoPositives"/>.</para>
    /// </summary>
    /// <param name="logits">Pair logits [R, C].</param>
    /// <param name="targets">Soft targets [R, C] in [0, 1] (floating point).</param>
    public static Tensor SoftPseudoPositives(Tensor logits, Tensor targets)
    {
        var y = CheckSoft(targets, logits.shape[0], logits.shape[1]);
        using var _ = no_grad();
        var x = logits.detach();
        var rowMax = y.amax([1], keepdim: true);
        var atMax = y.eq(rowMax);
        var threshold = x.masked_fill(atMax.logical_not(), double.PositiveInfinity).amin([1], keepdim: true);
        return x.ge(threshold).logical_and(atMax.logical_not());
    }

    /// <summary>
    /// <paramref name="targets"/> with the <see cref="SoftPseudoPositives"/> raised to their row's largest
    /// target (official <c>_matched[pseudo] = gt_label</c>); without gradient.
    /// </summary>
    /// <param name="logits">Pair logits [R, C].</param>
    /// <param name="targets">Soft targets [R, C].</param>
    /// <param name="raised">The pairs raised (<see cref="SoftPseudoPositives"/>).</param>
    public static Tensor WithSoftPseudoPositives(Tensor logits, Tensor targets, out Tensor raised)
    {
        raised = SoftPseudoPositives(logits, targets);
        using var _ = no_grad();
        var y = targets.detach();
        return where(raised, y.amax([1], keepdim: true).expand_as(y), y);
    }

    /// <summary>
    /// Mean binary cross-entropy with logits against soft targets y in [0, 1] (official
    /// <c>nn.BCEWithLogitsLoss</c>): y softplus(-x) + (1 - y) softplus(x), written as
    /// -[y log s(x) + (1 - y) log s(-x)] with stable log-sigmoids, finite for every finite logit.
    /// On 0/1 targets it equals <see cref="BinaryCrossEntropy"/>.
    /// </summary>
    /// <param name="logits">x, any shape.</param>
    /// <param name="targets">y, floating point, same shape.</param>
    public static Tensor SoftBinaryCrossEntropy(Tensor logits, Tensor targets)
    {
        var y = targets.to(logits.dtype);
        return y.mul(nn.functional.logsigmoid(logits)).add(y.neg().add(1).mul(nn.functional.logsigmoid(logits.neg()))).neg().mean();
    }

    static Tensor CheckSoft(Tensor targets, long rows, long cols)
    {
        if (targets.dim() != 2 || targets.shape[0] != rows || targets.shape[1] != cols)
            throw new ArgumentException($"The soft targets must be [{rows}, {cols}] (rows: first modality, columns: second); got [{string.Join(", ", targets.shape)}].");
        if (!targets.is_floating_point())
            throw new ArgumentException($"Soft targets must be floating point; got {targets.dtype} (use Forward for a bool match matrix).");
        return targets;
    }

    /// <summary>
    /// The PCME++ objective against soft targets, e.g. the mixed-sample augmentation's (official
    /// <c>forward</c> with a float <c>matched</c>): 2 BCE(logits, y) + KlWeight (KL_img + KL_cap) +
    /// alpha (BCE(logits, y_i2t~) + BCE(logits, y_t2i~)), where ~ raises the pseudo-positives of rows
    /// (i2t, on the logits) or of columns (t2i, on the transposes) to their row's largest target
    /// (<see cref="SoftPseudoPositives"/>). Each BCE is a mean over the B_a x B_b pairs.
    /// <see cref="PcmeppLossOutput.PseudoPositiveCount"/> counts the raised pairs, i2t plus t2i.
    /// </summary>
    /// <param name="image">B_a image embeddings (mu, h).</param>
    /// <param name="caption">B_b caption embeddings (mu, h).</param>
    /// <param name="targets">[B_a, B_b] soft targets in [0, 1], floating point (converted to the logits' dtype).</param>
    public PcmeppLossOutput ForwardSoft(GaussianEmbedding image, GaussianEmbedding caption, Tensor targets)
    {
        var csd = Distance(image, caption);
        var logits = Logits(csd);
        var y = CheckSoft(targets, image.Count, caption.Count).to(logits.dtype);
        var matchLoss = SoftBinaryCrossEntropy(logits, y).mul(2);
        var kl = Regularizers.KlToStandardNormalMean(image).add(Regularizers.KlToStandardNormalMean(caption));
        var loss = Options.KlWeight == 0 ? matchLoss : matchLoss.add(kl.mul(Options.KlWeight));
        Tensor? pseudoLoss = null;
        long pseudoCount = 0;
        if (Options.PseudoPositiveWeight != 0)
        {
            var rowTargets = WithSoftPseudoPositives(logits, y, out var rows);                          // i2t
            var columnTargets = WithSoftPseudoPositives(logits.t(), y.t(), out var columns).t();        // t2i
            pseudoLoss = SoftBinaryCrossEntropy(logits, rowTargets).add(SoftBinaryCrossEntropy(logits, columnTargets));
            pseudoCount = rows.sum().add(columns.sum()).item<long>();
            loss = loss.add(pseudoLoss.mul(Options.PseudoPositiveWeight));
        }
        return new PcmeppLossOutput(loss, matchLoss, kl, pseudoCount, logits, csd, pseudoLoss);
    }

    /// <summary>
    /// The PCME++ objective for images x captions (official <c>forward</c>):
    /// 2 BCE(logits, match) + KlWeight (KL_img + KL_cap) + alpha (BCE_i2t~ + BCE_t2i~), where ~ marks
    /// the match matrix with the pseudo-positives of rows (i2t) or columns (t2i) added.
    /// </summary>
    /// <param name="image">B_a image embeddings (mu, h).</param>
    /// <param name="caption">B_b caption embeddings (mu, h).</param>
    /// <param name="match">[B_a, B_b] positives (bool or 0/1); null = the diagonal (needs B_a == B_b).</param>
    public PcmeppLossOutput Forward(GaussianEmbedding image, GaussianEmbedding caption, Tensor? match = null)
    {
        var csd = Distance(image, caption);
        var m = MatchMatrix.CheckOrDiagonal(match, image.Count, caption.Count, image.Device);
        var logits = Logits(csd);
        // i2t and t2i are the same sum over pairs: the official code computes it once and doubles it.
        var matchLoss = BinaryCrossEntropy(logits, m).mul(2);
        var kl = Regularizers.KlToStandardNormalMean(image).add(Regularizers.KlToStandardNormalMean(caption));
        // Skip a zero-weighted KL so that an overflowing e^h cannot turn the loss into 0 * inf = NaN.
        var loss = Options.KlWeight == 0 ? matchLoss : matchLoss.add(kl.mul(Options.KlWeight));
        Tensor? pseudoLoss = null;
        long pseudoCount = 0;
        if (Options.PseudoPositiveWeight != 0)
        {
            var rows = PseudoPositives(logits, m);                 // i2t: per image, over captions
            var columns = PseudoPositives(logits.t(), m.t()).t();  // t2i: per caption, over images
            pseudoLoss = BinaryCrossEntropy(logits, m.logical_or(rows)).add(BinaryCrossEntropy(logits, m.logical_or(columns)));
            pseudoCount = rows.sum().add(columns.sum()).item<long>();
            loss = loss.add(pseudoLoss.mul(Options.PseudoPositiveWeight));
        }
        return new PcmeppLossOutput(loss, matchLoss, kl, pseudoCount, logits, csd, pseudoLoss);
    }
}
