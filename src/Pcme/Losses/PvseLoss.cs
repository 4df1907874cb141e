using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>Settings of the PVSE objective. Defaults follow the PVSE README's COCO command (margin 0.1, max violation, MMD 0.01, diversity 0.1).</summary>
public sealed record PvseLossOptions
{
    /// <summary>Hinge margin (PVSE COCO: 0.1).</summary>
    public double Margin { get; init; } = 0.1;
    /// <summary>Sum over negatives or hardest negative (PVSE COCO: <c>--max_violation</c>).</summary>
    public TripletReduction Reduction { get; init; } = TripletReduction.HardestNegative;
    /// <summary>Weight of <see cref="DiversityRegularizer"/>, applied to each modality (PVSE COCO: 0.1; 0 = off).</summary>
    public double DiversityWeight { get; init; } = 0.1;
    /// <summary>Weight of <see cref="MmdRegularizer"/> between all image and all caption embeddings (PVSE COCO: 0.01; 0 = off).</summary>
    public double MmdWeight { get; init; } = 0.01;
    /// <summary>gamma of the MMD kernel exp(-gamma ||x - y||^2) (PVSE: 0.5).</summary>
    public double MmdGamma { get; init; } = 0.5;
}

/// <summary>The PVSE objective of a batch; all tensors are in the autograd graph.</summary>
/// <param name="Loss">Ranking.Loss + DiversityWeight * Diversity + MmdWeight * Mmd.</param>
/// <param name="Ranking">The hinge triplet loss on the best-of-K^2 similarities (its Similarities are those).</param>
/// <param name="Diversity">Diversity of images + diversity of captions; null when its weight is 0.</param>
/// <param name="Mmd">Squared MMD between the image and the caption embeddings; null when its weight is 0.</param>
public sealed record PvseLossOutput(Tensor Loss, TripletLossOutput Ranking, Tensor? Diversity, Tensor? Mmd);

/// <summary>
/// PVSE (Song &amp; Soleymani, CVPR 2019, Sec. 3.2-3.3): each item has K embeddings; a pair's similarity is
/// the best of the K_a x K_b cosine similarities (multiple-instance learning, Eq. 5), ranked with the
/// hinge triplet loss of <see cref="TripletLoss"/> (match-matrix generalised), plus the diversity and MMD
/// regularisers.
/// <para>The official code averages the hinge terms over queries (reduction "mean"); this sums them like
/// VSE++. Divide <see cref="PvseLossOutput.Ranking"/> by B to compare with an official number. The official
/// code also switches both regularisers off when K = 1; set their weights to 0 for that.</para>
/// </summary>
public sealed class PvseLoss : RetrievalObjective
{
    readonly TripletLoss ranking;

    /// <summary>The settings.</summary>
    public PvseLossOptions Options { get; }

    /// <summary>Creates the loss.</summary>
    public PvseLoss(PvseLossOptions? options = null) : base(nameof(PvseLoss))
    {
        Options = options ?? new PvseLossOptions();
        ranking = new TripletLoss(new TripletLossOptions { Margin = Options.Margin, Reduction = Options.Reduction });
        RegisterComponents();
    }

    /// <inheritdoc />
    /// <remarks>Without <see cref="ObjectiveInput.ImageSet"/> the items are single embeddings (K = 1); the diversity term
    /// acts on the attention maps [B, K, L] (PVSE Sec. 3.3) when they are given.</remarks>
    public override Tensor Objective(ObjectiveInput input)
    {
        RequireHardTargets(input);
        var image = input.ImageSet ?? input.Image.Mean.unsqueeze(1);
        var caption = input.CaptionSet ?? input.Caption.Mean.unsqueeze(1);
        return Forward(image, caption, input.Match, input.ImageAttention?.transpose(1, 2), input.CaptionAttention?.transpose(1, 2)).Loss;
    }

    /// <summary>
    /// s(i, j) = max_{k, l} cos(x_i^k, y_j^l) for <paramref name="image"/> [B_a, K_a, D] and
    /// <paramref name="caption"/> [B_b, K_b, D], shape [B_a, B_b]: one GEMM over all (B_a K_a) x (B_b K_b)
    /// normalised embeddings, then a max over the K_a x K_b block of each pair.
    /// </summary>
    public static Tensor Similarities(Tensor image, Tensor caption)
    {
        if (image.dim() != 3 || caption.dim() != 3 || image.shape[2] != caption.shape[2])
            throw new ArgumentException($"PVSE embeddings must be [B, K, D] with one D; got [{string.Join(", ", image.shape)}] and [{string.Join(", ", caption.shape)}].");
        long ba = image.shape[0], ka = image.shape[1], bb = caption.shape[0], kb = caption.shape[1], d = image.shape[2];
        var a = TripletLoss.Normalize(image).reshape(ba * ka, d);
        var b = TripletLoss.Normalize(caption).reshape(bb * kb, d);
        return a.matmul(b.t()).view(ba, ka, bb, kb).amax([1, 3]);
    }

    /// <summary>The PVSE objective for images x captions.</summary>
    /// <param name="image">Image embeddings [B_a, K_a, D] (normalised here).</param>
    /// <param name="caption">Caption embeddings [B_b, K_b, D] (normalised here).</param>
    /// <param name="match">[B_a, B_b] positives (bool or 0/1); null = the diagonal (needs B_a == B_b).</param>
    /// <param name="imageDiversityInput">What the image diversity term acts on, [B_a, K_a, L] (PVSE: the K
    /// attention maps); null = the image embeddings themselves.</param>
    /// <param name="captionDiversityInput">Same for captions, [B_b, K_b, L]; null = the caption embeddings.</param>
    /// <remarks>MMD compares all B_a K_a normalised image embeddings with all B_b K_b normalised caption
    /// embeddings (PVSE's networks output unit vectors, so this is what its code measures).</remarks>
    public PvseLossOutput Forward(Tensor image, Tensor caption, Tensor? match = null, Tensor? imageDiversityInput = null, Tensor? captionDiversityInput = null)
    {
        var rank = ranking.FromSimilarities(Similarities(image, caption), match);
        var loss = rank.Loss;
        Tensor? diversity = null, mmd = null;
        if (Options.DiversityWeight != 0)
        {
            diversity = DiversityRegularizer.Compute(imageDiversityInput ?? image).add(DiversityRegularizer.Compute(captionDiversityInput ?? caption));
            loss = loss.add(diversity.mul(Options.DiversityWeight));
        }
        if (Options.MmdWeight != 0)
        {
            long d = image.shape[2];
            mmd = MmdRegularizer.Compute(TripletLoss.Normalize(image).reshape(-1, d), TripletLoss.Normalize(caption).reshape(-1, d), Options.MmdGamma);
            loss = loss.add(mmd.mul(Options.MmdWeight));
        }
        return new PvseLossOutput(loss, rank, diversity, mmd);
    }
}
