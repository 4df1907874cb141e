using static TorchSharp.torch;

namespace Pcme.Tests;

/// <summary>Moves tensors to plain C# arrays (and back) so test references never use torch.</summary>
static class TensorData
{
    public static double[] D1(Tensor t) => t.to(float64).cpu().contiguous().data<double>().ToArray();

    public static double[][] D2(Tensor t)
    {
        var flat = D1(t); int r = (int)t.shape[0], c = (int)t.shape[1];
        return Enumerable.Range(0, r).Select(i => flat.AsSpan(i * c, c).ToArray()).ToArray();
    }

    public static double[][][] D3(Tensor t)
    {
        var flat = D1(t); int a = (int)t.shape[0], b = (int)t.shape[1], c = (int)t.shape[2];
        return Enumerable.Range(0, a).Select(i => Enumerable.Range(0, b).Select(j => flat.AsSpan((i * b + j) * c, c).ToArray()).ToArray()).ToArray();
    }

    public static bool[][] B2(Tensor t)
    {
        var flat = t.to(ScalarType.Bool).cpu().contiguous().data<bool>().ToArray(); int r = (int)t.shape[0], c = (int)t.shape[1];
        return Enumerable.Range(0, r).Select(i => flat.AsSpan(i * c, c).ToArray()).ToArray();
    }

    public static void Close(double expected, double actual, double rel = 1e-9, double abs = 1e-12)
    {
        double tol = Math.Max(abs, rel * Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tol, $"expected {expected:R}, got {actual:R} (|diff| {Math.Abs(expected - actual):E3} > {tol:E3})");
    }

    public static void AllClose(double[] expected, double[] actual, double rel = 1e-9, double abs = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Close(expected[i], actual[i], rel, abs);
    }
}
