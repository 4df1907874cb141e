using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Tests.Losses;

/// <summary>Plain-double views of tensors, tolerant comparisons and central-difference gradient checks for the loss tests.</summary>
static class LossTestKit
{
    /// <summary>Image labels with duplicates (rows 1, 2 share one) and one image (row 4) without any positive caption.</summary>
    public static readonly long[] ImageLabels = [0, 1, 1, 2, 5];
    /// <summary>Caption labels: rows get 1-2 positives, columns 0-2; caption 4 has no positive image.</summary>
    public static readonly long[] CaptionLabels = [1, 0, 2, 2, 3, 1];

    public static bool[,] Match(long[] a, long[] b)
    {
        var m = new bool[a.Length, b.Length];
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < b.Length; j++)
                m[i, j] = a[i] == b[j];
        return m;
    }

    public static bool[,] Identity(int n)
    {
        var m = new bool[n, n];
        for (int i = 0; i < n; i++) m[i, i] = true;
        return m;
    }

    public static Tensor ToTensor(bool[,] m)
    {
        int r = m.GetLength(0), c = m.GetLength(1);
        var flat = new bool[r * c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                flat[i * c + j] = m[i, j];
        return tensor(flat).reshape(r, c);
    }

    public static Tensor Randn(Generator g, params long[] shape) => randn(shape, dtype: float64, generator: g);

    public static double[] Flat(Tensor t) => t.detach().cpu().to_type(float64).contiguous().data<double>().ToArray();

    public static double[,] Matrix(Tensor t)
    {
        var v = Flat(t);
        int r = (int)t.shape[0], c = (int)t.shape[1];
        var m = new double[r, c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                m[i, j] = v[i * c + j];
        return m;
    }

    public static double[,,] Cube(Tensor t)
    {
        var v = Flat(t);
        int a = (int)t.shape[0], b = (int)t.shape[1], c = (int)t.shape[2];
        var m = new double[a, b, c];
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                for (int k = 0; k < c; k++)
                    m[i, j, k] = v[(i * b + j) * c + k];
        return m;
    }

    public static double Scalar(Tensor t) => Flat(t).Single();

    /// <summary>|expected - actual| within <paramref name="rel"/> of max(1, |expected|).</summary>
    public static void Close(double expected, double actual, double rel = 1e-10, string? what = null)
    {
        Assert.True(double.IsFinite(actual), $"{what}: {actual} is not finite");
        double tol = rel * Math.Max(1, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: expected {expected:R}, got {actual:R} (tolerance {tol:R})");
    }

    public static void Close(double[,] expected, Tensor actual, double rel = 1e-10, string? what = null)
    {
        Assert.Equal(new long[] { expected.GetLength(0), expected.GetLength(1) }, actual.shape);
        var a = Matrix(actual);
        for (int i = 0; i < expected.GetLength(0); i++)
            for (int j = 0; j < expected.GetLength(1); j++)
                Close(expected[i, j], a[i, j], rel, $"{what}[{i}, {j}]");
    }

    public static void AllFinite(Tensor t, string what) =>
        Assert.True(t.isfinite().all().item<bool>(), $"{what} has inf or NaN");

    /// <summary>
    /// Central differences in float64 against autograd for every element of each leaf in <paramref name="leaves"/>:
    /// the leaves are perturbed in place (no grad) and <paramref name="loss"/> re-evaluated.
    /// </summary>
    public static void CheckGradients(Func<Tensor> loss, params (string Name, Tensor Leaf)[] leaves)
    {
        foreach (var (_, leaf) in leaves) leaf.grad?.zero_();
        using (var l = loss()) l.backward();
        foreach (var (name, leaf) in leaves)
        {
            Assert.Equal(ScalarType.Float64, leaf.dtype);
            Assert.NotNull(leaf.grad);
            var analytic = Flat(leaf.grad!);
            const double h = 1e-6;
            for (int i = 0; i < analytic.Length; i++)
            {
                double plus, minus;
                using (no_grad())
                {
                    var flat = leaf.view(-1);
                    flat[i].add_(h);
                    using (var l = loss()) plus = l.item<double>();
                    flat[i].sub_(2 * h);
                    using (var l = loss()) minus = l.item<double>();
                    flat[i].add_(h);
                }
                double numeric = (plus - minus) / (2 * h);
                double tol = 1e-6 * Math.Max(1, Math.Abs(numeric));
                Assert.True(Math.Abs(numeric - analytic[i]) <= tol,
                    $"d loss / d {name}[{i}]: autograd {analytic[i]:R}, central difference {numeric:R}");
            }
        }
    }

    /// <summary>Naive cosine similarity of two vectors.</summary>
    public static double Cosine(double[] x, double[] y)
    {
        double dot = 0, nx = 0, ny = 0;
        for (int d = 0; d < x.Length; d++) { dot += x[d] * y[d]; nx += x[d] * x[d]; ny += y[d] * y[d]; }
        return dot / (Math.Max(Math.Sqrt(nx), 1e-12) * Math.Max(Math.Sqrt(ny), 1e-12));
    }

    public static double[] Row(double[,] m, int i)
    {
        var r = new double[m.GetLength(1)];
        for (int d = 0; d < r.Length; d++) r[d] = m[i, d];
        return r;
    }

    public static double[] Row(double[,,] m, int i, int k)
    {
        var r = new double[m.GetLength(2)];
        for (int d = 0; d < r.Length; d++) r[d] = m[i, k, d];
        return r;
    }

    /// <summary>Naive cosine-similarity matrix of the rows of two [N, D] arrays.</summary>
    public static double[,] CosineMatrix(double[,] a, double[,] b)
    {
        var s = new double[a.GetLength(0), b.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < b.GetLength(0); j++)
                s[i, j] = Cosine(Row(a, i), Row(b, j));
        return s;
    }

    public static double[,] Transpose(double[,] m)
    {
        var t = new double[m.GetLength(1), m.GetLength(0)];
        for (int i = 0; i < m.GetLength(0); i++)
            for (int j = 0; j < m.GetLength(1); j++)
                t[j, i] = m[i, j];
        return t;
    }

    public static bool[,] Transpose(bool[,] m)
    {
        var t = new bool[m.GetLength(1), m.GetLength(0)];
        for (int i = 0; i < m.GetLength(0); i++)
            for (int j = 0; j < m.GetLength(1); j++)
                t[j, i] = m[i, j];
        return t;
    }
}
