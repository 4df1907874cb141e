using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pcme.Data;
using Pcme.Evaluation;
using Pcme.Inference;
using Pcme.Retrieval;
using Pcme.Training;
using Spectre.Console;

namespace Pcme.Cli.Commands;

/// <summary><c>pcme eval</c>: every test-time scorer's R@K, R-Precision, mAP@R and (with labels) PMRP, both directions.</summary>
public static class EvalCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "Checkpoint folder (RUN/checkpoints/best).", Required = true };
        var scorer = new Option<string>("--scorer") { Description = $"One of {string.Join(", ", Scorer.Names)}, or all.", DefaultValueFactory = _ => "all" };
        var relevance = new Option<FileInfo?>("--relevance") { Description = "JSON relevance file: caption id -> relevant image ids." };
        var protocol = new Option<string>("--protocol") { Description = "whole (the data set as one gallery), coco-1k (mean of 5 folds) or coco-5k.", DefaultValueFactory = _ => "whole" };
        var json = new Option<bool>("--json") { Description = "One JSON document with every metric per scorer and direction." };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var data = new DatasetArguments();
        var cmd = new Command("eval", "Evaluate a checkpoint with every test-time variant.") { checkpoint, scorer, relevance, protocol, json, device };
        data.AddTo(cmd);
        cmd.SetAction(r =>
        {
            string name = r.GetValue(scorer)!;
            if (name != "all" && !Scorer.Names.Contains(name)) throw new UserInputException($"Unknown scorer '{name}'. Choose one of: {string.Join(", ", Scorer.Names)}, all.");
            string proto = r.GetValue(protocol)!;
            var evalProtocol = ModelEvaluation.ParseProtocol(proto) ?? throw new UserInputException($"Unknown protocol '{proto}'. Use whole, coco-1k or coco-5k.");
            var dev = EmbedCommand.Resolve(r.GetValue(device)!);
            var model = EmbedCommand.LoadCheckpoint(r.GetValue(checkpoint)!, dev);
            var ds = data.Load(r, DatasetRole.Test)!;
            if (r.GetValue(relevance) is { } rel)
            {
                if (!rel.Exists) throw new UserInputException($"Relevance file '{rel.FullName}' does not exist.");
                ds = ds.WithRelevanceFile(rel.FullName);
            }
            // Checked before the embedding work, not after it.
            const int oneK = CocoProtocol.DefaultFoldSize * CocoProtocol.DefaultFoldCount;
            if (proto == "coco-1k" && ds.Images.Count < oneK)
                throw new UserInputException($"--protocol coco-1k needs {CocoProtocol.DefaultFoldCount} folds of {CocoProtocol.DefaultFoldSize} images ({oneK}); {ds.Name} has {ds.Images.Count}. " +
                                             "Use the Karpathy test split (5,000 images), or --protocol whole.");
            var images = DatasetEmbedder.EmbedImages(model.Model, ds, model.EvalPipeline, model.Config.Dataloader.EvalBatchSize, dev);
            var (captions, unknown) = DatasetEmbedder.EmbedCaptions(model.Model, ds, model.Vocabulary, model.Config.Dataloader.EvalBatchSize, dev);
            var names = name == "all" ? model.NaturalScorers : [name];
            var scorers = names.Select(model.CreateScorer).ToArray();

            var results = new JsonArray();
            var table = new Table().Title($"{ds.Name}: {ds.Images.Count} images, {ds.Captions.Count} captions ({proto})")
                .AddColumn("scorer").AddColumn("dir").AddColumn("R@1").AddColumn("R@5").AddColumn("R@10");
            int[] precisionKs = [1, 5, 10, 50, 100];   // EvaluationOptions' default: the official CUB evaluator's P@5-P@100, and P@1
            foreach (var k in precisionKs) table.AddColumn($"P@{k}");
            table.AddColumn("R-P").AddColumn("mAP@R").AddColumn("PMRP");
            foreach (var result in ModelEvaluation.Evaluate(images, captions, ds, scorers, protocol: evalProtocol))
            {
                var m = result.Metrics;
                results.Add(new JsonObject { ["scorer"] = result.Scorer, ["metrics"] = m.ToJson() });
                foreach (var (dir, x) in new[] { ("i2t", m.ImageToText), ("t2i", m.TextToImage) })
                    table.AddRow([result.Scorer, dir, F(x.RecallAt(1)), F(x.RecallAt(5)), F(x.RecallAt(10)),
                        .. precisionKs.Select(k => x.HasPrecisionAt(k) ? F(x.PrecisionAt(k)) : "-"),
                        F(x.RPrecision), F(x.MapAtR), x.Pmrp is { } pm ? F(pm.Mean) : "-"]);
            }
            if (r.GetValue(json))
            {
                var doc = new JsonObject
                {
                    ["checkpoint"] = r.GetValue(checkpoint)!.FullName, ["dataset"] = ds.Name, ["protocol"] = proto,
                    ["images"] = ds.Images.Count, ["captions"] = ds.Captions.Count, ["captions_without_known_words"] = unknown,
                    ["skipped_while_loading"] = ds.Skipped.Count, ["results"] = results,
                };
                Console.WriteLine(doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                AnsiConsole.Write(table);
                if (ds.Skipped.Count > 0) Console.WriteLine($"{ds.Skipped.Count} items were skipped while loading (first: {ds.Skipped[0].Source}: {ds.Skipped[0].Reason}).");
                if (unknown > 0) Console.WriteLine($"{unknown} captions have no word in the model's vocabulary (encoded as <unk>).");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
