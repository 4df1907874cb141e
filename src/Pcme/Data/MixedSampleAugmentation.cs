using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Data;

/// <summary>
/// Settings of <see cref="MixedSampleAugmentation"/>. Defaults are the official PCME++ ones
/// (naver-ai/pcmepp <c>configs/pcmepp.yaml</c>, <c>augment</c>: <c>mixup 2</c>, <c>cutmix 2</c>,
/// <c>cutmix_minmax null</c>, <c>mixup_prob 1</c>, <c>mixup_switch_prob 0.5</c>, <c>mixup_mode elem</c>,
/// <c>mix_batch_ratio 0.25</c>, <c>mixup_smoothing 0.0001</c>).
/// </summary>
public sealed record MixedSampleAugmentationOptions
{
    /// <summary>alpha of the mixup Beta(alpha, alpha) (official <c>mixup</c>: 2); 0 = no mixup.</summary>
    public double MixupAlpha { get; init; } = 2;
    /// <summary>alpha of the cutmix Beta(alpha, alpha) (official <c>cutmix</c>: 2); 0 = no cutmix.</summary>
    public double CutmixAlpha { get; init; } = 2;
    /// <summary>Probability that an element's drawn lambda is used (official <c>mixup_prob</c>: 1).</summary>
    public double Probability { get; init; } = 1;
    /// <summary>With both alphas positive: probability of cutmix instead of mixup, per element (official <c>mixup_switch_prob</c>: 0.5).</summary>
    public double SwitchProbability { get; init; } = 0.5;
    /// <summary>
    /// Probability that an element is mixed at all, i.e. the expected mixed fraction of a batch (official
    /// <c>mix_batch_ratio</c>: 0.25). Applied whichever alphas are set; the official code applies it only
    /// when both mixup and cutmix are on (its single-method branches skip it, apparently by oversight, since
    /// it validates the ratio for every 'elem' setting).
    /// </summary>
    public double MixRatio { get; init; } = 0.25;
    /// <summary>s of the soft targets: off-target value s, on-target 1 - s (official <c>mixup_smoothing</c>: 1e-4).</summary>
    public double LabelSmoothing { get; init; } = 1e-4;

    /// <summary>Throws unless the settings are usable.</summary>
    public void Validate()
    {
        static void Unit(double v, string name)
        {
            if (!(v >= 0 && v <= 1)) throw new ArgumentOutOfRangeException(name, v, $"{name} must be in [0, 1].");
        }
        if (!(MixupAlpha >= 0) || double.IsInfinity(MixupAlpha)) throw new ArgumentOutOfRangeException(nameof(MixupAlpha), MixupAlpha, "MixupAlpha must be finite and >= 0.");
        if (!(CutmixAlpha >= 0) || double.IsInfinity(CutmixAlpha)) throw new ArgumentOutOfRangeException(nameof(CutmixAlpha), CutmixAlpha, "CutmixAlpha must be finite and >= 0.");
        // The official Mixup asserts the same: with both alphas 0 there is nothing to draw.
        if (MixupAlpha == 0 && CutmixAlpha == 0) throw new ArgumentException("One of MixupAlpha and CutmixAlpha must be positive (to turn mixing off, do not apply the augmentation).");
        Unit(Probability, nameof(Probability));
        Unit(SwitchProbability, nameof(SwitchProbability));
        Unit(MixRatio, nameof(MixRatio));
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 0.5)) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "LabelSmoothing must be in [0, 0.5).");
    }
}

/// <summary>
/// A batch after <see cref="MixedSampleAugmentation.Apply"/>.
/// </summary>
/// <param name="Images">The mixed images, [B, C, H, W], same dtype and device as the input (a new tensor).</param>
/// <param name="Targets">Soft match targets [B, B_captions], in [0, 1]: float32, or float64 for float64 images; on the images' device.</param>
/// <param name="Lambdas">Per image i, the weight lambda_i of its own image (1 = not mixed); for cutmix the
/// corrected value 1 - pasted area / (H W).</param>
/// <param name="UsedCutmix">Per image, whether a (non-empty) box of its partner was pasted into it.</param>
/// <param name="Boxes">Per image, the pasted box (rows Top..Top+Height, columns Left..Left+Width) for cutmix, else null.</param>
public sealed record MixedSampleBatch(Tensor Images, Tensor Targets, double[] Lambdas, bool[] UsedCutmix, PixelBox?[] Boxes);

