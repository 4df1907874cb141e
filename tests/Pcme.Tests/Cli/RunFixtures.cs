using System.Text.Json.Nodes;
using Pcme.Tests.Data;

namespace Pcme.Tests.Cli;

/// <summary>
/// A small real-image COCO-format data set written by the test (JPEG files, captions JSON) and a config
/// that trains on it in seconds with augmentation on (random resized crop, flip, random erasing, caption drop).
/// </summary>
sealed class CocoRun : IDisposable
{
    public TempFolder Folder { get; } = new();
    public string Captions => Folder.PathOf("annotations", "captions_train2014.json");
    public string Images => Folder.PathOf("images");
    public string Config => Folder.PathOf("config.yaml");

    public CocoRun(int images = 16, int epochs = 3, string extraTrain = "")
    {
        var imageList = new JsonArray();
        var annotations = new JsonArray();
        string[] colours = ["red", "green", "blue", "yellow"], shapes = ["circle", "square", "stripe", "dot"];
        for (int i = 0; i < images; i++)
        {
            int c = i % 4, s = i / 4 % 4;
            Folder.WriteBytes($"images/{i:D4}.jpg", ImageFiles.Jpeg(48, 40, (x, y) =>
                ((byte)(c == 0 ? 220 : 30 + 7 * x), (byte)(c == 1 ? 220 : 20 + 5 * y), (byte)(c == 2 ? 220 : (x * y + 31 * s) % 255))));
            imageList.Add(new JsonObject { ["id"] = i + 1, ["file_name"] = $"{i:D4}.jpg" });
            annotations.Add(new JsonObject { ["id"] = 2 * i + 1, ["image_id"] = i + 1, ["caption"] = $"a {colours[c]} {shapes[s]} picture" });
            annotations.Add(new JsonObject { ["id"] = 2 * i + 2, ["image_id"] = i + 1, ["caption"] = $"the {shapes[s]} is {colours[c]}" });
        }
        Folder.Write("annotations/captions_train2014.json", new JsonObject { ["images"] = imageList, ["annotations"] = annotations }.ToJsonString());
        Folder.Write("config.yaml", $"""
            dataloader:
                batch_size: 8
                eval_batch_size: 16
                crop_size: 32
                random_erasing_prob: 0.5
                caption_drop_prob: 0.2
                positives: same_image
            model:
                embed_dim: 16
                cnn_type: small-4
                word_dim: 16
                wemb_type: none
                img_finetune: true
                txt_finetune: true
                n_samples_inference: 3
            optimizer:
                learning_rate: 0.002
            criterion:
                init_negative_scale: 10
                init_shift: 10
                num_samples: 3
                uniform_lambda: 0.0
            train:
                pretrain_epochs: {epochs}
                finetune_epochs: 0
                val_epochs: 1
                seed: 7
                device: cpu
                log_step: 1
            {extraTrain}
            """);
    }

    /// <summary>pcme train on the set (validating on the same captions file) into <paramref name="run"/>.</summary>
    public string[] Train(string run, params string[] extra) =>
        ["train", "--dataset", "coco", "--captions", Captions, "--images", Images, "--val-captions", Captions, "--config", Config, "--out", run, .. extra];

    /// <summary>pcme embed of the set with a checkpoint.</summary>
    public string[] Embed(string checkpoint, string output) =>
        ["embed", "--dataset", "coco", "--captions", Captions, "--images", Images, "--checkpoint", checkpoint, "--out", output, "--device", "cpu"];

    public void Dispose() => Folder.Dispose();

    /// <summary>metrics.jsonl without the wall-clock fields (the only ones allowed to differ between runs).</summary>
    public static string[] MetricsWithoutTime(string run) =>
        File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l =>
        {
            var o = JsonNode.Parse(l)!.AsObject();
            o.Remove("Seconds"); o.Remove("ValidationSeconds");   // wall times differ between runs
            if (o["ValidationDetails"] is JsonValue v && JsonNode.Parse((string)v!) is JsonObject details)
            {
                details.Remove("seconds");   // the validation's wall time
                o["ValidationDetails"] = details.ToJsonString();
            }
            return o.ToJsonString();
        }).ToArray();

    /// <summary>Waits until the run's last checkpoint holds at least <paramref name="epochs"/> epochs.</summary>
    public static void WaitForCheckpoint(string run, int epochs, RunningCli child)
    {
        string state = Path.Combine(run, "checkpoints", "last", "state.json");
        var deadline = DateTime.UtcNow.AddMinutes(4);
        while (DateTime.UtcNow < deadline)
        {
            if (child.Process.HasExited) throw new InvalidOperationException($"the run ended early ({child.Process.ExitCode}): {child.Err.Result}");
            try
            {
                if (File.Exists(state) && (int)JsonNode.Parse(File.ReadAllText(state))!["NextEpoch"]! >= epochs) return;
            }
            catch (IOException) { }
            catch (System.Text.Json.JsonException) { }
            Thread.Sleep(20);
        }
        throw new TimeoutException($"no checkpoint of {epochs} epochs in {run}");
    }

    /// <summary>stderr as lines (the kit promises one line per failure).</summary>
    public static string[] Lines(string err) => err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
