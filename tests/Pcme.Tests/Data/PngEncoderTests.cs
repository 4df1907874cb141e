using Pcme.Data;

namespace Pcme.Tests.Data;

public class ImageEncoderTests
{
    static RgbImage Checker()
    {
        var pixels = new byte[3 * 2 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 37 % 256);
        return new RgbImage(3, 2, pixels);
    }

    [Fact]
    public void Png_round_trips_through_the_decoder_exactly()
    {
        var image = Checker();
        var png = PngEncoder.EncodePng(image);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png.Take(4));
        var back = ImageDecoder.Decode(png, "test");
        Assert.Equal(image.Width, back.Width);
        Assert.Equal(image.Height, back.Height);
        Assert.Equal(image.Pixels, back.Pixels);
    }

    [Fact]
    public void Scale_repeats_pixels_without_smoothing()
    {
        var image = Checker();
        var back = ImageDecoder.Decode(PngEncoder.EncodePng(image, scale: 3), "test");
        Assert.Equal(9, back.Width);
        Assert.Equal(6, back.Height);
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 9; x++)
                Assert.Equal(image[x / 3, y / 3], back[x, y]);
    }

    [Fact]
    public void Bad_images_and_scales_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => PngEncoder.EncodePng(new RgbImage(2, 2, new byte[5])));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngEncoder.EncodePng(Checker(), scale: 0));
    }
}
