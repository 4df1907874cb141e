using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pcme.Inference;
using Pcme.Runtime;
using Pcme.Training;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Pcme.Cli.Commands;

/// <summary><c>pcme embed</c>: mu and h of every image and caption of a data set, as safetensors + a JSON index.</summary>
public static class EmbedCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "Checkpoint folder (RUN/checkpoints/best).", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Output .safetensors file; FILE.json gets the ids.", Required = true };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var data = new DatasetArguments();
        var cmd = new Command("embed", "Write mu and h (log-variance) of every image and caption of a data set.") { checkpoint, output, device };
        data.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var path = r.GetValue(output)!.FullName;
            AtomicFile.RequireWritable(path);   // before the work, not after it
            var dev = Resolve(r.GetValue(device)!);
            var model = LoadCheckpoint(r.GetValue(checkpoint)!, dev);
            var ds = data.Load(r, DatasetRole.Test)!;
            var img = DatasetEmbedder.EmbedImages(model.Model, ds, model.EvalPipeline, model.Config.Dataloader.EvalBatchSize, dev);
            var (cap, unknown) = DatasetEmbedder.EmbedCaptions(model.Model, ds, model.Vocabulary, model.Config.Dataloader.EvalBatchSize, dev);
            // Temp-then-rename: writing over a larger existing file must not leave its trailing bytes.
            AtomicFile.Write(path, tmp => Safetensors.SaveStateDict(tmp, new Dictionary<string, Tensor>
            {
                ["image_mu"] = img.Mean, ["image_h"] = img.LogVariance, ["caption_mu"] = cap.Mean, ["caption_h"] = cap.LogVariance,
            }));
            var index = new JsonObject
            {
                ["dataset"] = ds.Name,
                // Which model wrote these embeddings: `pcme index build` records it and `pcme search` checks it.
                ["checkpoint"] = r.GetValue(checkpoint)!.FullName,
                ["checkpoint_sha256"] = Pcme.Retrieval.GaussianIndex.CheckpointHash(r.GetValue(checkpoint)!.FullName),
                ["log_variance"] = "h = log sigma^2 (official PCME logsigma = h / 2)",
                ["method"] = model.Architecture.Method,
                // PVSE: each row is K unit vectors of D concatenated (score with max-cosine), not one D*K embedding.
                ["embeddings_per_item"] = model.Architecture.EmbeddingsPerItem,
                ["images"] = new JsonArray(ds.Images.Select(i => (JsonNode)JsonValue.Create(i.Id)!).ToArray()),
                ["image_files"] = new JsonArray(ds.Images.Select(i => (JsonNode?)JsonValue.Create(i.Path)).ToArray()),
                ["captions"] = new JsonArray(ds.Captions.Select(c => (JsonNode)new JsonObject { ["id"] = c.Id, ["image_id"] = ds.Images[c.ImageIndex].Id, ["text"] = c.Text }).ToArray()),
                ["captions_without_known_words"] = unknown,
            };
            AtomicFile.WriteAllText(path + ".json", index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"wrote {path} ({ds.Images.Count} images, {ds.Captions.Count} captions, D={img.Dimension}) and {path}.json");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    internal static Device Resolve(string name)
    {
        try { return DeviceResolver.Resolve(name); }
        catch (ArgumentException e) { throw new UserInputException(e.Message); }
    }

    internal static TrainedModel LoadCheckpoint(DirectoryInfo dir, Device device)
    {
        if (!dir.Exists) throw new UserInputException($"Checkpoint folder '{dir.FullName}' does not exist. Pass RUN/checkpoints/best from pcme train.");
        try { return Experiment.Load(dir.FullName, device); }
        catch (ConfigException e) { throw new UserInputException(e.Message); }
        catch (Pcme.Modules.WeightFileException e) { throw new UserInputException(e.Message); }
    }
}
