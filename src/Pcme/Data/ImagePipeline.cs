using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace Pcme.Data;

/// <summary>
/// One step of an <see cref="ImagePipeline"/> on a float32 image tensor [3, H, W]. Random steps draw
/// only from the <see cref="Random"/> passed in. A step returns either its input unchanged (the very
/// same tensor, e.g. a flip that did not happen) or a new tensor; it never disposes its input.
/// </summary>
public interface IImageTransform
{
    /// <summary>Applies the step.</summary>
    Tensor Apply(Tensor image, Random random);
}

/// <summary>torchvision's <c>Resize(size)</c>: the shorter side becomes <paramref name="Size"/> (bilinear, antialiased).</summary>
/// <param name="Size">The shorter side's new length.</param>
public sealed record ResizeShorterSide(int Size) : IImageTransform
{
    /// <inheritdoc />
    public Tensor Apply(Tensor image, Random random) => ImageTransforms.ResizeShorterSide(image, Size);
}

/// <summary>Resize to exactly <paramref name="Height"/> x <paramref name="Width"/> (bilinear, antialiased).</summary>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
public sealed record ResizeTo(int Height, int Width) : IImageTransform
{
    /// <inheritdoc />
    public Tensor Apply(Tensor image, Random random) => ImageTransforms.Resize(image, Height, Width);
}

/// <summary>torchvision's <c>CenterCrop</c> (zero padding where the image is smaller).</summary>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
public sealed record CenterCrop(int Height, int Width) : IImageTransform
{
    /// <summary>A square crop.</summary>
    public CenterCrop(int size) : this(size, size) { }
    /// <inheritdoc />
    public Tensor Apply(Tensor image, Random random) => ImageTransforms.CenterCrop(image, Height, Width);
}

/// <summary>torchvision's <c>RandomResizedCrop</c>: a random crop (see <see cref="ImageTransforms.RandomResizedCropBox"/>) resized to <paramref name="Height"/> x <paramref name="Width"/>.</summary>
/// <param name="Height">Output rows.</param>
/// <param name="Width">Output columns.</param>
public sealed record RandomResizedCrop(int Height, int Width) : IImageTransform
{
    /// <summary>A square output.</summary>
    public RandomResizedCrop(int size) : this(size, size) { }
    /// <summary>Area fraction range (default (0.08, 1)).</summary>
    public (double Min, double Max) Scale { get; init; } = (0.08, 1.0);
    /// <summary>Aspect ratio (width / height) range (default (3/4, 4/3)).</summary>
    public (double Min, double Max) Ratio { get; init; } = (3.0 / 4.0, 4.0 / 3.0);

    /// <inheritdoc />
    public Tensor Apply(Tensor image, Random random)
    {
        var (h, w) = ImageTransforms.Size(image);
        var box = ImageTransforms.RandomResizedCropBox(h, w, random, Scale, Ratio);
        using var crop = ImageTransforms.Crop(image, box);
        return ImageTransforms.Resize(crop, Height, Width);
    }
}

/// <summary>torchvision's <c>RandomHorizontalFlip</c>: mirrors with probability <paramref name="Probability"/> (one draw per image, always made).</summary>
/// <param name="Probability">Chance of flipping.</param>
public sealed record RandomHorizontalFlip(double Probability = 0.5) : IImageTransform
{
    /// <inheritdoc />
    public Tensor Apply(Tensor image, Random random) =>
        random.NextDouble() < Probability ? ImageTransforms.HorizontalFlip(image) : image;
}

/// <summary>torchvision's <c>Normalize</c>: (x - mean) / std per channel.</summary>
/// <param name="Mean">Per-channel means.</param>
/// <param name="Std">Per-channel standard deviations.</param>
public sealed record Normalize(IReadOnlyList<double> Mean, IReadOnlyList<double> Std) : IImageTransform
{
    /// <summary>ImageNet statistics (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225).</summary>
    public static Normalize ImageNet { get; } = new(ImageTransforms.ImageNetMean, ImageTransforms.ImageNetStd);
    /// <inheritdoc />
    public Tensor Apply(Tensor image, Random random) => ImageTransforms.Normalize(image, Mean, Std);
}

