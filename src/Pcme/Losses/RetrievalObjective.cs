using Pcme.Probabilistic;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Losses;

/// <summary>
/// One training batch as every method's objective sees it: both sides' embeddings, the positives, and what only some
/// methods use (soft match targets from mixed-sample augmentation, K embeddings per item, the attention maps).
/// </summary>
/// <param name="Image">B_a image embeddings (mu, h); for K embeddings per item, mu is the K unit vectors concatenated.</param>
/// <param name="Caption">B_b caption embeddings.</param>
/// <param name="Match">[B_a, B_b] bool positives.</param>
public sealed record ObjectiveInput(GaussianEmbedding Image, GaussianEmbedding Caption, Tensor Match)
{
    /// <summary>Soft match targets [B_a, B_b] in [0, 1] (PCME++'s mixed samples), or null for the hard <see cref="Match"/>.</summary>
    public Tensor? Targets { get; init; }
    /// <summary>Seeded generator for sampled objectives (PCME's J samples per item).</summary>
    public Generator? Sampling { get; init; }
    /// <summary>K image embeddings per item [B_a, K, D] (PVSE), or null.</summary>
    public Tensor? ImageSet { get; init; }
    /// <summary>K caption embeddings per item [B_b, K, D] (PVSE), or null.</summary>
    public Tensor? CaptionSet { get; init; }
    /// <summary>Image attention maps [B_a, L, K] (what PVSE's diversity term acts on), or null.</summary>
    public Tensor? ImageAttention { get; init; }
    /// <summary>Caption attention maps [B_b, L, K], or null.</summary>
    public Tensor? CaptionAttention { get; init; }
}

/// <summary>
/// A training objective any method's trainer can call: PCME (<see cref="SoftContrastiveLoss"/>), PCME++
/// (<see cref="ClosedFormSampledDistanceLoss"/>), VSE++ (<see cref="TripletLoss"/>), PVSE (<see cref="PvseLoss"/>) and
/// InfoNCE (<see cref="InfoNceLoss"/>). The losses' learnable parameters keep their official state-dict names
/// (negative_scale, shift, logit_scale) because each loss is this module itself, not a wrapper around it.
/// </summary>
public abstract class RetrievalObjective : nn.Module
{
    /// <summary>Names the module (TorchSharp's module name).</summary>
    protected RetrievalObjective(string name) : base(name) { }

    /// <summary>The scalar to call backward on, for one batch.</summary>
    public abstract Tensor Objective(ObjectiveInput input);

    /// <summary>Whether the objective can train on soft targets (<see cref="ObjectiveInput.Targets"/>).</summary>
    public virtual bool AcceptsSoftTargets => false;

    /// <summary>The learned (a, b) of a match logit -a d + b, or null for objectives without one (for reports and the mc scorer).</summary>
    public virtual (double NegativeScale, double Shift)? MatchLogit => null;

    /// <summary>The objective's learned scalars by name (a, b; InfoNCE's scale), for metrics.jsonl.</summary>
    public virtual IReadOnlyDictionary<string, double> Scalars() =>
        MatchLogit is { } m ? new Dictionary<string, double> { ["negative_scale"] = m.NegativeScale, ["shift"] = m.Shift } : new Dictionary<string, double>();

    /// <summary>A scalar parameter's value as a double.</summary>
    protected static double Value(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().cpu().to(ScalarType.Float64).item<double>();
    }

    /// <summary>Refuses soft targets for objectives that train on hard positives only.</summary>
    protected void RequireHardTargets(ObjectiveInput input)
    {
        if (input.Targets is not null)
            throw new ArgumentException($"{GetName()} trains on hard positives only; soft targets (mixed-sample augmentation) need the PCME++ loss.");
    }
}
