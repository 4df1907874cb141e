using Pcme.Data;
using Pcme.Losses;
using Pcme.Probabilistic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pcme.Training;

/// <summary>Settings of the <see cref="HibToy"/> experiment (HIB on one modality, 2-D inputs and 2-D embeddings).</summary>
public sealed record HibToyOptions
{
    /// <summary>Seed of the data, the initial weights, the batches and every sample.</summary>
    public int Seed { get; init; }
    /// <summary>Classes; class c's inputs lie around the point at angle 2 pi c / Classes on a circle of radius 2.</summary>
    public int Classes { get; init; } = 4;
    /// <summary>Unambiguous inputs per class.</summary>
    public int PerClass { get; init; } = 40;
    /// <summary>Ambiguous inputs: around the midpoint of class 0's and class 1's centres, each labelled 0 or 1 at random.</summary>
    public int Ambiguous { get; init; } = 40;
    /// <summary>Standard deviation of the inputs around their centre.</summary>
    public double InputSpread { get; init; } = 0.25;
    /// <summary>Width of the encoder's two hidden layers.</summary>
    public int Hidden { get; init; } = 32;
    /// <summary>Optimisation steps (Adam), one random batch each.</summary>
    public int Steps { get; init; } = 300;
    /// <summary>Items per batch (every pair of distinct items in it is used).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Adam's learning rate.</summary>
    public double LearningRate { get; init; } = 0.01;
    /// <summary>
    /// The loss: J samples, initial (a, b), KL weight. Defaults: J = 8, a = b = 4 (p = 1/2 at distance 1),
    /// KL weight 1 in the official units (see <see cref="PcmeLossOptions.KlWeight"/>), no uniformity.
    /// </summary>
    public PcmeLossOptions Loss { get; init; } = new() { Samples = 8, InitNegativeScale = 4, InitShift = 4, KlWeight = 1, UniformityWeight = 0 };
    /// <summary>Initial log-variance h of every embedding (the bias of the h layer).</summary>
    public double InitLogVariance { get; init; } = -2;
}

/// <summary>The toy data set: 2-D inputs, class labels, and which inputs are ambiguous.</summary>
/// <param name="Inputs">[N, 2] float32 inputs.</param>
/// <param name="Labels">Class of each input (ambiguous inputs: 0 or 1 at random).</param>
/// <param name="IsAmbiguous">Whether each input lies between class 0 and class 1.</param>
public sealed record HibToyData(Tensor Inputs, long[] Labels, bool[] IsAmbiguous)
{
    /// <summary>Number of inputs N.</summary>
    public int Count => Labels.Length;
}

/// <summary>
/// A small MLP from a 2-D input to a 2-D diagonal Gaussian: two hidden ReLU layers, then one linear
/// layer for the mean mu and one for the log-variance h (HIB's encoder, shrunk).
/// </summary>
public sealed class HibToyEncoder : nn.Module<Tensor, GaussianEmbedding>
{
    /// <summary>Input to hidden.</summary>
    public readonly Linear fc1;
    /// <summary>Hidden to hidden.</summary>
    public readonly Linear fc2;
    /// <summary>Hidden to mu.</summary>
    public readonly Linear mean;
    /// <summary>Hidden to h = log sigma^2.</summary>
    public readonly Linear log_variance;

    /// <summary>Creates the encoder; the h layer starts at zero weights and bias <paramref name="initLogVariance"/>.</summary>
    public HibToyEncoder(int hidden, double initLogVariance) : base(nameof(HibToyEncoder))
    {
        fc1 = nn.Linear(2, hidden);
        fc2 = nn.Linear(hidden, hidden);
        mean = nn.Linear(hidden, 2);
        log_variance = nn.Linear(hidden, 2);
        using (no_grad())
        {
            log_variance.weight!.zero_();
            log_variance.bias!.fill_(initLogVariance);
        }
        RegisterComponents();
    }

    /// <summary>The Gaussian embeddings of inputs [N, 2].</summary>
    public override GaussianEmbedding forward(Tensor inputs)
    {
        var hidden = nn.functional.relu(fc2.forward(nn.functional.relu(fc1.forward(inputs))));
        return new GaussianEmbedding(mean.forward(hidden), log_variance.forward(hidden));
    }
}

/// <summary>A trained toy model and its loss per step.</summary>
/// <param name="Encoder">The trained encoder (eval mode).</param>
/// <param name="Criterion">The loss with its trained (a, b).</param>
/// <param name="Loss">Training loss of every step.</param>
public sealed record HibToyResult(HibToyEncoder Encoder, SoftContrastiveLoss Criterion, double[] Loss)
{
    /// <summary>Embeds inputs [N, 2] without gradients (detached, on the CPU).</summary>
    public GaussianEmbedding Embed(Tensor inputs)
    {
        using var _ = no_grad();
        var e = Encoder.forward(inputs);
        return new GaussianEmbedding(e.Mean.detach().cpu(), e.LogVariance.detach().cpu());
    }
}