/// <summary>
/// torchvision's <c>RandomErasing</c>: with probability <paramref name="Probability"/> a random
/// rectangle (see <see cref="ImageTransforms.RandomErasingBox"/>) is set to <see cref="Value"/>. It
/// comes after normalisation, so the default value 0 is the data set mean (the official PCME
/// configs use timm's constant mode, which is the same).
/// </summary>
/// <param name="Probability">Chance of erasing (torchvision's default 0.5).</param>
public sealed record RandomErasing(double Probability = 0.5) : IImageTransform
{
    /// <summary>Erased area fraction range (default (0.02, 0.33)).</summary>
    public (double Min, double Max) Scale { get; init; } = (0.02, 0.33);
    /// <summary>Aspect ratio (height / width) range (default (0.3, 3.3)).</summary>
    public (double Min, double Max) Ratio { get; init; } = (0.3, 3.3);
    /// <summary>The value written into the rectangle (default 0).</summary>
    public double Value { get; init; }

    /// <inheritdoc />
    public Tensor Apply(Tensor image, Random random)
    {
        if (!(random.NextDouble() < Probability)) return image;
        var (h, w) = ImageTransforms.Size(image);
        return ImageTransforms.RandomErasingBox(h, w, random, Scale, Ratio) is PixelBox box
            ? ImageTransforms.Erase(image, box, Value)
            : image;
    }
}

/// <summary>
/// Decoded image -> float32 tensor [3, H, W] (values / 255) -> the steps, in order. Batches stack
/// to [B, 3, H, W]. Deterministic: a given <see cref="Random"/> state (or seed) gives the same
/// tensor, including in <see cref="LoadBatch"/> with any parallelism.
/// </summary>
public sealed class ImagePipeline
{
    /// <summary>The steps after the conversion to a tensor.</summary>
    public IReadOnlyList<IImageTransform> Steps { get; }

    /// <summary>A pipeline of the given steps.</summary>
    public ImagePipeline(params IEnumerable<IImageTransform> steps)
    {
        Steps = steps.ToArray();
        if (Steps.Any(s => s is null)) throw new ArgumentException("A pipeline step is null.", nameof(steps));
    }

    /// <summary>
    /// The official PCME training transform: random resized crop to <paramref name="cropSize"/>,
    /// horizontal flip, ImageNet normalisation, and random erasing when
    /// <paramref name="randomErasingProbability"/> &gt; 0 (the official configs use 0.2 on COCO).
    /// </summary>
    public static ImagePipeline Train(int cropSize = 224, double randomErasingProbability = 0, double flipProbability = 0.5)
    {
        var steps = new List<IImageTransform> { new RandomResizedCrop(cropSize), new RandomHorizontalFlip(flipProbability), Normalize.ImageNet };
        if (randomErasingProbability > 0) steps.Add(new RandomErasing(randomErasingProbability));
        return new ImagePipeline(steps);
    }

    /// <summary>The official PCME evaluation transform: resize the shorter side to <paramref name="resizeSize"/>, centre crop <paramref name="cropSize"/>, ImageNet normalisation.</summary>
    public static ImagePipeline Eval(int resizeSize = 256, int cropSize = 224) =>
        new(new ResizeShorterSide(resizeSize), new CenterCrop(cropSize), Normalize.ImageNet);

    /// <summary>
    /// This pipeline with every <see cref="Normalize"/> step replaced by <paramref name="normalization"/> (e.g. a
    /// <see cref="CaffeBgrMean"/> for weights trained on Caffe-style inputs); appended when there is none.
    /// </summary>
    public ImagePipeline WithNormalization(IImageTransform normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        var steps = Steps.Select(s => s is Normalize ? normalization : s).ToList();
        if (!steps.Contains(normalization)) steps.Add(normalization);
        return new ImagePipeline(steps);
    }

    /// <summary>Runs the pipeline on a decoded image; float32 [3, H, W] on the CPU.</summary>
    public Tensor Apply(RgbImage image, Random random)
    {
        var current = ImageTransforms.ToTensor(image);
        try
        {
            foreach (var step in Steps)
            {
                var next = step.Apply(current, random);
                if (!ReferenceEquals(next, current)) { current.Dispose(); current = next; }
            }
            return current;
        }
        catch
        {
            current.Dispose();
            throw;
        }
    }

    /// <summary>Runs the pipeline with a fresh <c>new Random(seed)</c>.</summary>
    public Tensor Apply(RgbImage image, int seed) => Apply(image, new Random(seed));

    /// <summary>Decodes the file at <paramref name="path"/> (<see cref="DataException"/> naming it if it cannot) and runs the pipeline.</summary>
    public Tensor Load(string path, Random random) => Apply(ImageDecoder.Decode(path), random);

