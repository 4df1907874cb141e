
using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Analysis;

/// <summary>
/// The plane of the two principal components of a set of means (PCA by SVD), for drawing
/// high-dimensional Gaussian embeddings as 2-D ellipses.
/// </summary>
/// <param name="Center">The mean of the fitted means, [D].</param>
/// <param name="First">First principal direction (unit length), [D].</param>
/// <param name="Second">Second principal direction (unit length, orthogonal to <paramref name="First"/>), [D].</param>
/// <param name="ExplainedVarianceRatio">Fraction of the means' total variance along each direction.</param>
public sealed record PrincipalPlane(double[] Center, double[] First, double[] Second, (double First, double Second) ExplainedVarianceRatio)
{
    /// <summary>Dimension D of the space the plane lives in.</summary>
    public int Dimension => Center.Length;
}

/// <summary>
/// Projects diagonal Gaussians N(mu, diag sigma^2) onto a <see cref="PrincipalPlane"/>. A linear map
/// of a Gaussian is Gaussian: the projected mean is ((mu - c).v1, (mu - c).v2) and the variance along
/// direction v is v^T diag(sigma^2) v = sum_d v_d^2 sigma_d^2. The projected covariance also has an
/// off-diagonal term v1^T diag(sigma^2) v2, which <see cref="Project"/> drops to draw axis-aligned
/// ellipses (Plots.Figures.Ellipses2D); <see cref="ProjectedCorrelation"/> reports how large it is.
/// </summary>
public static class GaussianProjection
{
    /// <summary>
    /// Fits the plane of the two largest principal components of <paramref name="means"/> [N, D]
    /// (N &gt;= 2, D &gt;= 2) with <c>torch.linalg.svd</c> of the centred means, in float64. Each
    /// direction's sign is fixed so that its largest-magnitude entry is positive, so the result is
    /// deterministic.
    /// </summary>
    public static PrincipalPlane Fit(Tensor means)
    {
        if (means.dim() != 2 || means.shape[0] < 2 || means.shape[1] < 2)
            throw new ArgumentException($"PCA needs means [N, D] with N >= 2 and D >= 2; got [{string.Join(", ", means.shape)}].", nameof(means));
        using var scope = NewDisposeScope();
        var x = means.detach().to(float64).cpu();
        var center = x.mean([0]);
        var centred = x.sub(center);
        var (_, s, vh) = linalg.svd(centred, fullMatrices: false);
        var variance = s.pow(2);
        double total = variance.sum().item<double>();
        double[] Direction(int k)
        {
            var v = vh[k].data<double>().ToArray();
            int largest = 0;
            for (int d = 1; d < v.Length; d++) if (Math.Abs(v[d]) > Math.Abs(v[largest])) largest = d;
            return v[largest] < 0 ? v.Select(e => -e).ToArray() : v;
        }
        double Ratio(int k) => total > 0 ? variance[k].item<double>() / total : 0;
        return new PrincipalPlane(center.data<double>().ToArray(), Direction(0), Direction(1), (Ratio(0), Ratio(1)));
    }

    /// <summary>
    /// The Gaussians of <paramref name="embedding"/> projected onto <paramref name="plane"/>: x, y are the
    /// coordinates of the mean along the first and second direction and SigmaX, SigmaY the standard
    /// deviations along them (the covariance's off-diagonal term is dropped; see the class remarks).
    /// </summary>
    /// <param name="embedding">N Gaussians of dimension <see cref="PrincipalPlane.Dimension"/>.</param>
    /// <param name="plane">The plane, e.g. from <see cref="Fit"/> on the same or another set's means.</param>
    /// <param name="labels">One label per Gaussian (legend and hover text).</param>
    public static IReadOnlyList<Gaussian2D> Project(GaussianEmbedding embedding, PrincipalPlane plane, IReadOnlyList<string> labels)
    {
        var (mean, variance, _) = Moments(embedding, plane);
        if (labels.Count != mean.GetLength(0))
            throw new ArgumentException($"Need one label per Gaussian ({mean.GetLength(0)}), got {labels.Count}.", nameof(labels));
        return Enumerable.Range(0, labels.Count)
            .Select(i => new Gaussian2D(labels[i], mean[i, 0], mean[i, 1], Math.Sqrt(variance[i, 0]), Math.Sqrt(variance[i, 1])))
            .ToArray();
    }

    /// <summary>The Gaussians of a two-dimensional <paramref name="embedding"/> as they are (no projection), one label each.</summary>
    public static IReadOnlyList<Gaussian2D> As2D(GaussianEmbedding embedding, IReadOnlyList<string> labels)
    {
        if (embedding.Dimension != 2) throw new ArgumentException($"As2D needs a 2-D embedding; this one has D = {embedding.Dimension}. Use Fit and Project.", nameof(embedding));
        return Project(embedding, new PrincipalPlane([0, 0], [1, 0], [0, 1], (double.NaN, double.NaN)), labels);
    }

    /// <summary>
    /// For each Gaussian, the correlation of its projected coordinates,
    /// v1^T S v2 / sqrt(v1^T S v1 * v2^T S v2) with S = diag(sigma^2): 0 when the axis-aligned ellipse
    /// of <see cref="Project"/> is exact.
    /// </summary>
    public static double[] ProjectedCorrelation(GaussianEmbedding embedding, PrincipalPlane plane)
    {
        var (_, variance, covariance) = Moments(embedding, plane);
        return Enumerable.Range(0, covariance.Length).Select(i => covariance[i] / Math.Sqrt(variance[i, 0] * variance[i, 1])).ToArray();
    }

    static (double[,] Mean, double[,] Variance, double[] Covariance) Moments(GaussianEmbedding embedding, PrincipalPlane plane)
    {
        if (embedding.Dimension != plane.Dimension)
            throw new ArgumentException($"The embedding has dimension {embedding.Dimension} but the plane was fitted in dimension {plane.Dimension}.", nameof(embedding));
        using var scope = NewDisposeScope();
        var v = tensor(plane.First.Concat(plane.Second).ToArray(), [2, plane.Dimension], float64);        // [2, D]
        var mu = embedding.Mean.detach().to(float64).cpu().sub(tensor(plane.Center, float64));            // [N, D]
        var s2 = embedding.LogVariance.detach().to(float64).cpu().exp();                                   // [N, D]
        var mean = mu.matmul(v.t());                                                                       // [N, 2]
        var variance = s2.matmul(v.pow(2).t());                                                            // [N, 2]
        var covariance = s2.matmul(v[0].mul(v[1]));                                                        // [N]
        long n = mean.shape[0];
        return (ToMatrix(mean, n), ToMatrix(variance, n), covariance.data<double>().ToArray());
    }

    static double[,] ToMatrix(Tensor t, long n)
    {
        var flat = t.contiguous().data<double>().ToArray();
        var m = new double[n, 2];
        for (long i = 0; i < n; i++) { m[i, 0] = flat[2 * i]; m[i, 1] = flat[2 * i + 1]; }
        return m;
    }
}
