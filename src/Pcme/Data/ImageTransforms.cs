using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Data;

/// <summary>A rectangle of an image in pixels: rows [Top, Top + Height), columns [Left, Left + Width).</summary>
/// <param name="Top">First row (may be negative for a crop that pads).</param>
/// <param name="Left">First column (may be negative for a crop that pads).</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
public readonly record struct PixelBox(int Top, int Left, int Height, int Width);

/// <summary>
/// Image operations on float32 tensors [3, H, W] with torchvision's semantics (its
/// <c>transforms.functional</c> and the parameter draws of <c>RandomResizedCrop</c> and
/// <c>RandomErasing</c>). Pure functions: the random ones take a <see cref="Random"/> and draw from
/// nothing else, so the same seed gives the same tensor. Each returns a new tensor.
/// </summary>
public static class ImageTransforms
{
    /// <summary>ImageNet channel means (R, G, B), as torchvision's pretrained models expect.</summary>
    public static readonly IReadOnlyList<double> ImageNetMean = [0.485, 0.456, 0.406];
    /// <summary>ImageNet channel standard deviations (R, G, B).</summary>
    public static readonly IReadOnlyList<double> ImageNetStd = [0.229, 0.224, 0.225];

    /// <summary>torchvision's <c>ToTensor</c>: float32 [3, H, W], values byte / 255 in [0, 1], on the CPU.</summary>
    public static Tensor ToTensor(RgbImage image)
    {
        if (image.Pixels.Length != image.Width * image.Height * 3)
            throw new ArgumentException($"An RgbImage of {image.Width} x {image.Height} needs {image.Width * image.Height * 3} bytes; it has {image.Pixels.Length}.", nameof(image));
        using var bytes = torch.tensor(image.Pixels, [image.Height, image.Width, 3], dtype: ScalarType.Byte);
        using var chw = bytes.permute(2, 0, 1);
        using var asFloat = chw.to(ScalarType.Float32);
        return asFloat.div(255f);
    }

    /// <summary>
    /// The size torchvision's <c>Resize(size)</c> with one int gives: the shorter side becomes
    /// <paramref name="shorterSide"/>, the longer one <c>int(shorterSide * long / short)</c> (truncated).
    /// </summary>
    public static (int Height, int Width) ShorterSideSize(int height, int width, int shorterSide)
    {
        if (shorterSide <= 0) throw new ArgumentOutOfRangeException(nameof(shorterSide), shorterSide, "The size must be positive.");
        if (width <= height) return ((int)((double)shorterSide * height / width), shorterSide);
        return (shorterSide, (int)((double)shorterSide * width / height));
    }

    /// <summary>Bilinear resize to [3, <paramref name="height"/>, <paramref name="width"/>] with antialiasing when shrinking (torchvision's default; matches PIL's bilinear).</summary>
    public static Tensor Resize(Tensor image, int height, int width)
    {
        var (h, w) = Size(image);
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"The target size must be positive; got {height} x {width}.");
        if (h == height && w == width) return image.clone();
        using var batch = image.unsqueeze(0);
        using var resized = nn.functional.interpolate(batch, size: [height, width], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
        return resized.squeeze(0);
    }

    /// <summary>torchvision's <c>Resize(size)</c> with one int: the shorter side becomes <paramref name="shorterSide"/>, aspect ratio kept.</summary>
    public static Tensor ResizeShorterSide(Tensor image, int shorterSide)
    {
        var (h, w) = Size(image);
        var (height, width) = ShorterSideSize(h, w, shorterSide);
        return Resize(image, height, width);
    }

