using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Pcme.Training;

/// <summary>
/// What the trainer needs from an optimizer: set the rate, step, and save / restore its state inside a
/// checkpoint folder, so a resumed run continues bit for bit whichever optimizer the config names.
/// </summary>
public interface ITrainingOptimizer
{
    /// <summary>The config name (adamw, adam, sgd, adamp).</summary>
    string Name { get; }
    /// <summary>The file the state is saved to inside a checkpoint folder.</summary>
    string StateFileName { get; }
    /// <summary>Sets the learning rate of every parameter group.</summary>
    void SetLearningRate(double learningRate);
    /// <summary>Clears the gradients.</summary>
    void ZeroGrad();
    /// <summary>One update from the current gradients.</summary>
    void Step();
    /// <summary>Writes the state to <paramref name="path"/>.</summary>
    void Save(string path);
    /// <summary>Restores the state written by <see cref="Save"/>.</summary>
    void Load(string path);
}

/// <summary>Creates the optimizer an <see cref="OptimizerConfig"/> names.</summary>
public static class Optimizers
{
    /// <summary>The names <see cref="OptimizerConfig.Name"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Names = ["adamp", "adamw", "adam", "sgd"];

    /// <summary>The optimizer over <paramref name="parameters"/> (frozen ones, without gradients, are skipped at each step).</summary>
    public static ITrainingOptimizer Create(OptimizerConfig c, IEnumerable<Parameter> parameters)
    {
        var ps = parameters.ToArray();
        return c.Name switch
        {
            "adamw" => new TorchOptimizer("adamw", optim.AdamW(ps, c.LearningRate, c.Beta1, c.Beta2, c.Eps, c.WeightDecay)),
            "adam" => new TorchOptimizer("adam", optim.Adam(ps, c.LearningRate, c.Beta1, c.Beta2, c.Eps, c.WeightDecay)),
            "sgd" => new TorchOptimizer("sgd", optim.SGD(ps, c.LearningRate, c.Momentum, 0, c.WeightDecay, c.Nesterov)),
            "adamp" => new AdamP(ps, new AdamPOptions(c.LearningRate, c.Beta1, c.Beta2, c.Eps, c.WeightDecay, c.Delta, c.WdRatio, c.Nesterov)),
            var n => throw new ConfigException($"optimizer.name '{n}' is not known; choose one of {string.Join(", ", Names)}."),
        };
    }
}

/// <summary>A TorchSharp optimizer (AdamW, Adam, SGD); its state is saved in PyTorch's format.</summary>
public sealed class TorchOptimizer(string name, OptimizerHelper optimizer) : ITrainingOptimizer
{
    /// <summary>The wrapped optimizer.</summary>
    public OptimizerHelper Inner { get; } = optimizer;
    /// <inheritdoc />
    public string Name { get; } = name;
    /// <inheritdoc />
    public string StateFileName => "optimizer.pt";
    /// <inheritdoc />
    public void SetLearningRate(double learningRate) { foreach (var g in Inner.ParamGroups) g.LearningRate = learningRate; }
    /// <inheritdoc />
    public void ZeroGrad() => Inner.zero_grad();
    /// <inheritdoc />
    public void Step() => Inner.step();
    /// <inheritdoc />
    public void Save(string path) => Inner.save_py(path);
    /// <inheritdoc />
    public void Load(string path) => Inner.load_py(path);
}

/// <summary>AdamP's settings (defaults of clovaai/AdamP, the package naver-ai/pcme imports).</summary>
public sealed record AdamPOptions(double LearningRate = 1e-3, double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8,
    double WeightDecay = 0, double Delta = 0.1, double WdRatio = 0.1, bool Nesterov = false);

/// <summary>
/// AdamP (Heo et al., "AdamP: Slowing Down the Slowdown for Momentum Optimizers on Scale-invariant Weights",
/// ICLR 2021), the optimizer of the official PCME configs. Adam's update u = m_hat / (sqrt(v_hat) + eps), except
/// for weights that look scale-invariant (e.g. followed by a normalisation): for a weight of two or more
/// dimensions, if |cos(grad, w)| &lt; delta / sqrt(n) per output channel (n = fan-in), or else for the whole
/// weight flattened (n = its size), the radial part of the update is removed, u -= w_n (w_n . u) with
/// w_n = w / (|w| + eps), and weight decay is scaled by wd_ratio (Algorithm 2 of the paper). Decay is
/// decoupled: w *= 1 - lr wd wd_ratio. Vectors (biases, norms' gains) get plain Adam.
/// </summary>
public sealed class AdamP : ITrainingOptimizer
{
    readonly Parameter[] parameters;
    readonly Tensor[] expAvg, expAvgSq;
    readonly long[] steps;
    readonly AdamPOptions options;
    double learningRate;

