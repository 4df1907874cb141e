using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>Settings of the InfoNCE loss. Defaults mirror CLIP (Radford et al. 2021): temperature 0.07, learnable, scale capped at 100.</summary>
public sealed record InfoNceLossOptions
{
    /// <summary>Initial temperature tau; the parameter stores log(1 / tau).</summary>
    public double InitTemperature { get; init; } = 0.07;
    /// <summary>True: tau is learned through <c>logit_scale</c>; false: it stays fixed at <see cref="InitTemperature"/>.</summary>
    public bool LearnTemperature { get; init; } = true;
    /// <summary>Upper bound on the scale 1 / tau (CLIP clamps at 100); above it the scale gets no gradient.</summary>
    public double MaxScale { get; init; } = 100;
}

/// <summary>The InfoNCE loss of a batch; tensors are in the autograd graph.</summary>
/// <param name="Loss">(ImageToText + TextToImage) / 2.</param>
/// <param name="ImageToText">Mean over images with at least one positive of -log sum_{p positive} softmax_row(logits)_p.</param>
/// <param name="TextToImage">The same over captions (columns).</param>
/// <param name="Logits">cos(image, caption) / tau, shape [B_a, B_b].</param>
/// <param name="SkippedRows">Images without a positive caption in the batch (left out of ImageToText).</param>
/// <param name="SkippedColumns">Captions without a positive image in the batch (left out of TextToImage).</param>
public sealed record InfoNceLossOutput(Tensor Loss, Tensor ImageToText, Tensor TextToImage, Tensor Logits, long SkippedRows, long SkippedColumns);

/// <summary>
/// InfoNCE (van den Oord et al. 2018) in the symmetric CLIP form: logits = cosine similarity / tau,
/// cross-entropy over captions for each image and over images for each caption, averaged. With a match
/// matrix a query's loss is -log of the total softmax mass on its positives (multi-positive InfoNCE);
/// with the diagonal it is exactly CLIP's loss. Queries without a positive are skipped and counted.
/// <para>tau is learned as <c>logit_scale</c> = log(1 / tau), CLIP's parameter name and shape (a scalar).</para>
/// </summary>
public sealed class InfoNceLoss : RetrievalObjective
{
    /// <summary>log(1 / tau); its exponent (capped at <see cref="InfoNceLossOptions.MaxScale"/>) multiplies the cosines.</summary>
    public readonly Parameter logit_scale;

    /// <summary>The settings.</summary>
    public InfoNceLossOptions Options { get; }

    /// <summary>Creates the loss with <c>logit_scale</c> on <paramref name="device"/>.</summary>
    public InfoNceLoss(InfoNceLossOptions? options = null, Device? device = null) : base(nameof(InfoNceLoss))
    {
        Options = options ?? new InfoNceLossOptions();
        if (!(Options.InitTemperature > 0)) throw new ArgumentOutOfRangeException(nameof(options), "InitTemperature must be positive.");
        logit_scale = new Parameter(tensor(Math.Log(1 / Options.InitTemperature), dtype: get_default_dtype(), device: device), requires_grad: Options.LearnTemperature);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor Objective(ObjectiveInput input)
    {
        RequireHardTargets(input);
        return Forward(input.Image.Mean, input.Caption.Mean, input.Match).Loss;
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, double> Scalars()
    {
        using var scope = NewDisposeScope();
        return new Dictionary<string, double> { ["logit_scale"] = Value(Scale()) };
    }

    /// <summary>The scale 1 / tau = min(exp(logit_scale), MaxScale), a scalar tensor.</summary>
    public Tensor Scale() => logit_scale.exp().clamp_max(Options.MaxScale);

    /// <summary>The loss for image embeddings [B_a, D] and caption embeddings [B_b, D] (normalised here).</summary>
    /// <param name="image">Image embeddings [B_a, D].</param>
    /// <param name="caption">Caption embeddings [B_b, D].</param>
    /// <param name="match">[B_a, B_b] positives (bool or 0/1); null = the diagonal (needs B_a == B_b).</param>
    public InfoNceLossOutput Forward(Tensor image, Tensor caption, Tensor? match = null)
    {
        var logits = TripletLoss.CosineSimilarities(image, caption).mul(Scale());
        var m = MatchMatrix.CheckOrDiagonal(match, logits.shape[0], logits.shape[1], logits.device);
        var (i2t, skippedRows) = RowQueries(logits, m);
        var (t2i, skippedColumns) = RowQueries(logits.t(), m.t());
        return new InfoNceLossOutput(i2t.add(t2i).mul(0.5), i2t, t2i, logits, skippedRows, skippedColumns);
    }

    // Rows are queries: -log sum_{p in P(r)} softmax(logits_r)_p = logsumexp(logits_r) - logsumexp_{p in P(r)}(logits_r,p),
    // averaged over the rows that have a positive.
    static (Tensor Loss, long Skipped) RowQueries(Tensor logits, Tensor m)
    {
        var valid = m.any(1);
        // A row without positives takes all its entries as "positives": its term is exactly 0 and no
        // log-sum-exp over an empty set (-inf, NaN gradient) is ever formed.
        var positives = m.logical_or(valid.logical_not().unsqueeze(1));
        var perRow = logits.logsumexp(1, false).sub(logits.masked_fill(positives.logical_not(), double.NegativeInfinity).logsumexp(1, false));
        long count = valid.sum().item<long>();
        var loss = perRow.masked_fill(valid.logical_not(), 0).sum().div(Math.Max(count, 1));
        return (loss, logits.shape[0] - count);
    }
}
