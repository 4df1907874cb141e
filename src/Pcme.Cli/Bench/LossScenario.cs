using System.Text.Json.Nodes;
using Pcme.Losses;
using Pcme.Losses.Reference;
using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Cli.Bench;

/// <summary>
/// <c>pcme bench loss</c>: forward + backward of the soft contrastive loss, ours (one GEMM over
/// stacked samples, log space) vs. the in-repo reference that follows the official formulation
/// (B^2 x J^2 x D pairwise expansion), on identical inputs in one process.
/// </summary>
public static class LossScenario
{
    /// <summary>Problem size.</summary>
    /// <remarks>The reference needs about a minute per step at the full size on 2 cores, so it gets no
    /// extra warm-up: the parity run before timing already touched every code path.</remarks>
    public sealed record Size(int Batch, int Samples, int Dim, int Warmup, int OursRepeats, int ReferenceRepeats)
    {
        /// <summary>The CUB setting of the issue: B = 128, J = 7, D = 512.</summary>
        public static Size Full => new(128, 7, 512, 2, 15, 2);
        /// <summary>A tiny size for the harness test.</summary>
        public static Size Tiny => new(6, 2, 8, 1, 2, 2);
    }

    /// <summary>Runs the scenario and returns its JSON record.</summary>
    public static JsonObject Run(Size size, int seed = 0)
    {
        const double aOff = 5, bOff = 5; // official CUB init
        var g = new Generator((ulong)seed);
        using var muI = nn.functional.normalize(randn([size.Batch, size.Dim], generator: g), dim: 1).requires_grad_(true);
        using var muC = nn.functional.normalize(randn([size.Batch, size.Dim], generator: g), dim: 1).requires_grad_(true);
        using var hI = randn([size.Batch, size.Dim], generator: g).mul(0.1).sub(6).requires_grad_(true);
        using var hC = randn([size.Batch, size.Dim], generator: g).mul(0.1).sub(6).requires_grad_(true);
        using var epsI = randn([size.Batch, size.Samples, size.Dim], generator: g);
        using var epsC = randn([size.Batch, size.Samples, size.Dim], generator: g);
        using var match = MatchMatrix.Diagonal(size.Batch);
        var ours = SoftContrastiveLoss.FromOfficial(aOff, bOff, new PcmeLossOptions { Samples = size.Samples, KlWeight = 0, UniformityWeight = 0 });
        using var aRef = tensor((float)aOff).requires_grad_(true);
        using var bRef = tensor((float)bOff).requires_grad_(true);
        Tensor[] leaves = [muI, hI, muC, hC];

        Tensor Samples(Tensor mu, Tensor h, Tensor eps) => mu.unsqueeze(1).add(eps.mul(h.mul(0.5).exp().unsqueeze(1)));

        (double Loss, double[][] Grads) Step(bool reference, bool collect = true)
        {
            foreach (var t in leaves.Append(aRef).Append(bRef).Concat(ours.parameters())) t.grad?.zero_();
            using var scope = NewDisposeScope();
            var zi = Samples(muI, hI, epsI); var zc = Samples(muC, hC, epsC);
            var loss = reference
                ? PairwiseExpansionLoss.Compute(zi, zc, match, aRef, bRef)
                : ours.FromSamples(new GaussianEmbedding(muI, hI), new GaussianEmbedding(muC, hC), zi, zc, match).Loss;
            loss.backward();
            if (!collect) return (0, []);
            // d/da_off = 2 d/da_ours (a_ours = 2 a_off); same for b.
            var ab = reference
                ? new[] { aRef.grad!.item<float>(), bRef.grad!.item<float>() }
                : new[] { 2 * ours.negative_scale.grad!.item<float>(), 2 * ours.shift.grad!.item<float>() };
            var grads = leaves.Select(t => t.grad!.data<float>().Select(v => (double)v).ToArray()).Append(ab.Select(v => (double)v).ToArray()).ToArray();
            return (loss.item<float>(), grads);
        }

        var (lossOurs, gradOurs) = Step(false);
        var (lossRef, gradRef) = Step(true);
        double lossRel = Math.Abs(lossOurs - lossRef) / Math.Abs(lossRef);
        double gradRel = gradOurs.Zip(gradRef, (o, r) => o.Zip(r, (x, y) => Math.Abs(x - y)).Max() / Math.Max(r.Max(Math.Abs), 1e-30)).Max();

        var oursStats = BenchHarness.Measure(() => Step(false, collect: false), size.Warmup, size.OursRepeats);
        var refStats = BenchHarness.Measure(() => Step(true, collect: false), 0, size.ReferenceRepeats);

        var record = BenchHarness.Environment("loss");
        record["shape"] = new JsonObject { ["B"] = size.Batch, ["J"] = size.Samples, ["D"] = size.Dim };
        record["ours"] = oursStats.ToJson();
        record["official_formulation"] = refStats.ToJson();
        record["speedup"] = Math.Round(refStats.MedianMs / oursStats.MedianMs, 2);
        record["memory_ratio"] = oursStats.PeakBytes is > 0 && refStats.PeakBytes is { } rp ? Math.Round((double)rp / oursStats.PeakBytes.Value, 1) : null;
        record["loss_ours"] = lossOurs;
        record["loss_official"] = lossRef;
        record["max_rel_diff_loss"] = lossRel;
        record["max_rel_diff_grad"] = gradRel;
        record["grad_rel_definition"] = "max over mu_i, h_i, mu_c, h_c, (a,b) of max|g_ours - g_ref| / max|g_ref|";
        return record;
    }
}
