using SkiaSharp;

namespace Pcme.Data;

/// <summary>Encodes <see cref="RgbImage"/>s to PNG with SkiaSharp (lossless, so <see cref="ImageDecoder"/> gives the same pixels back).</summary>
public static class PngEncoder
{
    /// <summary>
    /// The PNG bytes of <paramref name="image"/>, optionally enlarged <paramref name="scale"/> times by
    /// pixel repetition (nearest neighbour, so small synthetic scenes stay crisp when shown).
    /// </summary>
    /// <param name="image">The image; <c>Pixels</c> must hold Width * Height * 3 bytes.</param>
    /// <param name="scale">Integer enlargement factor, 1 to 16.</param>
    public static byte[] EncodePng(RgbImage image, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Width <= 0 || image.Height <= 0 || image.Pixels.Length != image.Width * image.Height * 3)
            throw new ArgumentException($"An RGB image of {image.Width} x {image.Height} needs {image.Width * image.Height * 3} bytes, not {image.Pixels.Length}.", nameof(image));
        if (scale is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be between 1 and 16.");
        int width = image.Width * scale, height = image.Height * scale;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        int rowBytes = bitmap.RowBytes;
        var rgba = new byte[rowBytes * height];
        for (int y = 0; y < height; y++)
        {
            int sourceRow = (y / scale) * image.Width;
            for (int x = 0; x < width; x++)
            {
                int s = (sourceRow + x / scale) * 3, d = y * rowBytes + 4 * x;
                rgba[d] = image.Pixels[s];
                rgba[d + 1] = image.Pixels[s + 1];
                rgba[d + 2] = image.Pixels[s + 2];
                rgba[d + 3] = 255;
            }
        }
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the image as PNG.");
        return encoded.ToArray();
    }
}
