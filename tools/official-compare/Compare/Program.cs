// The kit's half of the side-by-side comparison with naver-ai/pcme (see ../README.md).
//   Compare export OUT [--images N] [--train-fraction F] [--val-fraction F] [--seed S] [--grayscale]
//     writes the kit's synthetic set (src/Pcme/Data/SyntheticDataset.cs) as OUT/images/*.png and
//     OUT/captions_{train,val,test}.json in the COCO captions layout ({images: [{id, file_name, width, height}],
//     annotations: [{id, image_id, caption}]}), which both codes read.
//   Compare train DATA CONFIG.yaml OUT.safetensors [--set section.key=value]...
//     trains the kit through Experiment.Create(...).Train (the `pcme train` path) on DATA/captions_train.json and writes the
//     test set's mu and h like `pcme embed` (OUT.safetensors + OUT.safetensors.json) for score.py.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pcme.Data;
using Pcme.Runtime;
using Pcme.Training;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

string Arg(string name, string fallback) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback; }
var positional = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--grayscale") continue;
    if (args[i].StartsWith("--", StringComparison.Ordinal)) { i++; continue; }
    positional.Add(args[i]);
}
return positional.FirstOrDefault() switch
{
    "export" when positional.Count == 2 => Export(positional[1]),
    "train" when positional.Count == 4 => Train(positional[1], positional[2], positional[3]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Compare export OUT [--images N] [--train-fraction F] [--val-fraction F] [--seed S] [--grayscale]\n" +
                            "       Compare train DATA CONFIG.yaml OUT.safetensors [--set section.key=value]...");
    return 2;
}

int Export(string outDir)
{
    var options = new SyntheticOptions
    {
        ImageCount = int.Parse(Arg("--images", "1600"), CultureInfo.InvariantCulture),
        TrainFraction = double.Parse(Arg("--train-fraction", "0.64"), CultureInfo.InvariantCulture),
        ValidationFraction = double.Parse(Arg("--val-fraction", "0.06"), CultureInfo.InvariantCulture),
        Seed = int.Parse(Arg("--seed", "0"), CultureInfo.InvariantCulture),
    };
    bool gray = args.Contains("--grayscale");
    Directory.CreateDirectory(Path.Combine(outDir, "images"));
    foreach (var (split, name) in new[] { (SyntheticSplit.Train, "train"), (SyntheticSplit.Validation, "val"), (SyntheticSplit.Test, "test") })
    {
        var set = new SyntheticDataset(options, split);
        var images = new List<object>();
        var annotations = new List<object>();
        for (int i = 0; i < set.Images.Count; i++)
        {
            int g = set.GlobalIndices[i];
            var image = set.LoadImage(i);
            if (gray)
            {
                var p = image.Pixels;
                for (int k = 0; k < p.Length; k += 3)
                    p[k] = p[k + 1] = p[k + 2] = (byte)Math.Clamp(Math.Round(0.299 * p[k] + 0.587 * p[k + 1] + 0.114 * p[k + 2]), 0, 255);
            }
            string file = $"{SyntheticDataset.ImageId(g)}.png";
            File.WriteAllBytes(Path.Combine(outDir, "images", file), PngEncoder.EncodePng(image));
            images.Add(new { id = g + 1, file_name = file, width = image.Width, height = image.Height });
        }
        foreach (var caption in set.Captions)
        {
            int g = set.GlobalIndices[caption.ImageIndex];
            int k = int.Parse(caption.Id[(caption.Id.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture);
            annotations.Add(new { id = g * 10 + k + 1, image_id = g + 1, caption = caption.Text });
        }
        File.WriteAllText(Path.Combine(outDir, $"captions_{name}.json"), JsonSerializer.Serialize(new { images, annotations }));
        Console.WriteLine($"{name}: {set.Images.Count} images, {set.Captions.Count} captions");
    }
    return 0;
}

int Train(string data, string configPath, string outPath)
{
    TorchRuntime.EnsureLoaded();
    var sets = args.Select((a, i) => (a, i)).Where(t => t.a == "--set" && t.i + 1 < args.Length).Select(t => args[t.i + 1]).ToList();
    var config = TrainingConfig.Load(configPath, sets);
    string images = Path.Combine(data, "images");
    var train = CocoCaptionsDataset.LoadCaptions(Path.Combine(data, "captions_train.json"), images);
    var test = CocoCaptionsDataset.LoadCaptions(Path.Combine(data, "captions_test.json"), images);
    string runDir = outPath + ".run";
    if (Directory.Exists(runDir)) Directory.Delete(runDir, true);
    var clock = Stopwatch.StartNew();
    var model = Experiment.Create(config, new ExperimentData(train)).Train(runDir);
    double seconds = clock.Elapsed.TotalSeconds;
    var (img, cap) = model.Embed(test);
    Safetensors.SaveStateDict(outPath, new Dictionary<string, Tensor>
    {
        ["image_mu"] = img.Mean, ["image_h"] = img.LogVariance, ["caption_mu"] = cap.Mean, ["caption_h"] = cap.LogVariance,
    });
    var index = new JsonObject
    {
        ["images"] = new JsonArray(test.Images.Select(i => (JsonNode)JsonValue.Create(i.Id)!).ToArray()),
        ["captions"] = new JsonArray(test.Captions.Select(c => (JsonNode)new JsonObject { ["id"] = c.Id, ["image_id"] = test.Images[c.ImageIndex].Id }).ToArray()),
        ["steps"] = model.Result.History.Count * (int)Math.Ceiling(train.Captions.Count / (double)config.Dataloader.BatchSize),
        ["train_seconds"] = Math.Round(seconds, 1),
    };
    File.WriteAllText(outPath + ".json", index.ToJsonString());
    var last = model.Result.History[^1];
    Console.WriteLine(JsonSerializer.Serialize(new { steps = index["steps"]!.GetValue<int>(), train_seconds = Math.Round(seconds, 1), loss = last.Loss, a = last.NegativeScale, b = last.Shift }));
    return 0;
}
