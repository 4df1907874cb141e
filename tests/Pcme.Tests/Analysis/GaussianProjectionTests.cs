using Pcme.Analysis;
using Pcme.Probabilistic;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Analysis;

public class GaussianProjectionTests
{
    [Fact]
    public void Pca_finds_the_plane_the_means_vary_in()
    {
        using var scope = NewDisposeScope();
        // Means on an ellipse: 3 cos t along (e1 + e2)/sqrt 2, sin t along e3, nothing along e4; centred at (1, 1, 1, 1).
        var t = arange(200, dtype: float64).mul(2 * Math.PI / 200).unsqueeze(1);
        var a = t.cos().mul(3 / Math.Sqrt(2));
        var means = cat([a, a, t.sin(), zeros([200, 1], float64)], 1).add(1);
        var plane = GaussianProjection.Fit(means);
        Assert.Equal(4, plane.Dimension);
        AllClose([1, 1, 1, 1], plane.Center, abs: 1e-12);
        AllClose([Math.Sqrt(0.5), Math.Sqrt(0.5), 0, 0], plane.First, abs: 1e-9);
        AllClose([0, 0, 1, 0], plane.Second, abs: 1e-9);
        Close(0.9, plane.ExplainedVarianceRatio.First, rel: 1e-9);   // variances 9/2 and 1/2
        Close(0.1, plane.ExplainedVarianceRatio.Second, rel: 1e-9);
    }

    [Fact]
    public void Projection_gives_the_mean_coordinates_and_the_variance_along_each_direction()
    {
        using var scope = NewDisposeScope();
        var plane = new PrincipalPlane([1, 0, 0], [0.6, 0.8, 0], [0, 0, 1], (0.7, 0.3));
        var mean = tensor(new double[] { 2, 1, 3, 1, 0, 0 }, [2, 3]);
        var sigma = tensor(new double[] { 1, 2, 0.5, 0.1, 0.1, 0.1 }, [2, 3]);
        var e = new GaussianEmbedding(mean, sigma.pow(2).log());
        var g = GaussianProjection.Project(e, plane, ["a", "b"]);
        Assert.Equal("a", g[0].Label);
        Close(0.6 * 1 + 0.8 * 1, g[0].MeanX, rel: 1e-12);
        Close(3, g[0].MeanY, rel: 1e-12);
        Close(Math.Sqrt(0.36 * 1 + 0.64 * 4), g[0].SigmaX, rel: 1e-12);
        Close(0.5, g[0].SigmaY, rel: 1e-12);
        Close(0, g[1].MeanX, abs: 1e-12);
        Close(0.1, g[1].SigmaX, rel: 1e-12);
        // Orthogonal directions through different coordinates: no covariance between the projections.
        AllClose([0, 0], GaussianProjection.ProjectedCorrelation(e, plane), abs: 1e-12);
    }

    [Fact]
    public void Correlation_of_the_projections_is_reported_when_the_directions_share_coordinates()
    {
        using var scope = NewDisposeScope();
        double r = Math.Sqrt(0.5);
        var plane = new PrincipalPlane([0, 0], [r, r], [-r, r], (0.5, 0.5));
        var e = new GaussianEmbedding(zeros([1, 2], float64), tensor(new double[] { 4, 1 }, [1, 2], float64).log());
        // v1 S v2 = 0.5 (-4 + 1) = -1.5; v1 S v1 = v2 S v2 = 2.5.
        Close(-1.5 / 2.5, GaussianProjection.ProjectedCorrelation(e, plane)[0], rel: 1e-12);
    }

    [Fact]
    public void Two_dimensional_embeddings_are_taken_as_they_are()
    {
        using var scope = NewDisposeScope();
        var e = new GaussianEmbedding(tensor(new float[] { 1, -2 }, [1, 2]), tensor(new float[] { 0, MathF.Log(9) }, [1, 2]));
        var g = Assert.Single(GaussianProjection.As2D(e, ["x"]));
        Assert.Equal(new Pcme.Analysis.Gaussian2D("x", 1, -2, 1, 3), g with { SigmaY = Math.Round(g.SigmaY, 5) });
        Assert.Throws<ArgumentException>(() => GaussianProjection.As2D(new GaussianEmbedding(zeros([1, 3]), zeros([1, 3])), ["y"]));
    }

    [Fact]
    public void Bad_inputs_are_clear_errors()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => GaussianProjection.Fit(zeros([1, 3])));
        var plane = GaussianProjection.Fit(randn([5, 3]));
        var e = new GaussianEmbedding(zeros([2, 4]), zeros([2, 4]));
        Assert.Throws<ArgumentException>(() => GaussianProjection.Project(e, plane, ["a", "b"]));
        Assert.Throws<ArgumentException>(() => GaussianProjection.Project(new GaussianEmbedding(zeros([2, 3]), zeros([2, 3])), plane, ["a"]));
    }
}