    /// <summary>The pixels of <paramref name="box"/>; parts outside the image are 0 (torchvision's <c>F.crop</c>).</summary>
    public static Tensor Crop(Tensor image, PixelBox box)
    {
        var (h, w) = Size(image);
        if (box.Height <= 0 || box.Width <= 0) throw new ArgumentOutOfRangeException(nameof(box), box, "A crop needs a positive height and width.");
        if (box.Top >= 0 && box.Left >= 0 && box.Top + box.Height <= h && box.Left + box.Width <= w)
        {
            using var rows = image.narrow(1, box.Top, box.Height);
            using var region = rows.narrow(2, box.Left, box.Width);
            return region.contiguous();
        }
        var result = zeros([image.shape[0], box.Height, box.Width], dtype: image.dtype, device: image.device);
        int top = Math.Max(box.Top, 0), left = Math.Max(box.Left, 0);
        int bottom = Math.Min(box.Top + box.Height, h), right = Math.Min(box.Left + box.Width, w);
        if (bottom > top && right > left)
        {
            using var sourceRows = image.narrow(1, top, bottom - top);
            using var source = sourceRows.narrow(2, left, right - left);
            using var targetRows = result.narrow(1, top - box.Top, bottom - top);
            using var target = targetRows.narrow(2, left - box.Left, right - left);
            target.copy_(source);
        }
        return result;
    }

    /// <summary>
    /// Where torchvision's <c>CenterCrop</c> cuts: offset <c>round((size - crop) / 2)</c> (round half to
    /// even, as Python's <c>round</c>), or, where the crop is larger, zero padding of
    /// <c>(crop - size) // 2</c> before the image.
    /// </summary>
    public static PixelBox CenterCropBox(int height, int width, int cropHeight, int cropWidth)
    {
        static int Offset(int size, int crop) => crop > size ? -((crop - size) / 2) : (int)Math.Round((size - crop) / 2.0, MidpointRounding.ToEven);
        return new PixelBox(Offset(height, cropHeight), Offset(width, cropWidth), cropHeight, cropWidth);
    }

    /// <summary>torchvision's <c>CenterCrop</c>.</summary>
    public static Tensor CenterCrop(Tensor image, int height, int width)
    {
        var (h, w) = Size(image);
        return Crop(image, CenterCropBox(h, w, height, width));
    }

