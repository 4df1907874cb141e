using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Probabilistic;

/// <summary>
/// A batch of diagonal Gaussian embeddings N(mu, diag exp(h)): mean <c>[N, D]</c> and log-variance
/// h = log sigma^2 <c>[N, D]</c> (the kit's one convention, shared/DESIGN.md §1).
/// <para>The record does not own its tensors: create and use it inside a dispose scope.</para>
/// </summary>
/// <param name="Mean">mu, shape [N, D].</param>
/// <param name="LogVariance">h = log sigma^2, shape [N, D].</param>
public sealed record GaussianEmbedding(Tensor Mean, Tensor LogVariance)
{
    /// <summary>Number of items N.</summary>
    public long Count => Mean.shape[0];
    /// <summary>Embedding dimension D.</summary>
    public long Dimension => Mean.shape[1];
    /// <summary>The device the tensors live on.</summary>
    public Device Device => Mean.device;

    /// <summary>sigma = exp(h / 2), shape [N, D].</summary>
    public Tensor Sigma => LogVariance.mul(0.5).exp();
    /// <summary>sigma^2 = exp(h), shape [N, D].</summary>
    public Tensor Variance => LogVariance.exp();

    /// <summary>Checks shapes: both [N, D], same device and dtype.</summary>
    public GaussianEmbedding Validate()
    {
        if (Mean.dim() != 2 || !Mean.shape.SequenceEqual(LogVariance.shape))
            throw new ArgumentException($"GaussianEmbedding needs mean and log-variance of one shape [N, D]; got [{string.Join(", ", Mean.shape)}] and [{string.Join(", ", LogVariance.shape)}].");
        if (Mean.device_type != LogVariance.device_type || Mean.device_index != LogVariance.device_index || Mean.dtype != LogVariance.dtype)
            throw new ArgumentException($"GaussianEmbedding mean and log-variance must share device and dtype ({Mean.device}/{Mean.dtype} vs {LogVariance.device}/{LogVariance.dtype}).");
        return this;
    }

    /// <summary>
    /// Reparameterised samples z^j = mu + eps^j * exp(h / 2), eps^j ~ N(0, I), shape [N, J, D]
    /// (not re-normalised). Gradients flow to mu and h.
    /// </summary>
    /// <param name="samples">J, the number of samples per item (at least 1).</param>
    /// <param name="generator">Seeded generator on this embedding's device; every draw is reproducible with it.</param>
    public Tensor Sample(int samples, Generator? generator)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "The number of samples J must be at least 1.");
        var eps = randn([Count, samples, Dimension], dtype: Mean.dtype, device: Mean.device, generator: generator);
        // Without autograd (retrieval), scale and shift the draws in place: one [N, J, D] tensor instead of three.
        if (!is_grad_enabled() || !(Mean.requires_grad || LogVariance.requires_grad))
            return eps.mul_(Sigma.unsqueeze(1)).add_(Mean.unsqueeze(1));
        return Mean.unsqueeze(1).add(eps.mul(Sigma.unsqueeze(1)));
    }

    /// <summary>The means as J = 1 "samples" [N, 1, D]: what PCME uses with sigma switched off.</summary>
    public Tensor MeanAsSamples() => Mean.unsqueeze(1);

    /// <summary>
    /// Instance uncertainty: the geometric mean of sigma over dimensions, exp(mean_d(h) / 2), shape [N]
    /// (shared/DESIGN.md §3).
    /// </summary>
    public Tensor Uncertainty() => LogVariance.mean([1]).mul(0.5).exp();

    /// <summary>Items [start, start + length).</summary>
    public GaussianEmbedding Slice(long start, long length) =>
        new(Mean.narrow(0, start, length), LogVariance.narrow(0, start, length));

    /// <summary>Items at <paramref name="indices"/> (int64 tensor).</summary>
    public GaussianEmbedding Select(Tensor indices) =>
        new(Mean.index_select(0, indices), LogVariance.index_select(0, indices));

    /// <summary>Concatenates batches along the item axis.</summary>
    public static GaussianEmbedding Concat(IEnumerable<GaussianEmbedding> parts)
    {
        var list = parts.ToList();
        if (list.Count == 0) throw new ArgumentException("Concat needs at least one GaussianEmbedding.");
        return new(cat(list.Select(p => p.Mean).ToArray(), 0), cat(list.Select(p => p.LogVariance).ToArray(), 0));
    }

    /// <summary>Moves (or casts) both tensors.</summary>
    public GaussianEmbedding To(Device device, ScalarType? dtype = null) =>
        dtype is { } t ? new(Mean.to(t, device), LogVariance.to(t, device)) : new(Mean.to(device), LogVariance.to(device));

    /// <summary>Detached copies (no autograd history).</summary>
    public GaussianEmbedding Detach() => new(Mean.detach(), LogVariance.detach());

    /// <summary>
    /// From the official naver-ai/pcme tensors, whose <c>logsigma</c> is a log standard deviation at
    /// sampling time: h = 2 * logsigma.
    /// </summary>
    public static GaussianEmbedding FromOfficialLogSigma(Tensor mean, Tensor logSigma) => new(mean, logSigma.mul(2));

    /// <summary>Deterministic embeddings (sigma -> 0): h = <paramref name="logVariance"/> everywhere (e.g. -30).</summary>
    public static GaussianEmbedding PointMass(Tensor mean, double logVariance = -30) =>
        new(mean, full_like(mean, logVariance));
}
