using Pcme.Training;
using static Pcme.Tests.TensorData;

namespace Pcme.Tests.Training;

[Collection("torch-global")]
public class HibToyTests
{
    [Fact]
    public void Data_is_seeded_and_puts_ambiguous_inputs_between_class_0_and_class_1()
    {
        var options = new HibToyOptions { Seed = 4, Classes = 4, PerClass = 10, Ambiguous = 6, InputSpread = 0.01 };
        var a = HibToy.Generate(options);
        var b = HibToy.Generate(options);
        Assert.Equal(46, a.Count);
        Assert.Equal(D1(a.Inputs), D1(b.Inputs));
        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(6, a.IsAmbiguous.Count(x => x));
        var inputs = D2(a.Inputs);
        for (int i = 0; i < a.Count; i++)
        {
            if (a.IsAmbiguous[i])
            {
                Assert.Contains(a.Labels[i], new long[] { 0, 1 });
                Close(1, inputs[i][0], abs: 0.1);   // midpoint of (2, 0) and (0, 2)
                Close(1, inputs[i][1], abs: 0.1);
            }
            else
            {
                double angle = 2 * Math.PI * a.Labels[i] / 4;
                Close(2 * Math.Cos(angle), inputs[i][0], abs: 0.1);
                Close(2 * Math.Sin(angle), inputs[i][1], abs: 0.1);
            }
        }
    }

    [Fact]
    public void Training_is_reproducible_and_lowers_the_loss()
    {
        var options = new HibToyOptions { Seed = 1, PerClass = 12, Ambiguous = 8, Steps = 60, BatchSize = 32, Hidden = 16 };
        var data = HibToy.Generate(options);
        var first = HibToy.Train(data, options);
        var second = HibToy.Train(data, options);
        Assert.Equal(first.Loss, second.Loss);
        Assert.All(first.Loss, l => Assert.True(double.IsFinite(l)));
        Assert.True(first.Loss.TakeLast(10).Average() < first.Loss.Take(10).Average());
        var e = first.Embed(data.Inputs);
        Assert.Equal(new long[] { data.Count, 2 }, e.Mean.shape);
        Assert.False(e.Mean.requires_grad);
    }
}