    /// <summary>
    /// The crop of torchvision's <c>RandomResizedCrop.get_params</c>: up to 10 tries of an area
    /// fraction uniform in <paramref name="scale"/> and an aspect ratio (width / height) log-uniform
    /// in <paramref name="ratio"/>, kept when it fits; otherwise the centred crop of the whole image
    /// clamped to the ratio range.
    /// </summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="random">The only source of randomness.</param>
    /// <param name="scale">Area fraction range; torchvision's default (0.08, 1).</param>
    /// <param name="ratio">Aspect ratio range; torchvision's default (3/4, 4/3).</param>
    public static PixelBox RandomResizedCropBox(int height, int width, Random random, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null)
    {
        var (scaleMin, scaleMax) = scale ?? (0.08, 1.0);
        var (ratioMin, ratioMax) = ratio ?? (3.0 / 4.0, 4.0 / 3.0);
        CheckRange(scaleMin, scaleMax, nameof(scale));
        CheckRange(ratioMin, ratioMax, nameof(ratio));
        double area = (double)height * width;
        double logRatioMin = Math.Log(ratioMin), logRatioMax = Math.Log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double targetArea = area * Uniform(random, scaleMin, scaleMax);
            double aspect = Math.Exp(Uniform(random, logRatioMin, logRatioMax));
            int w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (0 < w && w <= width && 0 < h && h <= height)
            {
                int top = random.Next(0, height - h + 1);
                int left = random.Next(0, width - w + 1);
                return new PixelBox(top, left, h, w);
            }
        }
        // Fallback: the whole image, narrowed to the nearest allowed aspect ratio, centred.
        double inRatio = (double)width / height;
        int cropW, cropH;
        if (inRatio < ratioMin) { cropW = width; cropH = (int)Math.Round(cropW / ratioMin, MidpointRounding.ToEven); }
        else if (inRatio > ratioMax) { cropH = height; cropW = (int)Math.Round(cropH * ratioMax, MidpointRounding.ToEven); }
        else { cropW = width; cropH = height; }
        return new PixelBox((height - cropH) / 2, (width - cropW) / 2, cropH, cropW);
    }

    /// <summary>Mirrors left and right.</summary>
    public static Tensor HorizontalFlip(Tensor image)
    {
        Size(image);
        return image.flip(2);
    }

    /// <summary>(x - mean[c]) / std[c] per channel, in the image's dtype (torchvision's <c>Normalize</c>).</summary>
    public static Tensor Normalize(Tensor image, IReadOnlyList<double> mean, IReadOnlyList<double> std)
    {
        Size(image);
        long channels = image.shape[0];
        if (mean.Count != channels || std.Count != channels)
            throw new ArgumentException($"Normalize needs one mean and one std per channel ({channels}); got {mean.Count} and {std.Count}.");
        if (std.Any(s => s == 0)) throw new ArgumentException("A standard deviation of 0 would divide by zero.", nameof(std));
        // Constants in the image's dtype (float32 for images), as torchvision builds them.
        using var m = torch.tensor(mean.ToArray(), [channels, 1, 1], dtype: image.dtype, device: image.device);
        using var s = torch.tensor(std.ToArray(), [channels, 1, 1], dtype: image.dtype, device: image.device);
        using var centred = image.sub(m);
        return centred.div(s);
    }

    /// <summary>
    /// The rectangle of torchvision's <c>RandomErasing.get_params</c>: up to 10 tries of an area
    /// fraction uniform in <paramref name="scale"/> and a ratio (height / width) log-uniform in
    /// <paramref name="ratio"/>, kept when strictly smaller than the image; null when none fits
    /// (torchvision then leaves the image as it is).
    /// </summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="random">The only source of randomness.</param>
    /// <param name="scale">Erased area fraction range; torchvision's default (0.02, 0.33).</param>
    /// <param name="ratio">Aspect ratio range (height / width); torchvision's default (0.3, 3.3).</param>
    public static PixelBox? RandomErasingBox(int height, int width, Random random, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null)
    {
        var (scaleMin, scaleMax) = scale ?? (0.02, 0.33);
        var (ratioMin, ratioMax) = ratio ?? (0.3, 3.3);
        CheckRange(scaleMin, scaleMax, nameof(scale));
        CheckRange(ratioMin, ratioMax, nameof(ratio));
        double area = (double)height * width;
        double logRatioMin = Math.Log(ratioMin), logRatioMax = Math.Log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double eraseArea = area * Uniform(random, scaleMin, scaleMax);
            double aspect = Math.Exp(Uniform(random, logRatioMin, logRatioMax));
            int h = (int)Math.Round(Math.Sqrt(eraseArea * aspect), MidpointRounding.ToEven);
            int w = (int)Math.Round(Math.Sqrt(eraseArea / aspect), MidpointRounding.ToEven);
            if (!(h < height && w < width)) continue;
            int top = random.Next(0, height - h + 1);
            int left = random.Next(0, width - w + 1);
            return new PixelBox(top, left, h, w);
        }
        return null;
    }

    /// <summary>A copy of <paramref name="image"/> with <paramref name="box"/> (inside the image) set to <paramref name="value"/> in every channel.</summary>
    public static Tensor Erase(Tensor image, PixelBox box, double value = 0)
    {
        var (h, w) = Size(image);
        if (box.Top < 0 || box.Left < 0 || box.Height < 0 || box.Width < 0 || box.Top + box.Height > h || box.Left + box.Width > w)
            throw new ArgumentOutOfRangeException(nameof(box), box, $"The erased box must lie inside the {h} x {w} image.");
        var result = image.clone();
        if (box.Height == 0 || box.Width == 0) return result;
        using var rows = result.narrow(1, box.Top, box.Height);
        using var region = rows.narrow(2, box.Left, box.Width);
        region.fill_(value);
        return result;
    }

    /// <summary>(H, W) of a [C, H, W] image; throws a clear message for anything else.</summary>
    internal static (int Height, int Width) Size(Tensor image)
    {
        if (image.dim() != 3 || image.shape[1] <= 0 || image.shape[2] <= 0)
            throw new ArgumentException($"Image tensors are [C, H, W] with H, W > 0; got [{string.Join(", ", image.shape)}].", nameof(image));
        return ((int)image.shape[1], (int)image.shape[2]);
    }

    static double Uniform(Random random, double min, double max) => min + (max - min) * random.NextDouble();

    static void CheckRange(double min, double max, string name)
    {
        if (!(min > 0 && max >= min) || double.IsInfinity(max))
            throw new ArgumentOutOfRangeException(name, (min, max), "A range needs 0 < min <= max.");
    }
}
