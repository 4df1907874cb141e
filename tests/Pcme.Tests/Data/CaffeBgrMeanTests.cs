using Pcme.Data;
using static TorchSharp.torch;

namespace Pcme.Tests.Data;

public sealed class CaffeBgrMeanTests : IDisposable
{
    readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    static RgbImage Pattern(int width, int height) =>
        new(width, height, Enumerable.Range(0, width * height * 3).Select(i => (byte)(i * 37 % 251)).ToArray());

    [Fact]
    public void Reorders_to_bgr_rescales_to_255_and_subtracts_the_mean_image_or_its_channel_means()
    {
        const int h = 4, w = 5;
        var mean = Enumerable.Range(0, 3 * h * w).Select(i => 100f + i % 7 + 10 * (i / (h * w))).ToArray();
        var caffe = new CaffeBgrMean(mean, h, w);
        Assert.Equal(Enumerable.Range(0, 3).Select(c => mean.Skip(c * h * w).Take(h * w).Average(v => (double)v)), caffe.ChannelMean);

        foreach (var (iw, ih) in new[] { (w, h), (3, 2) })
        {
            var image = Pattern(iw, ih);
            using var input = ImageTransforms.ToTensor(image);
            using var got = caffe.Apply(input, new Random(0));
            var values = got.contiguous().data<float>().ToArray();
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < ih; y++)
                    for (int x = 0; x < iw; x++)
                    {
                        // Naive: channel c of the output is RGB channel 2 - c, as a byte value, minus the mean.
                        double pixel = image.Pixels[(y * iw + x) * 3 + (2 - c)];
                        double m = (iw, ih) == (w, h) ? mean[c * h * w + y * w + x] : caffe.ChannelMean[c];
                        Assert.Equal(pixel - m, values[(c * ih + y) * iw + x], 3);
                    }
        }
    }

    [Fact]
    public void Replaces_the_normalisation_of_a_pipeline_and_keeps_its_other_steps()
    {
        var caffe = new CaffeBgrMean(new float[3 * 2 * 2], 2, 2);
        var eval = ImagePipeline.Eval(256, 224).WithNormalization(caffe);
        Assert.Equal([typeof(ResizeShorterSide), typeof(CenterCrop), typeof(CaffeBgrMean)], eval.Steps.Select(s => s.GetType()));
        var train = ImagePipeline.Train(224, randomErasingProbability: 0.2).WithNormalization(caffe);
        Assert.Equal([typeof(RandomResizedCrop), typeof(RandomHorizontalFlip), typeof(CaffeBgrMean), typeof(RandomErasing)], train.Steps.Select(s => s.GetType()));
        Assert.Same(caffe, new ImagePipeline(new CenterCrop(8)).WithNormalization(caffe).Steps[^1]);
    }

    [Fact]
    public void A_missing_or_foreign_mean_image_file_is_a_data_error_naming_it()
    {
        var e = Assert.Throws<DataException>(() => CaffeBgrMean.Load(folder.PathOf("none.preprocess.safetensors")));
        Assert.Contains("none.preprocess.safetensors", e.Message);
        string other = folder.PathOf("other.safetensors");
        TorchSharp.PyBridge.Safetensors.SaveStateDict(other, new Dictionary<string, Tensor> { ["weights"] = zeros(3, 2) });
        e = Assert.Throws<DataException>(() => CaffeBgrMean.Load(other));
        Assert.Contains("mean_image", e.Message);
        string garbage = folder.Write("garbage.safetensors", "no");
        Assert.Contains("garbage.safetensors", Assert.Throws<DataException>(() => CaffeBgrMean.Load(garbage)).Message);
    }
}
