using SkiaSharp;

namespace Pcme.Data;

/// <summary>
/// Paints a <see cref="SyntheticScene"/> with SkiaSharp, anti-aliasing off, so every pixel is exactly
/// the background or one shape's colour and the scene graph says which. Geometry is placed on pixel
/// centres (x + 0.5), so the pixel boxes of <see cref="SyntheticShape"/> are exact.
/// </summary>
public static class SyntheticRenderer
{
    /// <summary>The scene as an RGB image of <see cref="SyntheticScene.Size"/> x <see cref="SyntheticScene.Size"/> pixels.</summary>
    public static RgbImage Render(SyntheticScene scene)
    {
        int size = scene.Size;
        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(ToSkia(SyntheticPalette.Background));
            using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
            foreach (var shape in scene.Shapes)
            {
                paint.Color = ToSkia(SyntheticPalette.Of(shape.Color));
                float cx = shape.CenterX + 0.5f, cy = shape.CenterY + 0.5f, r = shape.Radius;
                switch (shape.Kind)
                {
                    case ShapeKind.Circle:
                        // Radius + 0.5 reaches the centres of the box's edge pixels and no further.
                        canvas.DrawCircle(cx, cy, r + 0.5f, paint);
                        break;
                    case ShapeKind.Square:
                        canvas.DrawRect(new SKRect(shape.Left, shape.Top, shape.Right + 1, shape.Bottom + 1), paint);
                        break;
                    case ShapeKind.Triangle:
                        using (var path = new SKPath())
                        {
                            path.MoveTo(cx, shape.Top);
                            path.LineTo(shape.Right + 1, shape.Bottom + 1);
                            path.LineTo(shape.Left, shape.Bottom + 1);
                            path.Close();
                            canvas.DrawPath(path, paint);
                        }
                        break;
                    default:
                        throw new ArgumentOutOfRangeException(nameof(scene), shape.Kind, "Unknown shape kind.");
                }
            }
            canvas.Flush();
        }
        var rgba = bitmap.GetPixelSpan();
        var rgb = new byte[size * size * 3];
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
        {
            rgb[p] = rgba[q]; rgb[p + 1] = rgba[q + 1]; rgb[p + 2] = rgba[q + 2];
        }
        return new RgbImage(size, size, rgb);
    }

    static SKColor ToSkia(Rgb c) => new(c.R, c.G, c.B);
}
