using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>Which negatives a positive pair is hinged against.</summary>
public enum TripletReduction
{
    /// <summary>Every violating negative counts: the sum of all hinge terms (VSE0 in the VSE++ paper).</summary>
    Sum,
    /// <summary>Only the hardest negative per positive pair and direction (VSE++ "max violation").</summary>
    HardestNegative,
}

/// <summary>Settings of the hinge triplet loss.</summary>
public sealed record TripletLossOptions
{
    /// <summary>The margin alpha in [alpha + s(negative) - s(positive)]_+ (VSE++: 0.2).</summary>
    public double Margin { get; init; } = 0.2;
    /// <summary>Sum over negatives or hardest negative only (default: VSE++'s hardest negative).</summary>
    public TripletReduction Reduction { get; init; } = TripletReduction.HardestNegative;
}

/// <summary>The hinge triplet loss of a batch; all tensors are in the autograd graph.</summary>
/// <param name="Loss">ImageToText + TextToImage.</param>
/// <param name="ImageToText">Image queries: positives hinged against the other captions of their row.</param>
/// <param name="TextToImage">Caption queries: positives hinged against the other images of their column.</param>
/// <param name="Similarities">The similarity matrix [B_a, B_b] the loss was computed on.</param>
public sealed record TripletLossOutput(Tensor Loss, Tensor ImageToText, Tensor TextToImage, Tensor Similarities);

/// <summary>
/// The VSE++ hinge triplet loss (Faghri et al., BMVC 2018, Eq. 4-5; shared/DESIGN.md §1) on cosine
/// similarities, generalised from the diagonal to a match matrix: every positive pair (i, p) is hinged
/// against every negative n of row i, [alpha + s(i, n) - s(i, p)]_+ (i2t), and every negative image n of
/// column p, [alpha + s(n, p) - s(i, p)]_+ (t2i). Positives are never negatives. Summed over positive
/// pairs (the official reduction); with the diagonal this is exactly the official VSE++ number.
/// <para>No learnable parameters; a <see cref="nn.Module"/> so trainers can treat every loss alike.</para>
/// </summary>
public sealed class TripletLoss : RetrievalObjective
{
    /// <summary>The settings.</summary>
    public TripletLossOptions Options { get; }

    /// <summary>Creates the loss.</summary>
    public TripletLoss(TripletLossOptions? options = null) : base(nameof(TripletLoss))
    {
        Options = options ?? new TripletLossOptions();
    }

    /// <inheritdoc />
    public override Tensor Objective(ObjectiveInput input)
    {
        RequireHardTargets(input);
        return Forward(input.Image.Mean, input.Caption.Mean, input.Match).Loss;
    }

    /// <summary>Cosine similarities [B_a, B_b] of the rows of <paramref name="a"/> [B_a, D] and <paramref name="b"/> [B_b, D] (one GEMM of L2-normalised rows).</summary>
    public static Tensor CosineSimilarities(Tensor a, Tensor b)
    {
        if (a.dim() != 2 || b.dim() != 2 || a.shape[1] != b.shape[1])
            throw new ArgumentException($"Embeddings must be [B, D] with one D; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].");
        return Normalize(a).matmul(Normalize(b).t());
    }

    /// <summary>x / max(||x||_2, 1e-12) along the last dimension.</summary>
    internal static Tensor Normalize(Tensor x) => nn.functional.normalize(x, p: 2, dim: -1, eps: 1e-12);

    /// <summary>The loss for image embeddings [B_a, D] and caption embeddings [B_b, D] (normalised here).</summary>
    /// <param name="image">Image embeddings [B_a, D].</param>
    /// <param name="caption">Caption embeddings [B_b, D].</param>
    /// <param name="match">[B_a, B_b] positives (bool or 0/1); null = the diagonal (needs B_a == B_b).</param>
    public TripletLossOutput Forward(Tensor image, Tensor caption, Tensor? match = null) =>
        FromSimilarities(CosineSimilarities(image, caption), match);

    /// <summary>The loss on a precomputed similarity matrix (higher = more similar), e.g. PVSE's best-of-K^2 cosine.</summary>
    /// <param name="similarities">s [B_a, B_b]; rows: images, columns: captions.</param>
    /// <param name="match">[B_a, B_b] positives (bool or 0/1); null = the diagonal (needs B_a == B_b).</param>
    public TripletLossOutput FromSimilarities(Tensor similarities, Tensor? match = null)
    {
        if (similarities.dim() != 2)
            throw new ArgumentException($"Similarities must be [B_a, B_b]; got [{string.Join(", ", similarities.shape)}].");
        var m = MatchMatrix.CheckOrDiagonal(match, similarities.shape[0], similarities.shape[1], similarities.device);
        var i2t = RowQueries(similarities, m);
        var t2i = RowQueries(similarities.t(), m.t());
        return new TripletLossOutput(i2t.add(t2i), i2t, t2i, similarities);
    }

    // Queries are rows: every positive (r, p) against every negative (r, n) of its row.
    Tensor RowQueries(Tensor s, Tensor m)
    {
        var negative = m.logical_not();
        if (Options.Reduction == TripletReduction.HardestNegative)
        {
            // [alpha + s - s_p]_+ is increasing in s, so the hardest negative of a row is the same for every
            // positive of that row: one max per row, a [R, C] computation.
            var hasNegative = negative.any(1, keepdim: true);
            var hardest = s.masked_fill(m, double.NegativeInfinity).amax([1], keepdim: true);
            hardest = where(hasNegative, hardest, zeros_like(hardest));
            var cost = hardest.sub(s).add(Options.Margin).clamp_min(0);
            return cost.masked_fill(m.logical_and(hasNegative).logical_not(), 0).sum();
        }
        // cost[r, p, n] = [alpha + s(r, n) - s(r, p)]_+ for positive p and negative n: [R, C, C].
        var all = s.unsqueeze(1).sub(s.unsqueeze(2)).add(Options.Margin).clamp_min(0);
        var valid = m.unsqueeze(2).logical_and(negative.unsqueeze(1));
        return all.masked_fill(valid.logical_not(), 0).sum();
    }
}