    /// <summary>
    /// Loads and transforms images of <paramref name="dataset"/> into one tensor [B, 3, H, W].
    /// One seed per image is drawn from <paramref name="random"/> first, so the result does not
    /// depend on <paramref name="parallelism"/> (images decoded and transformed on that many threads).
    /// </summary>
    /// <param name="dataset">Where the images come from.</param>
    /// <param name="imageIndices">Indices into <see cref="ICrossModalDataset.Images"/> (repeats allowed).</param>
    /// <param name="random">The only source of randomness.</param>
    /// <param name="parallelism">Threads decoding at once (default 1).</param>
    /// <param name="device">Where the batch goes (default CPU).</param>
    public Tensor LoadBatch(ICrossModalDataset dataset, IReadOnlyList<int> imageIndices, Random random, int parallelism = 1, Device? device = null)
    {
        if (imageIndices.Count == 0) throw new ArgumentException("A batch needs at least one image.", nameof(imageIndices));
        if (parallelism < 1) throw new ArgumentOutOfRangeException(nameof(parallelism), parallelism, "Use at least one thread.");
        foreach (int i in imageIndices)
            if (i < 0 || i >= dataset.Images.Count)
                throw new ArgumentOutOfRangeException(nameof(imageIndices), i, $"{dataset.Name} has {dataset.Images.Count} images.");
        var seeds = imageIndices.Select(_ => random.Next()).ToArray();
        var items = new Tensor[imageIndices.Count];
        try
        {
            Parallel.For(0, items.Length, new ParallelOptions { MaxDegreeOfParallelism = parallelism },
                i => items[i] = Apply(dataset.LoadImage(imageIndices[i]), new Random(seeds[i])));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            foreach (var t in items) t?.Dispose();
            // Report the first failure as itself (a DataException naming the file), not wrapped.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
        try
        {
            var batch = Stack(items);
            if (device is null) return batch;
            var moved = batch.to(device);
            if (!ReferenceEquals(moved, batch)) batch.Dispose();
            return moved;
        }
        finally
        {
            foreach (var t in items) t.Dispose();
        }
    }

    /// <summary>
    /// Per-channel mean and standard deviation of <paramref name="dataset"/>'s images in [0, 1] after
    /// <paramref name="geometry"/> (e.g. the eval resize and crop), over every pixel of at most
    /// <paramref name="maxImages"/> images (a seeded sample when there are more), accumulated in double.
    /// </summary>
    public static (double[] Mean, double[] Std) MeasureChannelStatistics(ICrossModalDataset dataset, IReadOnlyList<IImageTransform> geometry, int maxImages, int seed)
    {
        if (dataset.Images.Count == 0) throw new DataException($"{dataset.Name} has no image to measure a mean and std on.");
        var indices = Enumerable.Range(0, dataset.Images.Count).ToArray();
        if (indices.Length > maxImages)
        {
            SeededRandom.Derive((ulong)seed, 0x57A75UL).Shuffle(indices);
            indices = indices[..maxImages];
            Array.Sort(indices);
        }
        var pipeline = new ImagePipeline(geometry);
        var sum = new double[3]; var squares = new double[3]; long pixels = 0;
        foreach (int i in indices)
        {
            using var scope = NewDisposeScope();
            var image = pipeline.Apply(dataset.LoadImage(i), new Random(0)).to(ScalarType.Float64);
            var s1 = image.sum([1, 2]).data<double>().ToArray();
            var s2 = image.square().sum([1, 2]).data<double>().ToArray();
            for (int c = 0; c < 3; c++) { sum[c] += s1[c]; squares[c] += s2[c]; }
            pixels += image.shape[1] * image.shape[2];
        }
        var mean = sum.Select(v => v / pixels).ToArray();
        var std = squares.Select((v, c) => Math.Sqrt(Math.Max(v / pixels - mean[c] * mean[c], 0))).ToArray();
        if (std.Any(v => v < 1e-6))
            throw new DataException($"{dataset.Name}: a colour channel is constant over the measured images (std {string.Join(", ", std.Select(v => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)))}); " +
                                    "dataloader.normalize = dataset cannot divide by it: use imagenet or custom.");
        return (mean, std);
    }

    /// <summary>Stacks images [3, H, W] of one size into [B, 3, H, W].</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> images)
    {
        if (images.Count == 0) throw new ArgumentException("Nothing to stack.", nameof(images));
        var first = images[0].shape;
        foreach (var image in images)
            if (image.dim() != 3 || !image.shape.SequenceEqual(first))
                throw new ArgumentException($"The images of a batch must share one size; got [{string.Join(", ", first)}] and [{string.Join(", ", image.shape)}]. End the pipeline with a crop or a fixed-size resize.", nameof(images));
        return stack(images, 0);
    }
}