/// <summary>
/// PCME++'s mixed-sample data augmentation (Chun, ICLR 2024, §3.4; naver-ai/pcmepp
/// <c>pcmepp/augmentation.py</c>, <c>Mixup</c> in mode <c>'elem'</c>, itself timm's <c>Mixup</c>), applied to
/// the images of a batch while the captions stay as they are; the match matrix becomes soft.
/// <para>Per element i (official <c>_params_per_elem</c>): cutmix with probability
/// <see cref="MixedSampleAugmentationOptions.SwitchProbability"/>, else mixup; lambda ~ Beta(alpha, alpha)
/// of the chosen one; the element is mixed with probability <see cref="MixedSampleAugmentationOptions.MixRatio"/>
/// and then with probability <see cref="MixedSampleAugmentationOptions.Probability"/>, otherwise lambda = 1.
/// The partner is j = B - 1 - i (the flipped batch), always taken from the unmixed input (official
/// <c>x_orig</c>). Mixup: x_i' = lambda x_i + (1 - lambda) x_j. Cutmix (official <c>rand_bbox</c> and
/// <c>cutmix_bbox_and_lam</c> with <c>correct_lam</c>): cut = floor(side sqrt(1 - lambda)) per side, a
/// centre uniform over the pixels, the box [centre - cut/2, centre + cut/2) (integer halves) clipped to the
/// image, the partner's pixels pasted there, and lambda corrected to 1 - box area / (H W).</para>
/// <para>Soft targets (official <c>mixup_target</c>, with smoothing s: on 1 - s, off s):
/// target[i, c] = s + (1 - 2 s) (lambda_i m[i, c] + (1 - lambda_i) m[j, c]) for the kit's bool match matrix m
/// [B, B_captions]. The official code always passes <c>torch.arange(B)</c> as the labels, i.e. the diagonal
/// m = I, for which this is exactly its lambda y1 + (1 - lambda) y2 with y = onehot smoothed; the kit's
/// several positives per row (duplicated images, the relevance regime) carry over row by row: the
/// mixed image shows both images, so it matches each one's captions with that image's weight. (The
/// official code, by passing arange, also drops the duplicate-image positives it builds just before.)</para>
/// <para>Odd batches: the official code drops the last image and caption (its <c>Mixup</c> asserts an even
/// batch). The kit keeps every caption, so the middle element of an odd batch, its own partner
/// (i = B - 1 - i), is left unmixed (lambda 1) and everything else is as for an even batch.</para>
/// <para>Seeding: every draw of element i comes from <see cref="SeededRandom.Derive"/>(seed, epoch, step,
/// stream, i), the kit's own derivation (SplitMix64, no <see cref="HashCode"/>, no global RNG), so the same
/// (seed, epoch, step) gives the same draws in any process, independently of the batch size (bit for bit on
/// one platform; the Beta draws go through <see cref="Math.Log(double)"/> and <see cref="Math.Exp"/> of the C
/// runtime, whose last ulp may differ between platforms). Beta draws are <see cref="SeededRandom.NextBeta"/>
/// (two Marsaglia-Tsang gamma draws); numpy's stream differs, so the draws are not the official run's, only
/// their distribution.</para>
/// </summary>
public sealed class MixedSampleAugmentation
{
    /// <summary>Key of the mixing stream in <see cref="SeededRandom.Derive"/> (distinct from the image-augmentation stream 0x5eed).</summary>
    const ulong MixStream = 0x3153_DA;

    /// <summary>The settings.</summary>
    public MixedSampleAugmentationOptions Options { get; }

    /// <summary>An augmentation with the given settings (official PCME++ ones by default).</summary>
    public MixedSampleAugmentation(MixedSampleAugmentationOptions? options = null)
    {
        Options = options ?? new MixedSampleAugmentationOptions();
        Options.Validate();
    }

    /// <summary>The image mixed into image <paramref name="index"/> of a batch of <paramref name="batch"/>: B - 1 - i (the flipped batch).</summary>
    public static int Partner(int index, int batch) => batch - 1 - index;

    /// <summary>One element's parameters: lambda, and the cutmix box (null for mixup or no mixing).</summary>
    internal (double Lambda, PixelBox? Box) Draw(int index, int height, int width, int seed, int epoch, int step)
    {
        var random = SeededRandom.Derive((ulong)(uint)seed, (ulong)(uint)epoch, (ulong)(uint)step, MixStream, (ulong)(uint)index);
        var o = Options;
        // Official order of decisions: cutmix-or-mixup, its lambda, then mix_batch_ratio, then prob.
        bool cutmix = o.MixupAlpha > 0 && o.CutmixAlpha > 0 ? random.NextDouble() < o.SwitchProbability : o.CutmixAlpha > 0;
        double alpha = cutmix ? o.CutmixAlpha : o.MixupAlpha;
        double lambda = random.NextBeta(alpha, alpha);
        bool mixed = random.NextDouble() < o.MixRatio;
        mixed &= random.NextDouble() < o.Probability;
        if (!mixed || lambda == 1) return (1, null);          // official: lam == 1 leaves the element alone
        if (!cutmix) return (lambda, null);
        // Official rand_bbox (margin 0) and the correct_lam step of cutmix_bbox_and_lam.
        double ratio = Math.Sqrt(1 - lambda);
        int cutH = (int)(height * ratio), cutW = (int)(width * ratio);
        int cy = random.Next(height), cx = random.Next(width);
        int top = Math.Clamp(cy - cutH / 2, 0, height), bottom = Math.Clamp(cy + cutH / 2, 0, height);
        int left = Math.Clamp(cx - cutW / 2, 0, width), right = Math.Clamp(cx + cutW / 2, 0, width);
        long area = (long)(bottom - top) * (right - left);
        if (area == 0) return (1, null);                      // an empty box: corrected lambda is 1, nothing pasted
        return (1 - area / (double)((long)height * width), new PixelBox(top, left, bottom - top, right - left));
    }

