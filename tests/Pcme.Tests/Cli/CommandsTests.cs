using System.Text.Json.Nodes;
using Pcme.Cli;
using TorchSharp.PyBridge;

namespace Pcme.Tests.Cli;

/// <summary>train -> eval -> embed end to end on a tiny synthetic set, and one clear line for each kind of bad input.</summary>
[Collection("torch-global")]
public class CommandsTests
{
    /// <summary>Runs <c>pcme</c> in-process, capturing stdout and stderr.</summary>
    internal static (int Code, string Out, string Err) Pcme(params string[] args)
    {
        var stdout = Console.Out; var stderr = Console.Error;
        var o = new StringWriter(); var e = new StringWriter();
        Console.SetOut(o); Console.SetError(e);
        try { return (Program.Main(args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(stdout); Console.SetError(stderr); }
    }

    [Fact]
    public void A_method_switched_on_the_command_line_trains_evaluates_and_embeds_with_its_own_scorer()
    {
        string run = Path.Combine(Path.GetTempPath(), $"pcme-cli-{Guid.NewGuid():N}");
        try
        {
            // The synthetic config's criterion section is PCME's: --set criterion.name resets it to PVSE's official defaults.
            var train = Pcme("train", "--dataset", "synthetic", "--synthetic-images", "60", "--out", run, "--set", "criterion.name=pvse",
                "--set", "train.pretrain_epochs=1", "--set", "model.embed_dim=8");
            Assert.True(train.Code == 0, train.Err + train.Out);
            Assert.Contains("max-cosine", train.Out);                          // validated with PVSE's best-of-K^2 cosine
            string best = Path.Combine(run, "checkpoints", "best");
            var eval = Pcme("eval", "--checkpoint", best, "--dataset", "synthetic", "--synthetic-images", "60", "--scorer", "all", "--json");
            Assert.True(eval.Code == 0, eval.Err);
            Assert.Equal(["max-cosine"], JsonNode.Parse(eval.Out)!["results"]!.AsArray().Select(x => (string)x!["scorer"]!));
            var bad = Pcme("eval", "--checkpoint", best, "--dataset", "synthetic", "--synthetic-images", "60", "--scorer", "mc");
            Assert.Equal(2, bad.Code);
            Assert.Contains("match logit", bad.Err);
            string emb = Path.Combine(run, "emb.safetensors");
            Assert.Equal(0, Pcme("embed", "--checkpoint", best, "--dataset", "synthetic", "--synthetic-images", "60", "--out", emb).Code);
            Assert.Equal(new long[] { 6, 16 }, Safetensors.LoadStateDict(emb)["image_mu"].shape);   // K = 2 unit vectors of D = 8 per item
            Assert.Equal(2, (int)JsonNode.Parse(File.ReadAllText(emb + ".json"))!["embeddings_per_item"]!);
            var index = Pcme("index", "build", "--embeddings", emb, "--side", "images", "--scorer", "cosine", "--out", Path.Combine(run, "idx"));
            Assert.Equal(2, index.Code);                                        // no inner-product index serves the best of K^2 exactly
            Assert.Contains("max-cosine", index.Err);
        }
        finally { if (Directory.Exists(run)) Directory.Delete(run, true); }
    }

    [Fact]
    public void Train_eval_and_embed_work_end_to_end_and_reject_bad_input_with_one_line()
    {
        string run = Path.Combine(Path.GetTempPath(), $"pcme-cli-{Guid.NewGuid():N}");
        try
        {
            var train = Pcme("train", "--dataset", "synthetic", "--synthetic-images", "60", "--out", run, "--set", "train.pretrain_epochs=1", "--set", "model.embed_dim=8");
            Assert.True(train.Code == 0, train.Err);
            string best = Path.Combine(run, "checkpoints", "best");
            Assert.True(File.Exists(Path.Combine(best, "model.safetensors")));

            var eval = Pcme("eval", "--checkpoint", best, "--dataset", "synthetic", "--synthetic-images", "60", "--scorer", "all", "--json");
            Assert.True(eval.Code == 0, eval.Err);
            var doc = JsonNode.Parse(eval.Out)!;
            var scorers = doc["results"]!.AsArray().Select(x => (string)x!["scorer"]!).ToArray();
            Assert.Equal(["cosine", "l2", "mc", "matmul", "elk", "wasserstein", "kl", "reverse-kl", "js", "bhattacharyya", "csd",
                "official-kl", "official-reverse-kl", "official-min", "official-max"], scorers);
            Assert.All(doc["results"]!.AsArray(), x => Assert.InRange((double)x!["metrics"]!["t2i"]!["r_precision"]!, 0, 100));
            Assert.All(doc["results"]!.AsArray(), x => Assert.InRange((double)x!["metrics"]!["i2t"]!["precision"]!["5"]!, 0, 100));

            string emb = Path.Combine(run, "emb.safetensors");
            var embed = Pcme("embed", "--checkpoint", best, "--dataset", "synthetic", "--synthetic-images", "60", "--out", emb);
            Assert.True(embed.Code == 0, embed.Err);
            var tensors = Safetensors.LoadStateDict(emb);
            Assert.Equal(new long[] { 6, 8 }, tensors["image_mu"].shape);      // 10% test split of 60 images, D = 8
            Assert.Equal(new long[] { 30, 8 }, tensors["caption_h"].shape);
            var index = JsonNode.Parse(File.ReadAllText(emb + ".json"))!;
            Assert.Equal(30, index["captions"]!.AsArray().Count);

            // Bad input: each is exit code 2 and one line on stderr naming the problem.
            foreach (var (args, needle) in new (string[], string)[]
            {
                (["eval", "--checkpoint", best, "--dataset", "synthetic", "--synthetic-images", "60", "--scorer", "cosin"], "cosin"),
                (["eval", "--checkpoint", "/nonexistent/ckpt", "--dataset", "synthetic"], "/nonexistent/ckpt"),
                (["train", "--dataset", "synthetic", "--out", run + "x", "--set", "train.sed=3"], "sed"),
                (["train", "--dataset", "coco", "--config", Path.Combine(RepoPaths.Root, "configs", "coco.yaml"), "--out", run + "y", "--captions", "/nonexistent/captions.json", "--images", "/tmp"], "/nonexistent/captions.json"),
                (["train", "--dataset", "cub", "--config", "/nonexistent/cub.yaml", "--out", run + "z"], "/nonexistent/cub.yaml"),
                (["eval", "--checkpoint", best, "--dataset", "imagenet"], "imagenet"),
                (["train", "--dataset", "synthetic", "--out", run + "x", "--set", "optimizer.name=adamq"], "optimizer.name"),
                (["ablate", "--methods", "pcme,vse+", "--out", run + "a"], "vse+"),
                (["ablate", "--seeds", "0,x", "--out", run + "a"], "--seeds"),
                (["ablate", "--positives", "own", "--out", run + "a"], "own"),
                (["train", "--dataset", "synthetic", "--out", run + "x", "--set", "criterion.name=vse++", "--set", "criterion.vib_beta=0.1"], "criterion.vib_beta"),
                (["train", "--dataset", "synthetic", "--out", run + "x", "--set", "train.pretrain_epochs=-1"], "train.pretrain_epochs"),
                (["train", "--dataset", "synthetic", "--out", run + "x", "--set", "model.n_samples_inference=0"], "model.n_samples_inference"),
                (["train", "--dataset", "synthetic", "--out", run + "x", "--set", "criterion.name=vsepp"], "vsepp"),
                (["train", "--dataset", "synthetic", "--out", run + "x", "--set", "lr_scheduler.name=step"], "lr_scheduler.name"),
                (["train", "--dataset", "synthetic", "--out", run + "x", "--relevance", "/nonexistent/rel.json"], "/nonexistent/rel.json"),
            })
            {
                var (code, _, err) = Pcme(args);
                Assert.True(code == ExitCodes.BadInput, $"{string.Join(' ', args)} -> {code}: {err}");
                Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.Contains(needle, err);
            }

            // A checkpoint of another architecture: rewrite its state to claim D = 16.
            string other = Path.Combine(run, "other");
            CopyDirectory(best, other);
            string statePath = Path.Combine(other, "state.json");
            var state = JsonNode.Parse(File.ReadAllText(statePath))!;
            state["Architecture"]!["EmbedDim"] = 16;
            File.WriteAllText(statePath, state.ToJsonString());
            var arch = Pcme("eval", "--checkpoint", other, "--dataset", "synthetic", "--synthetic-images", "60");
            Assert.Equal(ExitCodes.BadInput, arch.Code);
            Assert.Contains("model.safetensors", arch.Err);
        }
        finally { foreach (var d in new[] { run, run + "x", run + "y", run + "z" }) if (Directory.Exists(d)) Directory.Delete(d, true); }
    }

    static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }
}
