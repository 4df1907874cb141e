using Pcme.Data;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Pcme.Tests.Data;

public sealed class ImagePipelineTests : IDisposable
{
    readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    static float[] Values(Tensor t) => t.to(float32).contiguous().data<float>().ToArray();
    static float At(Tensor t, int c, int y, int x) => t[c, y, x].item<float>();

    /// <summary>An image whose pixel (x, y) is (10x, 10y, 7): a crop's origin can be read off its first pixel.</summary>
    static RgbImage Coordinates(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 3;
                (pixels[o], pixels[o + 1], pixels[o + 2]) = ((byte)(10 * x), (byte)(10 * y), 7);
            }
        return new RgbImage(width, height, pixels);
    }

    [Fact]
    public void Decodes_png_exactly_and_jpeg_closely()
    {
        var png = ImageDecoder.Decode(folder.WriteBytes("a.png", ImageFiles.Png(5, 3, (x, y) => ((byte)(50 * x), (byte)(100 * y), 33))));
        Assert.Equal((5, 3), (png.Width, png.Height));
        Assert.Equal(((byte)200, (byte)200, (byte)33), png[4, 2]);

        var jpeg = ImageDecoder.Decode(folder.WriteBytes("a.jpg", ImageFiles.Jpeg(8, 8, (_, _) => (250, 120, 10))));
        var (r, g, b) = jpeg[3, 3];
        Assert.True(Math.Abs(r - 250) <= 3 && Math.Abs(g - 120) <= 3 && Math.Abs(b - 10) <= 3, $"({r}, {g}, {b})");
    }

    [Fact]
    public void Grayscale_png_becomes_rgb()
    {
        var bytes = ImageFiles.EncodeGray(4, 2, (x, _) => (byte)(60 * x), SKEncodedImageFormat.Png);
        Assert.Equal(SKColorType.Gray8, ImageFiles.StoredColorType(bytes));
        var image = ImageDecoder.Decode(folder.WriteBytes("gray.png", bytes));
        Assert.Equal(((byte)180, (byte)180, (byte)180), image[3, 1]);
    }

    [Fact]
    public void An_image_over_the_pixel_limit_is_refused_from_its_header_before_decoding()
    {
        // A PNG that declares 20,000 x 20,000 pixels (1.6 GB as RGBA) and holds no pixel rows: only the header
        // can be read, so a refusal proves the check comes before any decoding or allocation.
        var png = new List<byte>([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        byte[] ihdr = [0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20, 8, 2, 0, 0, 0];   // 20000 x 20000, 8-bit RGB
        png.AddRange(Chunk("IHDR", ihdr));
        png.AddRange(Chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));   // an empty zlib stream: no rows at all
        png.AddRange(Chunk("IEND", []));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<DataException>(() => ImageDecoder.Decode(png.ToArray(), "Image file 'huge.png'"));
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 10_000_000, "nothing near the image's size was allocated");
        Assert.Contains("huge.png", e.Message);
        Assert.Contains("20,000 x 20,000 = 400,000,000 pixels, over the limit of 89,478,485", e.Message);
        Assert.Contains(ImageDecoder.MaxPixelsVariable, e.Message);
    }

    /// <summary>A PNG chunk: length, type, data, CRC-32 of type + data (the PNG specification's polynomial).</summary>
    static byte[] Chunk(string type, byte[] data)
    {
        var body = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        uint crc = 0xFFFFFFFF;
        foreach (var b in body)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        crc ^= 0xFFFFFFFF;
        byte[] BigEndian(uint v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];
        return [.. BigEndian((uint)data.Length), .. body, .. BigEndian(crc)];
    }

    [Fact]
    public void Corrupt_truncated_empty_and_missing_images_name_the_file()
    {
        var garbage = folder.WriteBytes("garbage.jpg", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        var e = Assert.Throws<DataException>(() => ImageDecoder.Decode(garbage));
        Assert.Contains(garbage, e.Message);
        Assert.Contains("not a decodable image", e.Message);

        var whole = ImageFiles.Jpeg(64, 64, (x, y) => ((byte)x, (byte)y, (byte)(x ^ y)));
        var truncated = folder.WriteBytes("truncated.jpg", whole[..(whole.Length / 2)]);
        e = Assert.Throws<DataException>(() => ImageDecoder.Decode(truncated));
        Assert.Contains(truncated, e.Message);
        Assert.Contains("corrupt", e.Message);

        var png = ImageFiles.Png(64, 64, (x, y) => ((byte)x, (byte)y, (byte)(x ^ y)));
        var truncatedPng = folder.WriteBytes("truncated.png", png[..(png.Length / 2)]);
        e = Assert.Throws<DataException>(() => ImageDecoder.Decode(truncatedPng));
        Assert.Contains(truncatedPng, e.Message);

        var empty = folder.WriteBytes("empty.png", []);
        e = Assert.Throws<DataException>(() => ImageDecoder.Decode(empty));
        Assert.Contains(empty, e.Message);
        Assert.Contains("empty", e.Message);

        var missing = folder.PathOf("missing.png");
        e = Assert.Throws<DataException>(() => ImageDecoder.Decode(missing));
        Assert.Contains(missing, e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void To_tensor_is_channels_first_in_unit_range()
    {
        using var t = ImageTransforms.ToTensor(Coordinates(4, 3));
        Assert.Equal([3L, 3, 4], t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(30f / 255f, At(t, 0, 2, 3));
        Assert.Equal(20f / 255f, At(t, 1, 2, 3));
        Assert.Equal(7f / 255f, At(t, 2, 0, 0));
    }

    [Fact]
    public void Solid_colour_normalises_to_the_exact_imagenet_values()
    {
        var image = ImageDecoder.Decode(folder.WriteBytes("solid.png", ImageFiles.Solid(6, 4, 255, 128, 0)));
        // torchvision in float32: (byte / 255 - mean) / std.
        float[] expected = [(255 / 255f - 0.485f) / 0.229f, (128 / 255f - 0.456f) / 0.224f, (0 / 255f - 0.406f) / 0.225f];

        using var exact = new ImagePipeline(Normalize.ImageNet).Apply(image, 0);
        for (int c = 0; c < 3; c++)
            Assert.All(Values(exact[c]), v => Assert.Equal(expected[c], v));

        using var eval = ImagePipeline.Eval(resizeSize: 5, cropSize: 3).Apply(image, 0);
        Assert.Equal([3L, 3, 3], eval.shape);
        for (int c = 0; c < 3; c++)
            Assert.All(Values(eval[c]), v => Assert.Equal(expected[c], v, 5e-6f));
    }

    [Fact]
    public void Resize_follows_torchvision_sizes_and_keeps_a_constant_image_constant()
    {
        Assert.Equal((10, 17), ImageTransforms.ShorterSideSize(17, 30, 10));  // int(10 * 30 / 17) = int(17.6)
        Assert.Equal((17, 10), ImageTransforms.ShorterSideSize(30, 17, 10));
        Assert.Equal((256, 341), ImageTransforms.ShorterSideSize(480, 640, 256));
        var ramp = new RgbImage(30, 17, Enumerable.Range(0, 30 * 17).SelectMany(p => new[] { (byte)(8 * (p % 30)), (byte)0, (byte)7 }).ToArray());
        using var image = ImageTransforms.ToTensor(ramp);
        using var resized = ImageTransforms.ResizeShorterSide(image, 10);
        Assert.Equal([3L, 10, 17], resized.shape);
        using var blue = resized[2];
        Assert.All(Values(blue), v => Assert.Equal(7f / 255f, v, 1e-6f));
        // A horizontal ramp stays increasing along x after antialiased downsampling.
        var row = Values(resized[0, 4]);
        for (int x = 1; x < row.Length; x++) Assert.True(row[x] > row[x - 1]);
    }

    [Fact]
    public void Horizontal_flip_mirrors_a_known_pixel()
    {
        var pixels = new byte[5 * 3 * 3];
        pixels[(1 * 5 + 0) * 3] = 255;  // red at (x 0, y 1)
        using var image = ImageTransforms.ToTensor(new RgbImage(5, 3, pixels));
        using var flipped = ImageTransforms.HorizontalFlip(image);
        Assert.Equal(1f, At(flipped, 0, 1, 4));
        Assert.Equal(0f, At(flipped, 0, 1, 0));
        Assert.Equal(1f, Values(flipped).Sum());

        using var always = new RandomHorizontalFlip(1.0).Apply(image, new Random(3));
        Assert.Equal(1f, At(always, 0, 1, 4));
        Assert.Same(image, new RandomHorizontalFlip(0.0).Apply(image, new Random(3)));
    }

    [Fact]
    public void Center_crop_picks_the_middle_with_pythons_rounding_and_pads_when_larger()
    {
        using var image = ImageTransforms.ToTensor(Coordinates(10, 8));
        using var crop = ImageTransforms.CenterCrop(image, 4, 4);
        Assert.Equal([3L, 4, 4], crop.shape);
        Assert.Equal(30f / 255f, At(crop, 0, 0, 0));  // left = round(6 / 2) = 3
        Assert.Equal(20f / 255f, At(crop, 1, 0, 0));  // top = round(4 / 2) = 2

        Assert.Equal(new PixelBox(2, 2, 4, 4), ImageTransforms.CenterCropBox(9, 9, 4, 4));  // round(2.5) = 2
        Assert.Equal(new PixelBox(4, 4, 4, 4), ImageTransforms.CenterCropBox(11, 11, 4, 4)); // round(3.5) = 4
        Assert.Equal(new PixelBox(-1, -1, 5, 5), ImageTransforms.CenterCropBox(2, 3, 5, 5));     // pads (5 - 2) // 2 and (5 - 3) // 2 before

        using var small = ImageTransforms.ToTensor(Coordinates(2, 2));
        using var padded = ImageTransforms.CenterCrop(small, 4, 4);
        Assert.Equal(0f, At(padded, 2, 0, 0));
        Assert.Equal(7f / 255f, At(padded, 2, 1, 1));
        Assert.Equal(10f / 255f, At(padded, 0, 2, 2));
        Assert.Equal(0f, At(padded, 2, 3, 3));
    }

    [Fact]
    public void Random_resized_crop_boxes_respect_scale_and_ratio_and_the_step_is_crop_then_resize()
    {
        var random = new Random(5);
        for (int i = 0; i < 500; i++)
        {
            var box = ImageTransforms.RandomResizedCropBox(60, 80, random);
            Assert.True(box.Top >= 0 && box.Left >= 0 && box.Top + box.Height <= 60 && box.Left + box.Width <= 80, box.ToString());
            double area = (double)box.Height * box.Width / (60 * 80), ratio = (double)box.Width / box.Height;
            // Rounding of h and w to integers moves area and ratio a little beyond the drawn values.
            Assert.InRange(area, 0.08 * 0.8, 1.0);
            Assert.InRange(ratio, 0.75 * 0.85, 4.0 / 3 / 0.85);
        }

        using var image = ImageTransforms.ToTensor(Coordinates(20, 16));
        var step = new RandomResizedCrop(8);
        using var output = step.Apply(image, new Random(42));
        var expectedBox = ImageTransforms.RandomResizedCropBox(16, 20, new Random(42));
        using var crop = ImageTransforms.Crop(image, expectedBox);
        using var expected = ImageTransforms.Resize(crop, 8, 8);
        Assert.Equal([3L, 8, 8], output.shape);
        Assert.Equal(Values(expected), Values(output));
    }

    [Fact]
    public void Random_resized_crop_falls_back_to_a_centred_crop_of_the_allowed_ratio()
    {
        // An area fraction above 1 never fits: after 10 tries the whole image, clamped to ratio 4/3, centred.
        Assert.Equal(new PixelBox(0, 43, 10, 13), ImageTransforms.RandomResizedCropBox(10, 100, new Random(1), scale: (2, 3)));
        Assert.Equal(new PixelBox(43, 0, 13, 10), ImageTransforms.RandomResizedCropBox(100, 10, new Random(1), scale: (2, 3)));
        Assert.Equal(new PixelBox(0, 0, 10, 12), ImageTransforms.RandomResizedCropBox(10, 12, new Random(1), scale: (2, 3)));
    }

    [Fact]
    public void Random_erasing_zeroes_one_rectangle_with_probability_p()
    {
        using var ones = torch.ones(3, 40, 50);
        Assert.Same(ones, new RandomErasing(0.0).Apply(ones, new Random(1)));

        for (int seed = 0; seed < 20; seed++)
        {
            using var erased = new RandomErasing(1.0).Apply(ones, new Random(seed));
            var random = new Random(seed);
            random.NextDouble();  // the p draw
            var box = ImageTransforms.RandomErasingBox(40, 50, random)!.Value;
            Assert.True(box.Height < 40 && box.Width < 50);
            double fraction = (double)box.Height * box.Width / (40 * 50);
            Assert.InRange(fraction, 0.02 * 0.7, 0.33 * 1.3);
            var values = Values(erased);
            Assert.Equal(3 * box.Height * box.Width, values.Count(v => v == 0));
            Assert.Equal(0f, At(erased, 1, box.Top, box.Left));
            Assert.Equal(0f, At(erased, 2, box.Top + box.Height - 1, box.Left + box.Width - 1));
        }
        // torchvision keeps a box of zero rows or columns (nothing erased) and gives up only when none fits.
        Assert.Equal(0, ImageTransforms.RandomErasingBox(1, 1, new Random(0))!.Value.Height);
        Assert.Null(ImageTransforms.RandomErasingBox(10, 10, new Random(0), scale: (1.5, 2)));
    }

    [Fact]
    public void Same_seed_same_tensor_different_seed_different_tensor()
    {
        var image = Coordinates(24, 20);
        var pipeline = ImagePipeline.Train(cropSize: 12, randomErasingProbability: 0.5);
        Assert.Equal(4, pipeline.Steps.Count);
        using var a = pipeline.Apply(image, 7);
        using var b = pipeline.Apply(image, 7);
        Assert.Equal([3L, 12, 12], a.shape);
        Assert.Equal(Values(a), Values(b));
        int differing = 0;
        for (int seed = 8; seed < 13; seed++)
        {
            using var c = pipeline.Apply(image, seed);
            if (!Values(a).SequenceEqual(Values(c))) differing++;
        }
        Assert.Equal(5, differing);
    }

    [Fact]
    public void Presets_mirror_the_official_transforms()
    {
        var train = ImagePipeline.Train();
        Assert.Equal([typeof(RandomResizedCrop), typeof(RandomHorizontalFlip), typeof(Normalize)], train.Steps.Select(s => s.GetType()));
        Assert.Equal(new RandomResizedCrop(224, 224), train.Steps[0]);
        Assert.IsType<RandomErasing>(ImagePipeline.Train(randomErasingProbability: 0.2).Steps[^1]);
        var eval = ImagePipeline.Eval();
        Assert.Equal(new ResizeShorterSide(256), eval.Steps[0]);
        Assert.Equal(new CenterCrop(224), eval.Steps[1]);
        Assert.Same(Normalize.ImageNet, eval.Steps[2]);
    }

    [Fact]
    public void Batches_stack_to_b3hw_independently_of_parallelism()
    {
        var paths = Enumerable.Range(0, 3).Select(i => folder.WriteBytes($"img{i}.png", ImageFiles.Png(12 + 2 * i, 10, (x, y) => ((byte)(x * 9 + i), (byte)(y * 9), 50)))).ToArray();
        var images = paths.Select((p, i) => new ImageItem($"i{i}", p)).ToArray();
        var data = new ListDataset(images, [new CaptionItem("c0", 0, "x")]);
        var pipeline = ImagePipeline.Train(cropSize: 6, randomErasingProbability: 0.5);

        using var serial = pipeline.LoadBatch(data, [2, 0, 1, 0], new Random(11));
        using var parallel = pipeline.LoadBatch(data, [2, 0, 1, 0], new Random(11), parallelism: 3);
        Assert.Equal([4L, 3, 6, 6], serial.shape);
        Assert.Equal(Values(serial), Values(parallel));

        using var eval = ImagePipeline.Eval(8, 6).LoadBatch(data, [1], new Random(0));
        using var single = ImagePipeline.Eval(8, 6).Load(paths[1], new Random(0));
        Assert.Equal(Values(single), Values(eval[0]));
    }

    [Fact]
    public void Batch_errors_are_clear()
    {
        var missing = folder.PathOf("gone.png");
        var data = new ListDataset([new ImageItem("i0", missing)], [new CaptionItem("c0", 0, "x")]);
        var e = Assert.Throws<DataException>(() => ImagePipeline.Eval(8, 6).LoadBatch(data, [0], new Random(0), parallelism: 2));
        Assert.Contains(missing, e.Message);

        using var a = torch.zeros(3, 4, 4);
        using var b = torch.zeros(3, 5, 4);
        var size = Assert.Throws<ArgumentException>(() => ImagePipeline.Stack([a, b]));
        Assert.Contains("crop", size.Message);

        using var flat = torch.zeros(4, 4);
        Assert.Contains("[C, H, W]", Assert.Throws<ArgumentException>(() => ImageTransforms.HorizontalFlip(flat)).Message);
    }
}
