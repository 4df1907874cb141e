using Pcme.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Tests.Training;

/// <summary>AdamP against the paper's update written out in doubles, and the optimizer factory.</summary>
[Collection("torch-global")]
public class OptimizersTests
{
    /// <summary>
    /// Heo et al. (ICLR 2021), Algorithm 2 with clovaai/AdamP's conventions, one parameter, in doubles:
    /// m, v moments; u = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)... written as the official code does it
    /// (denominator sqrt(v)/sqrt(1 - b2^t) + eps, step lr / (1 - b1^t)); for a matrix, if every row has
    /// |cos(g_row, w_row)| &lt; delta / sqrt(cols), u_row -= w_hat_row (w_hat_row . u_row) with w_hat = w / (|w| + eps),
    /// else the same test and projection on the whole flattened matrix; decay w *= 1 - lr wd (x wd_ratio if projected).
    /// </summary>
    sealed class NaiveAdamP(double[][] w, double lr, double wd, double b1 = 0.9, double b2 = 0.999, double eps = 1e-8, double delta = 0.1, double wdRatio = 0.1)
    {
        public readonly double[][] W = w.Select(r => r.ToArray()).ToArray();
        readonly double[][] m = w.Select(r => new double[r.Length]).ToArray();
        readonly double[][] v = w.Select(r => new double[r.Length]).ToArray();
        int t;
        public bool LastProjected;

        static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();
        static double Norm(double[] a) => Math.Sqrt(Dot(a, a));
        static double Cos(double[] a, double[] b) => Math.Abs(Dot(a, b)) / (Math.Max(Norm(a), 1e-8) * Math.Max(Norm(b), 1e-8));

        public void Step(double[][] g, bool matrix)
        {
            t++;
            int rows = W.Length, cols = W[0].Length;
            var u = new double[rows][];
            for (int i = 0; i < rows; i++)
            {
                u[i] = new double[cols];
                for (int j = 0; j < cols; j++)
                {
                    m[i][j] = b1 * m[i][j] + (1 - b1) * g[i][j];
                    v[i][j] = b2 * v[i][j] + (1 - b2) * g[i][j] * g[i][j];
                    u[i][j] = m[i][j] / (Math.Sqrt(v[i][j]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps);
                }
            }
            double ratio = 1;
            LastProjected = false;
            if (matrix)
            {
                if (Enumerable.Range(0, rows).All(i => Cos(g[i], W[i]) < delta / Math.Sqrt(cols)))
                {
                    for (int i = 0; i < rows; i++)
                    {
                        var wh = W[i].Select(x => x / (Norm(W[i]) + eps)).ToArray();
                        double d = Dot(wh, u[i]);
                        for (int j = 0; j < cols; j++) u[i][j] -= wh[j] * d;
                    }
                    LastProjected = true;
                }
                else
                {
                    var wf = W.SelectMany(r => r).ToArray(); var gf = g.SelectMany(r => r).ToArray(); var uf = u.SelectMany(r => r).ToArray();
                    if (Cos(gf, wf) < delta / Math.Sqrt(wf.Length))
                    {
                        double n = Norm(wf) + eps;
                        double d = wf.Zip(uf, (a, b) => a / n * b).Sum();
                        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) u[i][j] -= W[i][j] / n * d;
                        LastProjected = true;
                    }
                }
                if (LastProjected) ratio = wdRatio;
            }
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    W[i][j] = W[i][j] * (1 - lr * wd * ratio) - lr / (1 - Math.Pow(b1, t)) * u[i][j];
        }
    }

