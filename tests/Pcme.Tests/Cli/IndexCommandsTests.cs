using System.Text.Json.Nodes;
using Pcme.Cli;
using Pcme.Probabilistic;
using Pcme.Retrieval;
using Pcme.Tests.Data;
using TorchSharp.PyBridge;

namespace Pcme.Tests.Cli;

/// <summary>train -> embed -> index build -> search on a tiny synthetic set, and one clear line (exit 2) for each mismatch.</summary>
[Collection("torch-global")]
public class IndexCommandsTests
{
    static (int Code, string Out, string Err) Pcme(params string[] args) => CommandsTests.Pcme(args);

    [Fact]
    public void Index_build_and_search_find_the_exact_top_k_and_refuse_mismatches_with_one_line()
    {
        string run = Path.Combine(Path.GetTempPath(), $"pcme-index-cli-{Guid.NewGuid():N}");
        try
        {
            var train = Pcme("train", "--dataset", "synthetic", "--synthetic-images", "60", "--out", run, "--set", "train.pretrain_epochs=1", "--set", "model.embed_dim=8");
            Assert.True(train.Code == 0, train.Err);
            string best = Path.Combine(run, "checkpoints", "best");
            string emb = Path.Combine(run, "emb.safetensors");
            Assert.True(Pcme("embed", "--checkpoint", best, "--dataset", "synthetic", "--synthetic-images", "60", "--out", emb).Code == 0);
            var meta = JsonNode.Parse(File.ReadAllText(emb + ".json"))!;
            Assert.Equal(GaussianIndex.CheckpointHash(best), (string)meta["checkpoint_sha256"]!);

            string images = Path.Combine(run, "idx-images"), captions = Path.Combine(run, "idx-captions");
            var build = Pcme("index", "build", "--embeddings", emb, "--side", "images", "--scorer", "csd", "--quantization", "f16", "--out", images);
            Assert.True(build.Code == 0, build.Err);
            Assert.Contains("6 images, scorer csd, D=8", build.Out);
            Assert.True(Pcme("index", "build", "--embeddings", emb, "--side", "captions", "--scorer", "kl", "--out", captions).Code == 0);

            // A caption of the test split searches the images: k > 6 gives all 6, best first, with each image's sigma.
            string text = (string)meta["captions"]![0]!["text"]!;
            var search = Pcme("search", "--index", images, "--checkpoint", best, "--text", text, "-k", "10", "--json");
            Assert.True(search.Code == 0, search.Err);
            var doc = JsonNode.Parse(search.Out)!;
            Assert.Equal(text, (string)doc["query"]!);
            Assert.True((double)doc["query_sigma"]! > 0);
            var hits = doc["hits"]!.AsArray();
            Assert.Equal(6, hits.Count);
            var tensors = Safetensors.LoadStateDict(emb);
            var gallery = new GaussianEmbedding(tensors["image_mu"], tensors["image_h"]);
            var ids = meta["images"]!.AsArray().Select(n => (string)n!).ToArray();
            var scores = hits.Select(h => (double)h!["score"]!).ToArray();
            Assert.Equal(scores.OrderByDescending(s => s), scores);
            Assert.Equal(ids.Order(), hits.Select(h => (string)h!["id"]!).Order());
            var sigma = gallery.Uncertainty().data<float>().ToArray();
            foreach (var h in hits) TensorData.Close(sigma[Array.IndexOf(ids, (string)h!["id"]!)], (double)h["sigma"]!, rel: 1e-5);

            // Re-ranking with ELK, and the table form.
            var elk = Pcme("search", "--index", images, "--checkpoint", best, "--text", text, "-k", "3", "--rerank", "elk", "--candidates", "6", "--json");
            Assert.True(elk.Code == 0, elk.Err);
            Assert.Equal("elk", (string)JsonNode.Parse(elk.Out)!["rerank"]!);
            Assert.Equal(3, JsonNode.Parse(elk.Out)!["hits"]!.AsArray().Count);

            // An image query searches the captions.
            string png = Path.Combine(run, "query.png");
            File.WriteAllBytes(png, ImageFiles.Png(64, 64, (x, y) => ((byte)(x * 4), (byte)(y * 4), 128)));
            var byImage = Pcme("search", "--index", captions, "--checkpoint", best, "--image", png, "-k", "4", "--json");
            Assert.True(byImage.Code == 0, byImage.Err);
            var imageHits = JsonNode.Parse(byImage.Out)!["hits"]!.AsArray();
            Assert.Equal(4, imageHits.Count);
            Assert.All(imageHits, h => Assert.False(string.IsNullOrEmpty((string?)h!["label"])));   // the caption's text

            // Mismatches: another checkpoint's index, another D, the wrong side, bad options: exit 2, one line.
            string otherCk = Path.Combine(run, "idx-other-ck"), otherD = Path.Combine(run, "idx-other-d");
            foreach (var (dir, key, value) in new[] { (otherCk, "checkpoint_sha256", (JsonNode)"00000000000000000000"), (otherD, "dim", (JsonNode)16) })
            {
                Directory.CreateDirectory(dir);
                foreach (var f in Directory.GetFiles(images)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
                var sidecar = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "index.json")))!;
                sidecar[key] = value;
                File.WriteAllText(Path.Combine(dir, "index.json"), sidecar.ToJsonString());
            }
            foreach (var (args, needle) in new (string[], string)[]
            {
                (["search", "--index", otherCk, "--checkpoint", best, "--text", text], "was built from checkpoint 000000000000"),
                (["search", "--index", otherD, "--checkpoint", best, "--text", text], "D=16 embeddings but the queries have D=8"),
                (["search", "--index", captions, "--checkpoint", best, "--text", text], "--text searches images"),
                (["search", "--index", images, "--checkpoint", best, "--text", "zzzz qqqq"], "no word of the model's vocabulary"),
                (["search", "--index", images, "--checkpoint", best, "--text", text, "--rerank", "elkk"], "elkk"),
                (["search", "--index", images, "--checkpoint", best], "exactly one query"),
                (["index", "build", "--embeddings", emb, "--side", "images", "--scorer", "elk", "--out", run + "/x"], "--rerank elk"),
                (["index", "build", "--embeddings", emb, "--side", "pictures", "--out", run + "/x"], "pictures"),
                (["index", "build", "--embeddings", emb, "--side", "images", "--quantization", "i4", "--out", run + "/x"], "i4"),
                (["index", "build", "--embeddings", run + "/none.safetensors", "--side", "images", "--out", run + "/x"], "none.safetensors"),
            })
            {
                var (code, _, err) = Pcme(args);
                Assert.True(code == ExitCodes.BadInput, $"{string.Join(' ', args)} -> {code}: {err}");
                Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.Contains(needle, err);
            }
        }
        finally { if (Directory.Exists(run)) Directory.Delete(run, true); }
    }
}
