using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Pcme.Data;

/// <summary>
/// Caffe-style input normalisation (<c>dataloader.normalize: caffe-bgr-mean</c>), as the CNTK ImageNet ResNet-18 of
/// NuGet's <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> was trained with: pixel values back to 0-255, channels
/// reordered to B, G, R, and a mean image subtracted. Where the image is not the mean image's size (another crop
/// size), the mean image's per-channel mean is subtracted instead. Takes the pipeline's [3, H, W] RGB tensor in
/// [0, 1] (after <see cref="ImageTransforms.ToTensor"/>), so it stands where <see cref="Normalize"/> stands.
/// </summary>
public sealed class CaffeBgrMean : IImageTransform
{
    /// <summary>The name of this preprocessing in <c>dataloader.normalize</c>.</summary>
    public const string Name = "caffe-bgr-mean";

    readonly float[] meanImage;

    /// <summary>The mean image, B, G, R planes of <see cref="Height"/> x <see cref="Width"/>, 0-255 scale.</summary>
    public ReadOnlySpan<float> MeanImage => meanImage;
    /// <summary>Rows of the mean image.</summary>
    public int Height { get; }
    /// <summary>Columns of the mean image.</summary>
    public int Width { get; }
    /// <summary>Per-channel means of the mean image (B, G, R), used for images of another size.</summary>
    public IReadOnlyList<double> ChannelMean { get; }

    /// <summary>Uses <paramref name="meanImageBgr"/> (3 x <paramref name="height"/> x <paramref name="width"/> values, B, G, R planes, 0-255).</summary>
    public CaffeBgrMean(float[] meanImageBgr, int height, int width)
    {
        if (height <= 0 || width <= 0 || meanImageBgr.Length != 3 * height * width)
            throw new ArgumentException($"A mean image of {height} x {width} needs {3L * height * width} values; got {meanImageBgr.Length}.", nameof(meanImageBgr));
        meanImage = meanImageBgr.ToArray();
        Height = height; Width = width;
        int plane = height * width;
        ChannelMean = Enumerable.Range(0, 3).Select(c => meanImage.AsSpan(c * plane, plane).ToArray().Average(v => (double)v)).ToArray();
    }

    /// <summary>
    /// Loads the mean image from a <c>.preprocess.safetensors</c> file written by the ONNX converter
    /// (tensor <c>mean_image</c> [3, H, W]); a missing or malformed file is a <see cref="DataException"/> naming it.
    /// </summary>
    public static CaffeBgrMean Load(string path)
    {
        if (!File.Exists(path))
            throw new DataException($"Mean image file '{path}' does not exist. It is written beside the converted weights; convert them again by pointing model.pretrained_resnet_model_path at the .onnx.");
        Dictionary<string, Tensor> state;
        try { state = Safetensors.LoadStateDict(path); }
        catch (Exception e) { throw new DataException($"Mean image file '{path}' cannot be read ({e.Message.Split('\n')[0]}). Delete it and convert the weights again.", e); }
        try
        {
            if (!state.TryGetValue("mean_image", out var mean) || mean.dim() != 3 || mean.shape[0] != 3 || mean.dtype != ScalarType.Float32)
                throw new DataException($"Mean image file '{path}' has no float32 'mean_image' [3, H, W]. Delete it and convert the weights again.");
            return new CaffeBgrMean(mean.contiguous().data<float>().ToArray(), (int)mean.shape[1], (int)mean.shape[2]);
        }
        finally { foreach (var t in state.Values) t.Dispose(); }
    }

    /// <inheritdoc />
    public Tensor Apply(Tensor image, Random random)
    {
        var (h, w) = ImageTransforms.Size(image);
        if (image.shape[0] != 3) throw new ArgumentException($"caffe-bgr-mean needs an RGB image [3, H, W]; got [{string.Join(", ", image.shape)}].", nameof(image));
        using var scope = NewDisposeScope();
        var bgr = image.flip(0).mul(255f);
        var mean = h == Height && w == Width
            ? tensor(meanImage, [3, Height, Width], device: image.device)
            : tensor(ChannelMean.Select(v => (float)v).ToArray(), [3, 1, 1], device: image.device);
        return bgr.sub(mean).MoveToOuterDisposeScope();
    }
}