    static double[][] Rows(Tensor t) => Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].to(float64).data<double>().ToArray()).ToArray();

    [Fact]
    public void AdamP_matches_the_papers_update_on_a_hand_example_with_and_without_projection()
    {
        using var scope = NewDisposeScope();
        // Rows of w and of the gradients are orthogonal in steps 1-2 (scale-invariant: projected), not in step 3.
        double[][] w0 = [[3, 4], [1, 0], [0, 2]];
        double[][][] grads =
        [
            [[-4, 3], [0, 2], [5, 0]],
            [[-0.8, 0.6], [0, -1], [-1, 0]],
            [[3, 4], [1, 0.5], [0.2, 2]],
        ];
        var p = new Parameter(tensor(w0.SelectMany(r => r).Select(x => (float)x).ToArray(), [3, 2]));
        var bias = new Parameter(tensor(new float[] { 0.5f, -1f }));
        var opt = new AdamP([p, bias], new AdamPOptions(LearningRate: 0.05, WeightDecay: 0.2));
        var naive = new NaiveAdamP(w0, 0.05, 0.2);
        var naiveBias = new NaiveAdamP([[0.5, -1]], 0.05, 0.2);
        var projected = new List<bool>();
        foreach (var g in grads)
        {
            p.grad = tensor(g.SelectMany(r => r).Select(x => (float)x).ToArray(), [3, 2]);
            bias.grad = tensor(new float[] { (float)g[0][0], (float)g[1][1] });
            opt.Step();
            naive.Step(g, matrix: true);
            naiveBias.Step([[g[0][0], g[1][1]]], matrix: false);
            projected.Add(naive.LastProjected);
            var got = Rows(p.detach());
            for (int i = 0; i < 3; i++) for (int j = 0; j < 2; j++) Assert.True(Math.Abs(naive.W[i][j] - got[i][j]) < 2e-6, $"w[{i},{j}]: {got[i][j]} vs {naive.W[i][j]}");
            var gotBias = bias.detach().to(float64).data<double>().ToArray();
            Assert.True(Math.Abs(naiveBias.W[0][0] - gotBias[0]) < 2e-6 && Math.Abs(naiveBias.W[0][1] - gotBias[1]) < 2e-6);
        }
        Assert.Equal([true, true, false], projected);   // the example exercises both branches
    }

    [Fact]
    public void AdamP_on_vectors_without_decay_is_Adam()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var a = new Parameter(randn([7], generator: g));
        var b = new Parameter(a.detach().clone());
        var adamp = new AdamP([a], new AdamPOptions(LearningRate: 0.01));
        var adam = optim.Adam([b], 0.01);
        for (int step = 0; step < 5; step++)
        {
            var grad = randn([7], generator: g);
            a.grad = grad.clone(); b.grad = grad.clone();
            adamp.Step(); adam.step();
        }
        Assert.True(a.allclose(b, rtol: 1e-5, atol: 1e-7));
    }

    [Fact]
    public void AdamP_state_round_trips_so_a_resumed_run_continues_bit_for_bit()
    {
        using var scope = NewDisposeScope();
        string dir = Directory.CreateTempSubdirectory("pcme-adamp-").FullName;
        try
        {
            var g = new Generator(11);
            var w0 = randn([4, 3], generator: g);
            var grads = Enumerable.Range(0, 4).Select(_ => randn([4, 3], generator: g)).ToArray();
            var a = new Parameter(w0.clone()); var optA = new AdamP([a], new AdamPOptions(0.02, WeightDecay: 0.1));
            foreach (var gr in grads) { a.grad = gr.clone(); optA.Step(); }

            var b = new Parameter(w0.clone()); var optB = new AdamP([b], new AdamPOptions(0.02, WeightDecay: 0.1));
            for (int i = 0; i < 2; i++) { b.grad = grads[i].clone(); optB.Step(); }
            string path = Path.Combine(dir, optB.StateFileName);
            optB.Save(path);
            var c = new Parameter(b.detach().clone()); var optC = new AdamP([c], new AdamPOptions(0.02, WeightDecay: 0.1));
            optC.Load(path);
            for (int i = 2; i < 4; i++) { c.grad = grads[i].clone(); optC.Step(); }
            Assert.True(a.eq(c).all().item<bool>(), $"max diff {(a - c).abs().max().item<float>()}");

            var wrong = new AdamP([new Parameter(zeros(2)), new Parameter(zeros(2))], new AdamPOptions());
            Assert.Throws<ConfigException>(() => wrong.Load(path));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("adamw", typeof(TorchOptimizer))]
    [InlineData("adam", typeof(TorchOptimizer))]
    [InlineData("sgd", typeof(TorchOptimizer))]
    [InlineData("adamp", typeof(AdamP))]
    public void The_factory_builds_the_named_optimizer(string name, Type type)
    {
        var opt = Optimizers.Create(new OptimizerConfig { Name = name }, [new Parameter(zeros(3))]);
        Assert.IsType(type, opt);
        Assert.Equal(name, opt.Name);
        var e = Assert.Throws<ConfigException>(() => Optimizers.Create(new OptimizerConfig { Name = "adamq" }, [new Parameter(zeros(3))]));
        Assert.Contains("optimizer.name", e.Message);
        Assert.Contains("adamp", e.Message);
    }
}
