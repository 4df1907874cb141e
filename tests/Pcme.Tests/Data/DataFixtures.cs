using System.Runtime.InteropServices;
using Pcme.Data;
using SkiaSharp;

namespace Pcme.Tests.Data;

/// <summary>A temporary folder for fixture files, deleted on dispose.</summary>
sealed class TempFolder : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("pcme-data-").FullName;

    public string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Writes text (creating folders) and returns the full path.</summary>
    public string Write(string relative, string text)
    {
        string path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public string WriteBytes(string relative, byte[] bytes)
    {
        string path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Encodes real PNG and JPEG files with SkiaSharp.</summary>
static class ImageFiles
{
    public static byte[] Encode(int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel, SKEncodedImageFormat format, int quality = 100)
    {
        var rgba = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = pixel(x, y);
                int o = (y * width + x) * 4;
                (rgba[o], rgba[o + 1], rgba[o + 2], rgba[o + 3]) = (r, g, b, 255);
            }
        return Encode(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), rgba, format, quality);
    }

    /// <summary>A single-channel (grayscale) image file.</summary>
    public static byte[] EncodeGray(int width, int height, Func<int, int, byte> value, SKEncodedImageFormat format, int quality = 100)
    {
        var gray = new byte[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) gray[y * width + x] = value(x, y);
        return Encode(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque), gray, format, quality);
    }

    static byte[] Encode(SKImageInfo info, byte[] pixels, SKEncodedImageFormat format, int quality)
    {
        using var bitmap = new SKBitmap(info);
        int bytesPerPixel = info.BytesPerPixel;
        for (int y = 0; y < info.Height; y++)
            Marshal.Copy(pixels, y * info.Width * bytesPerPixel, bitmap.GetPixels() + y * bitmap.RowBytes, info.Width * bytesPerPixel);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    public static byte[] Png(int width, int height, Func<int, int, (byte, byte, byte)> pixel) => Encode(width, height, pixel, SKEncodedImageFormat.Png);
    public static byte[] Jpeg(int width, int height, Func<int, int, (byte, byte, byte)> pixel) => Encode(width, height, pixel, SKEncodedImageFormat.Jpeg);
    public static byte[] Solid(int width, int height, byte r, byte g, byte b) => Png(width, height, (_, _) => (r, g, b));

    /// <summary>The colour channels Skia reports for an encoded file (Gray8 for a grayscale one).</summary>
    public static SKColorType StoredColorType(byte[] encoded)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(encoded));
        return codec.Info.ColorType;
    }
}

/// <summary>A data set held in lists, for tests of samplers, relevance and pipelines.</summary>
sealed class ListDataset(IReadOnlyList<ImageItem> images, IReadOnlyList<CaptionItem> captions, IRelevance? relevance = null, Func<int, RgbImage>? load = null) : ICrossModalDataset
{
    public string Name => "list";
    public IReadOnlyList<ImageItem> Images => images;
    public IReadOnlyList<CaptionItem> Captions => captions;
    public IRelevance Relevance { get; } = relevance ?? new OwnImageRelevance(captions, images.Count);
    public IReadOnlyList<SkippedItem> Skipped => [];
    public RgbImage LoadImage(int index) => load is null ? ImageDecoder.Decode(images[index].Path!) : load(index);

    /// <summary>Images i0.. with the given caption counts (captions c0..), optionally with classes.</summary>
    public static ListDataset WithCounts(int[] captionsPerImage, int[]? classes = null)
    {
        var images = captionsPerImage.Select((_, i) => new ImageItem($"i{i}", null, classes?[i])).ToArray();
        var captions = new List<CaptionItem>();
        for (int i = 0; i < captionsPerImage.Length; i++)
            for (int k = 0; k < captionsPerImage[i]; k++) captions.Add(new CaptionItem($"c{captions.Count}", i, $"caption {k} of image {i}"));
        IRelevance? relevance = classes is null ? null : new SameClassRelevance(images, captions);
        return new ListDataset(images, captions, relevance);
    }
}
