using Pcme.Cli;
using Pcme.Tests.Data;

namespace Pcme.Tests.Cli;

/// <summary>
/// <c>pcme train --dataset cub</c> with the official config's ResNet-50, in a child process: a native crash
/// there (oneDNN's SIGFPE in ResNet-50 backward on AVX-512 CPUs, see Runtime.CpuConvolution) would
/// otherwise take the whole test host down instead of failing one test.
/// </summary>
public sealed class CubTrainingProcessTests : IDisposable
{
    readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary>Three classes, two images each, two captions per image.</summary>
    void WriteCub()
    {
        var classes = new[] { "001.Red_Bird", "002.Blue_Bird", "003.Green_Bird" };
        folder.Write("CUB_200_2011/classes.txt", string.Join("\n", classes.Select((c, i) => $"{i + 1} {c}")) + "\n");
        var lines = new List<string>();
        for (int c = 0; c < classes.Length; c++)
            for (int k = 0; k < 2; k++)
            {
                string name = $"{classes[c][4..]}_{k}";
                lines.Add($"{lines.Count + 1} {classes[c]}/{name}.jpg");
                folder.WriteBytes($"CUB_200_2011/images/{classes[c]}/{name}.jpg", ImageFiles.Jpeg(40, 40, (x, y) => ((byte)(80 * c), (byte)(3 * x), (byte)(5 * y))));
                folder.Write($"cvpr2016_cub/text_c10/{classes[c]}/{name}.txt", $"a {classes[c][4..].Split('_')[0].ToLowerInvariant()} bird\nthis bird has a small beak number {k}\n");
            }
        folder.Write("CUB_200_2011/images.txt", string.Join("\n", lines) + "\n");
        folder.Write("cvpr2016_cub/trainvalclasses.txt", string.Join("\n", classes) + "\n");
    }

    string[] Train(string run, params string[] sets) =>
        ["train", "--dataset", "cub", "--config", Path.Combine(RepoPaths.Root, "configs", "cub.yaml"),
         "--root", folder.PathOf("CUB_200_2011"), "--captions-root", folder.PathOf("cvpr2016_cub"),
         "--split-file", folder.PathOf("cvpr2016_cub", "trainvalclasses.txt"), "--out", run,
         "--set", "model.wemb_type=none", "--set", "model.txt_finetune=true", "--set", "dataloader.batch_size=3",
         "--set", "dataloader.crop_size=32", "--set", "train.pretrain_epochs=1", "--set", "train.finetune_epochs=0",
         .. sets.SelectMany(s => new[] { "--set", s })];

    [Fact]
    public void Fine_tuning_the_official_resnet50_on_the_cpu_trains_instead_of_crashing()
    {
        WriteCub();
        string run = folder.PathOf("run");
        var r = CliProcess.Run(null, Train(run, "model.img_finetune=true"));
        Assert.True(r.Code == ExitCodes.Ok, $"exit {r.Code}: {r.Err}");
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"));
        Assert.Single(metrics);
        var epoch = System.Text.Json.Nodes.JsonNode.Parse(metrics[0])!;
        Assert.Equal("pretrain", (string)epoch["Stage"]!);
        Assert.True(double.IsFinite((double)epoch["Loss"]!), metrics[0]);
        Assert.DoesNotContain("NNPACK", r.Err);
    }

    [Fact]
    public void A_frozen_resnet_without_weights_is_refused_with_the_fix()
    {
        WriteCub();
        var r = CliProcess.Run(null, Train(folder.PathOf("run-frozen")));
        Assert.Equal(ExitCodes.BadInput, r.Code);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("model.pretrained_resnet_model_path", lines[0]);
        Assert.Contains("model.img_finetune=true", lines[0]);
    }

    [Fact]
    public void A_data_set_whose_every_image_is_skipped_is_one_error_naming_the_first_reason()
    {
        WriteCub();
        Directory.CreateDirectory(folder.PathOf("empty-captions"));
        var args = Train(folder.PathOf("run-empty"), "model.img_finetune=true");
        args[Array.IndexOf(args, "--captions-root") + 1] = folder.PathOf("empty-captions");
        var r = CliProcess.Run(null, args);
        Assert.Equal(ExitCodes.BadInput, r.Code);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("every image was skipped (6)", lines[0]);
        Assert.Contains("no caption file", lines[0]);
    }
}
