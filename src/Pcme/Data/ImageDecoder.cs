using SkiaSharp;

namespace Pcme.Data;

/// <summary>
/// Decodes JPEG and PNG files (and whatever else Skia reads: BMP, GIF, WebP) to 8-bit RGB with
/// SkiaSharp. Grayscale and palette images become RGB; an alpha channel is dropped without
/// compositing and embedded colour profiles are ignored, as PIL's <c>Image.convert("RGB")</c> does
/// in the official loaders. EXIF orientation is not applied (PIL does not either).
/// </summary>
public static class ImageDecoder
{
    /// <summary>Environment variable that overrides <see cref="DefaultMaxPixels"/>.</summary>
    public const string MaxPixelsVariable = "PCME_MAX_IMAGE_PIXELS";

    /// <summary>
    /// Largest image decoded by default: PIL's <c>Image.MAX_IMAGE_PIXELS</c> (89,478,485, about 9,459 x 9,459).
    /// A 389 KB PNG of 20,000 x 20,000 pixels otherwise took 12 GB while being decoded and resized.
    /// </summary>
    public const long DefaultMaxPixels = 89_478_485;

    /// <summary>The pixel-count limit in force (<see cref="MaxPixelsVariable"/> when set to a positive integer).</summary>
    public static long MaxPixels =>
        long.TryParse(Environment.GetEnvironmentVariable(MaxPixelsVariable), out long v) && v > 0 ? v : DefaultMaxPixels;

    /// <summary>Decodes the file at <paramref name="path"/>; throws <see cref="DataException"/> naming it when it is missing, unreadable or corrupt.</summary>
    public static RgbImage Decode(string path)
    {
        if (!File.Exists(path))
            throw new DataException($"Image file '{path}' does not exist. Check the images folder given to the loader, or re-download the image.");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"Image file '{path}' cannot be read: {e.Message}", e);
        }
        return Decode(bytes, $"Image file '{path}'");
    }

    /// <summary>Decodes encoded image bytes; <paramref name="source"/> names them in error messages.</summary>
    public static RgbImage Decode(byte[] encoded, string source)
    {
        if (encoded.Length == 0)
            throw new DataException($"{source} is empty (0 bytes): re-download it or remove it from the listing.");
        // The codec takes ownership of the Skia stream.
        using var codec = SKCodec.Create(new SKMemoryStream(encoded), out var opened);
        if (codec is null)
            throw new DataException($"{source} is not a decodable image ({Explain(opened)}): the file is corrupt or not a JPEG/PNG; re-download it or remove it from the listing.");
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0)
            throw new DataException($"{source} has no pixels ({width} x {height}): re-download it or remove it from the listing.");
        // Checked on the header alone (SKCodec has not decoded anything yet): the limit bounds the memory.
        long pixels = (long)width * height, limit = MaxPixels;
        if (pixels > limit)
            throw new DataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{source} is {width:N0} x {height:N0} = {pixels:N0} pixels, over the limit of {limit:N0} (decoding alone would take {pixels * 7 / 1e6:N0} MB): " +
                $"downscale it, remove it from the listing, or raise the limit with {MaxPixelsVariable}=N."));

        // Unpremultiplied RGBA: the colour channels are kept as stored even where alpha < 255.
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var decoded = codec.GetPixels(info, bitmap.GetPixels());
        if (decoded != SKCodecResult.Success)
            throw new DataException($"{source} could not be decoded ({Explain(decoded)}): the file is corrupt or truncated; re-download it or remove it from the listing.");

        var rgba = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            var row = rgba.Slice(y * rowBytes, width * 4);
            int o = y * width * 3;
            for (int x = 0; x < width; x++, o += 3)
            {
                rgb[o] = row[4 * x];
                rgb[o + 1] = row[4 * x + 1];
                rgb[o + 2] = row[4 * x + 2];
            }
        }
        return new RgbImage(width, height, rgb);
    }

    static string Explain(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput => "the data ends early or is damaged",
        SKCodecResult.InvalidInput => "unrecognised or invalid image data",
        SKCodecResult.Unimplemented => "not an image format Skia recognises",
        _ => $"Skia result {result}",
    };
}