    /// <summary>
    /// Mixes the images of a batch and returns them with the soft targets (see the class summary).
    /// The input tensors are not modified.
    /// </summary>
    /// <param name="images">[B, C, H, W], floating point (any device).</param>
    /// <param name="match">The kit's match matrix [B, B_captions] (row i = image i; bool, or 0/1 of any dtype).</param>
    /// <param name="seed">Run seed.</param>
    /// <param name="epoch">Epoch (part of the seed derivation).</param>
    /// <param name="step">Step within the epoch (part of the seed derivation).</param>
    public MixedSampleBatch Apply(Tensor images, Tensor match, int seed, int epoch, int step)
    {
        if (images.dim() != 4 || !images.is_floating_point())
            throw new ArgumentException($"Expected floating-point images [B, C, H, W]; got {images.dtype} [{string.Join(", ", images.shape)}].", nameof(images));
        int batch = checked((int)images.shape[0]), height = checked((int)images.shape[2]), width = checked((int)images.shape[3]);
        if (match.dim() != 2 || match.shape[0] != batch)
            throw new ArgumentException($"The match matrix must be [{batch}, captions] (row i = image i); got [{string.Join(", ", match.shape)}].", nameof(match));
        if (match.is_floating_point())
            throw new ArgumentException("The match matrix must be bool (or integer 0/1), not soft.", nameof(match));

        var lambdas = new double[batch];
        var cut = new bool[batch];
        var boxes = new PixelBox?[batch];
        var mixupWeight = new double[batch];                  // lambda for mixup elements, 1 for the others
        var top = new long[batch]; var bottom = new long[batch]; var left = new long[batch]; var right = new long[batch];
        for (int i = 0; i < batch; i++)
        {
            var (lambda, box) = Partner(i, batch) == i ? (1.0, null) : Draw(i, height, width, seed, epoch, step);
            lambdas[i] = lambda;
            boxes[i] = box;
            cut[i] = box is not null;
            mixupWeight[i] = box is null ? lambda : 1;
            if (box is { } b) { top[i] = b.Top; bottom[i] = b.Top + b.Height; left[i] = b.Left; right[i] = b.Left + b.Width; }
        }

        using var scope = NewDisposeScope();
        var device = images.device;
        var flipped = images.flip(0);
        // Mixup for all at once: weight 1 gives x exactly (x * 1 + x_j * 0). Like the official
        // x[i] * lam + x_orig[j] * (1 - lam), lambda and 1 - lambda are in the images' dtype.
        var w = tensor(mixupWeight, device: device).to(images.dtype).view(batch, 1, 1, 1);
        var mixed = images.mul(w).add(flipped.mul(w.neg().add(1)));
        if (cut.Any(c => c))
        {
            // The boxes as one mask [B, 1, H, W] from row and column ranges (empty for non-cutmix elements).
            var rows = arange(height, device: device).view(1, height, 1);
            var cols = arange(width, device: device).view(1, 1, width);
            var inRows = rows.ge(tensor(top, device: device).view(batch, 1, 1)).logical_and(rows.lt(tensor(bottom, device: device).view(batch, 1, 1)));
            var inCols = cols.ge(tensor(left, device: device).view(batch, 1, 1)).logical_and(cols.lt(tensor(right, device: device).view(batch, 1, 1)));
            mixed = where(inRows.logical_and(inCols).unsqueeze(1), flipped, mixed);
        }

        // Targets in float64 (exact lambdas), then the loss's dtype.
        double s = Options.LabelSmoothing;
        var m = match.ne(0).to(float64).to(device);
        var lam = tensor(lambdas, device: device).view(batch, 1);
        var soft = m.mul(lam).add(m.flip(0).mul(lam.neg().add(1))).mul(1 - 2 * s).add(s);
        var targets = soft.to(images.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32);
        return new MixedSampleBatch(mixed.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope(), lambdas, cut, boxes);
    }
}