/// <summary>
/// HIB (Oh et al. 2019) in two dimensions, small enough to train in seconds on a CPU: a few classes of
/// 2-D inputs plus ambiguous inputs that sit between class 0 and class 1 and carry either label. An
/// MLP maps each input to a 2-D Gaussian and is trained with the soft contrastive loss on one modality
/// (<see cref="SoftContrastiveLoss.ForwardSingleModality"/>), so every pair of items in a batch is a
/// positive (same label) or a negative. HIB's claim, visible here: an input whose label is uncertain
/// gets a wider Gaussian.
/// </summary>
public static class HibToy
{
    /// <summary>Generates the data of <paramref name="options"/> (seeded: the same options give the same data).</summary>
    public static HibToyData Generate(HibToyOptions options)
    {
        if (options.Classes < 2) throw new ArgumentOutOfRangeException(nameof(options), "Need at least two classes.");
        if (options.PerClass < 1 || options.Ambiguous < 0) throw new ArgumentOutOfRangeException(nameof(options), "PerClass must be positive and Ambiguous non-negative.");
        var random = SeededRandom.Derive((ulong)(uint)options.Seed, 0x41B);
        var centres = Enumerable.Range(0, options.Classes)
            .Select(c => (X: 2 * Math.Cos(2 * Math.PI * c / options.Classes), Y: 2 * Math.Sin(2 * Math.PI * c / options.Classes))).ToArray();
        var points = new List<float>(); var labels = new List<long>(); var ambiguous = new List<bool>();
        void Add(double x, double y, long label, bool isAmbiguous)
        {
            points.Add((float)(x + options.InputSpread * random.NextGaussian()));
            points.Add((float)(y + options.InputSpread * random.NextGaussian()));
            labels.Add(label); ambiguous.Add(isAmbiguous);
        }
        for (int c = 0; c < options.Classes; c++)
            for (int i = 0; i < options.PerClass; i++) Add(centres[c].X, centres[c].Y, c, false);
        var mid = ((centres[0].X + centres[1].X) / 2, (centres[0].Y + centres[1].Y) / 2);
        for (int i = 0; i < options.Ambiguous; i++) Add(mid.Item1, mid.Item2, random.Next(2), true);
        return new HibToyData(tensor(points.ToArray(), [labels.Count, 2]), labels.ToArray(), ambiguous.ToArray());
    }

    /// <summary>
    /// Trains a fresh <see cref="HibToyEncoder"/> on <paramref name="data"/> on the CPU.
    /// <paramref name="progress"/> gets (step, loss) after every step.
    /// </summary>
    public static HibToyResult Train(HibToyData data, HibToyOptions options, IProgress<(int Step, double Loss)>? progress = null)
    {
        if (options.Steps < 1 || options.BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(options), "Need at least one step and two items per batch.");
        manual_seed(options.Seed);
        var encoder = new HibToyEncoder(options.Hidden, options.InitLogVariance);
        var criterion = new SoftContrastiveLoss(options.Loss);
        // The toy's own 2-D model and loss; its optimizer comes from the kit's factory like every run's.
        var optimizer = Optimizers.Create(new OptimizerConfig { Name = "adam", LearningRate = options.LearningRate }, encoder.parameters().Concat(criterion.parameters()));
        var random = SeededRandom.Derive((ulong)(uint)options.Seed, 0xBA7C);
        var labels = tensor(data.Labels);
        int batch = Math.Min(options.BatchSize, data.Count);
        var losses = new double[options.Steps];
        encoder.train();
        for (int step = 0; step < options.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var order = Enumerable.Range(0, data.Count).ToArray();
            random.Shuffle(order);
            var index = tensor(order.Take(batch).Select(i => (long)i).ToArray());
            var embedding = encoder.forward(data.Inputs.index_select(0, index));
            var sampling = new Generator(unchecked((ulong)(uint)options.Seed * 1_000_003UL + (ulong)step));
            var output = criterion.ForwardSingleModality(embedding, labels.index_select(0, index), sampling);
            optimizer.ZeroGrad();
            output.Loss.backward();
            optimizer.Step();
            losses[step] = output.Loss.item<float>();
            progress?.Report((step + 1, losses[step]));
        }
        encoder.eval();
        return new HibToyResult(encoder, criterion, losses);
    }
}