    /// <summary>Creates the optimizer; its moment buffers start at zero.</summary>
    public AdamP(IEnumerable<Parameter> parameters, AdamPOptions options)
    {
        this.parameters = parameters.ToArray();
        this.options = options;
        learningRate = options.LearningRate;
        expAvg = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        expAvgSq = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        steps = new long[this.parameters.Length];
    }

    /// <inheritdoc />
    public string Name => "adamp";
    /// <inheritdoc />
    public string StateFileName => "optimizer.safetensors";
    /// <summary>The current learning rate.</summary>
    public double LearningRate => learningRate;
    /// <inheritdoc />
    public void SetLearningRate(double learningRate) => this.learningRate = learningRate;

    /// <inheritdoc />
    public void ZeroGrad()
    {
        foreach (var p in parameters) p.grad?.zero_();
    }

    /// <inheritdoc />
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (b1, b2, eps) = (options.Beta1, options.Beta2, options.Eps);
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var grad = p.grad;
            if (grad is null) continue;
            long t = ++steps[i];
            double bias1 = 1 - Math.Pow(b1, t), bias2 = 1 - Math.Pow(b2, t);
            expAvg[i].mul_(b1).add_(grad, alpha: 1 - b1);
            expAvgSq[i].mul_(b2).addcmul_(grad, grad, value: 1 - b2);
            var denom = (expAvgSq[i].sqrt() / Math.Sqrt(bias2)).add_(eps);
            var perturb = options.Nesterov ? (expAvg[i] * b1 + grad * (1 - b1)) / denom : expAvg[i] / denom;
            double wdRatio = 1;
            if (p.dim() > 1 && Project(p, grad, perturb)) wdRatio = options.WdRatio;
            if (options.WeightDecay > 0) p.mul_(1 - learningRate * options.WeightDecay * wdRatio);
            p.add_(perturb, alpha: -learningRate / bias1);
        }
    }

    /// <summary>Removes the radial component of <paramref name="perturb"/> in place when <paramref name="p"/> looks scale-invariant; true if it did.</summary>
    bool Project(Tensor p, Tensor grad, Tensor perturb)
    {
        long[] expand = [-1, .. Enumerable.Repeat(1L, (int)p.dim() - 1)];
        foreach (var view in new Func<Tensor, Tensor>[] { x => x.reshape(x.shape[0], -1), x => x.reshape(1, -1) })
        {
            var w = view(p);
            var cosine = nn.functional.cosine_similarity(view(grad), w, dim: 1, eps: options.Eps).abs();
            if (cosine.max().item<float>() < options.Delta / Math.Sqrt(w.shape[1]))
            {
                var unit = p / w.square().sum(1).sqrt().add(options.Eps).reshape(expand);
                perturb.sub_(unit * view(unit * perturb).sum(1).reshape(expand));
                return true;
            }
        }
        return false;
    }

    /// <inheritdoc />
    public void Save(string path)
    {
        var state = new Dictionary<string, Tensor> { ["step"] = tensor(steps) };
        for (int i = 0; i < parameters.Length; i++) { state[$"exp_avg.{i}"] = expAvg[i]; state[$"exp_avg_sq.{i}"] = expAvgSq[i]; }
        Safetensors.SaveStateDict(path, state);
        state["step"].Dispose();
    }

    /// <inheritdoc />
    public void Load(string path)
    {
        var state = Safetensors.LoadStateDict(path);
        try
        {
            if (!state.TryGetValue("step", out var s) || s.numel() != parameters.Length)
                throw new ConfigException($"Optimizer state '{path}' is not AdamP state for these {parameters.Length} parameters; it was written for another model or optimizer.");
            s.data<long>().CopyTo(steps, 0);
            using var _ = no_grad();
            for (int i = 0; i < parameters.Length; i++)
            {
                expAvg[i].copy_(state[$"exp_avg.{i}"]);
                expAvgSq[i].copy_(state[$"exp_avg_sq.{i}"]);
            }
        }
        finally { foreach (var t in state.Values) t.Dispose(); }
    }
}
