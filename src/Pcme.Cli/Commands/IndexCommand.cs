using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pcme.Data;
using Pcme.Probabilistic;
using Pcme.Inference;
using Pcme.Retrieval;
using Pcme.Training;
using Spectre.Console;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Pcme.Cli.Commands;

/// <summary><c>pcme index build</c>: an ANN index (USearch HNSW, exact search vectors) over one side of a <c>pcme embed</c> file.</summary>
public static class IndexCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var embeddings = new Option<FileInfo>("--embeddings") { Description = "A `pcme embed` .safetensors file (its FILE.json gives the ids).", Required = true };
        var side = new Option<string>("--side") { Description = "images or captions: which side to index.", Required = true };
        var scorer = new Option<string>("--scorer") { Description = $"One of {string.Join(", ", SearchAugmentation.Names)}.", DefaultValueFactory = _ => "csd" };
        var quantization = new Option<string>("--quantization") { Description = "Vector storage: f32, f16 or i8.", DefaultValueFactory = _ => "f32" };
        var checkpoint = new Option<DirectoryInfo?>("--checkpoint") { Description = "The checkpoint that wrote the embeddings (needed when FILE.json does not record it)." };
        var connectivity = new Option<int>("--connectivity") { Description = "HNSW edges per node.", DefaultValueFactory = _ => 16 };
        var expansionAdd = new Option<int>("--expansion-add") { Description = "HNSW candidate list while inserting.", DefaultValueFactory = _ => 128 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Index folder to write.", Required = true };
        var build = new Command("build", "Build an index over the images or captions of a `pcme embed` file.") { embeddings, side, scorer, quantization, checkpoint, connectivity, expansionAdd, output };
        build.SetAction(r => Build(r.GetValue(embeddings)!, r.GetValue(side)!, r.GetValue(scorer)!, r.GetValue(quantization)!, r.GetValue(checkpoint),
            r.GetValue(connectivity), r.GetValue(expansionAdd), r.GetValue(output)!, Console.Out));
        return new Command("index", "Approximate nearest-neighbour indexes of Gaussian embeddings (exact search vectors per scorer).") { build };
    }

    static int Build(FileInfo file, string side, string scorer, string quantization, DirectoryInfo? checkpoint, int connectivity, int expansionAdd, DirectoryInfo output, TextWriter stdout)
    {
        if (side is not ("images" or "captions")) throw new UserInputException($"--side must be images or captions, not '{side}'.");
        if (!SearchAugmentation.Names.Contains(scorer))
            throw new UserInputException($"--scorer '{scorer}' cannot be indexed; use one of {string.Join(", ", SearchAugmentation.Names)} and re-rank with `pcme search --rerank {scorer}`.");
        var storage = quantization switch
        {
            "f32" => IndexQuantization.F32, "f16" => IndexQuantization.F16, "i8" => IndexQuantization.I8,
            _ => throw new UserInputException($"--quantization must be f32, f16 or i8, not '{quantization}'."),
        };
        if (connectivity < 2 || expansionAdd < 1) throw new UserInputException($"--connectivity must be at least 2 and --expansion-add at least 1 (got {connectivity}, {expansionAdd}).");
        if (!file.Exists) throw new UserInputException($"Embeddings file '{file.FullName}' does not exist; write it with `pcme embed --out {file.Name}`.");
        string sidecar = file.FullName + ".json";
        if (!File.Exists(sidecar)) throw new UserInputException($"'{sidecar}' does not exist; `pcme embed` writes it next to the .safetensors file (it holds the ids).");
        JsonObject meta;
        try { meta = JsonNode.Parse(File.ReadAllText(sidecar))!.AsObject(); }
        catch (JsonException e) { throw new UserInputException($"'{sidecar}' is not valid JSON ({e.Message}); rewrite it with `pcme embed`."); }

        if (meta["embeddings_per_item"] is JsonValue k && k.GetValue<int>() > 1)
            throw new UserInputException($"'{sidecar}' holds {k} embeddings per item ({meta["method"]}): their score is the best of K^2 cosines, which no " +
                                         "single inner-product index serves exactly; search them with `pcme eval` (max-cosine) instead.");
        Dictionary<string, Tensor> tensors;
        try { tensors = Safetensors.LoadStateDict(file.FullName); }
        catch (Exception e) when (e is not OutOfMemoryException) { throw new UserInputException($"'{file.FullName}' cannot be read as safetensors ({e.Message})."); }
        string prefix = side == "images" ? "image" : "caption";
        if (!tensors.TryGetValue(prefix + "_mu", out var mu) || !tensors.TryGetValue(prefix + "_h", out var h))
            throw new UserInputException($"'{file.FullName}' has no {prefix}_mu / {prefix}_h; write it with `pcme embed`.");

        var (ids, labels) = side == "images"
            ? (Strings(meta, "images", sidecar, n => n.GetValue<string>()), meta["image_files"] is JsonArray f ? f.Select(n => n?.GetValue<string>() ?? "").ToArray() : null)
            : (Strings(meta, "captions", sidecar, n => n["id"]!.GetValue<string>()), Strings(meta, "captions", sidecar, n => n["text"]?.GetValue<string>() ?? ""));
        if (ids.Length != mu.shape[0]) throw new UserInputException($"'{sidecar}' lists {ids.Length} {side} but '{file.Name}' holds {mu.shape[0]}; they are from different runs of `pcme embed`.");

        string? recorded = meta["checkpoint_sha256"]?.GetValue<string>();
        string? given = checkpoint is null ? null : HashOf(checkpoint);
        if (recorded is not null && given is not null && recorded != given)
            throw new UserInputException($"'{sidecar}' was written by checkpoint {recorded[..12]}, not --checkpoint {checkpoint!.FullName} ({given[..12]}); pass the checkpoint that wrote it.");
        string hash = recorded ?? given ?? throw new UserInputException($"'{sidecar}' does not record its checkpoint; pass --checkpoint CK (the one `pcme embed` used).");

        var gallery = new GaussianEmbedding(mu.to(float32), h.to(float32)).Validate();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var index = GaussianIndex.Build(gallery, scorer, ids, new GaussianIndexOptions(storage, connectivity, expansionAdd), side, hash, labels);
        index.Save(output.FullName);
        stdout.WriteLine($"wrote {output.FullName}: {index.Count} {side}, scorer {scorer}, D={index.Dimension} (search vectors of {index.Width}, {quantization}), " +
            $"{index.SerializedBytes / 1e6:F1} MB, built in {sw.Elapsed.TotalSeconds:F1} s");
        return ExitCodes.Ok;
    }

    static string[] Strings(JsonObject meta, string key, string file, Func<JsonNode, string> read)
    {
        if (meta[key] is not JsonArray a) throw new UserInputException($"'{file}' has no '{key}' list; rewrite it with `pcme embed`.");
        try { return a.Select(n => read(n!)).ToArray(); }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
        { throw new UserInputException($"'{file}': '{key}' is not what `pcme embed` writes ({e.Message})."); }
    }

    internal static string HashOf(DirectoryInfo checkpoint)
    {
        if (!checkpoint.Exists) throw new UserInputException($"Checkpoint folder '{checkpoint.FullName}' does not exist. Pass RUN/checkpoints/best from pcme train.");
        return GaussianIndex.CheckpointHash(checkpoint.FullName);
    }
}

/// <summary><c>pcme search</c>: a text or image query, encoded by the checkpoint's model, against an index built by <c>pcme index build</c>.</summary>
public static class SearchCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var index = new Option<DirectoryInfo>("--index") { Description = "Index folder (pcme index build --out).", Required = true };
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "The checkpoint whose embeddings the index holds (it encodes the query).", Required = true };
        var text = new Option<string?>("--text") { Description = "A caption to search an index of images with." };
        var image = new Option<FileInfo?>("--image") { Description = "An image file to search an index of captions with." };
        var k = new Option<int>("-k") { Description = "Results to show.", DefaultValueFactory = _ => 10 };
        var rerank = new Option<string?>("--rerank") { Description = $"Re-score the candidates exactly with this scorer (any of {string.Join(", ", Scorer.Names)})." };
        var candidates = new Option<int>("--candidates") { Description = "Candidates the index proposes for re-scoring (default: 10 x k with --rerank, else k).", DefaultValueFactory = _ => 0 };
        var width = new Option<int?>("--width") { Description = "Search width (HNSW ef; default: the index's, at least the candidates)." };
        var json = new Option<bool>("--json") { Description = "Print {query, query_sigma, hits: [{id, score, sigma}]}." };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("search", "Search an index with a caption (--text) or an image (--image) encoded by the checkpoint's model.")
            { index, checkpoint, text, image, k, rerank, candidates, width, json, device };
        cmd.SetAction(r => Run(r.GetValue(index)!, r.GetValue(checkpoint)!, r.GetValue(text), r.GetValue(image), r.GetValue(k), r.GetValue(rerank),
            r.GetValue(candidates), r.GetValue(width), r.GetValue(json), r.GetValue(device)!, Console.Out));
        return cmd;
    }

    static int Run(DirectoryInfo indexDir, DirectoryInfo checkpoint, string? text, FileInfo? image, int k, string? rerank, int candidates, int? width, bool json, string device, TextWriter stdout)
    {
        if ((text is null) == (image is null)) throw new UserInputException("Give exactly one query: --text \"a caption\" (searches images) or --image FILE (searches captions).");
        if (k < 1) throw new UserInputException($"-k must be at least 1 (got {k}).");
        if (candidates < 0 || width is < 1) throw new UserInputException("--candidates and --width must be positive.");
        if (rerank is not null && !Scorer.Names.Contains(rerank)) throw new UserInputException($"Unknown --rerank scorer '{rerank}'. Choose one of: {string.Join(", ", Scorer.Names)}.");
        if (!indexDir.Exists) throw new UserInputException($"Index folder '{indexDir.FullName}' does not exist; build it with `pcme index build --out {indexDir.Name}`.");
        var dev = EmbedCommand.Resolve(device);
        string hash = IndexCommand.HashOf(checkpoint);
        var model = EmbedCommand.LoadCheckpoint(checkpoint, dev);
        string side = text is not null ? "images" : "captions";
        using var index = GaussianIndex.Load(indexDir.FullName, new IndexExpectation(Dimension: model.Architecture.EmbedDim, CheckpointHash: hash));
        if (index.Side != side)
            throw new UserInputException($"Index '{indexDir.FullName}' holds {index.Side}; {(text is not null ? "--text searches images" : "--image searches captions")}: build the index with --side {side}.");

        GaussianEmbedding query;
        if (text is not null)
        {
            try { query = DatasetEmbedder.EmbedTexts(model.Model, model.Vocabulary, [text], dev); }
            catch (ArgumentException e) { throw new UserInputException(e.Message); }
        }
        else
        {
            if (!image!.Exists) throw new UserInputException($"Image '{image.FullName}' does not exist.");
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var pixels = model.EvalPipeline.Load(image.FullName, new Random(0)).unsqueeze(0).to(dev);
            var o = model.Model.EncodeImages(pixels);
            query = new GaussianEmbedding(o.Embedding.Mean.cpu().MoveToOuterDisposeScope(), o.Embedding.LogVariance.cpu().MoveToOuterDisposeScope());
        }
        int c = candidates > 0 ? Math.Max(candidates, k) : rerank is not null ? 10 * k : k;
        if (width is { } w) index.ExpansionSearch = w;
        Scorer? exact = rerank is null ? null
            : model.CreateScorer(rerank);
        var hits = index.Search(query, k, exact, c, new Generator(0))[0];
        double querySigma = query.Uncertainty().item<float>();
        string queryText = text ?? image!.FullName;
        string scoredBy = rerank ?? index.ScorerName;

        if (json)
        {
            var doc = new JsonObject
            {
                ["query"] = queryText, ["query_sigma"] = querySigma, ["index"] = indexDir.FullName, ["side"] = index.Side,
                ["scorer"] = index.ScorerName, ["rerank"] = rerank, ["candidates"] = c,
                ["hits"] = new JsonArray(hits.Select(x => (JsonNode)new JsonObject
                {
                    ["id"] = x.Id, ["score"] = x.Score, ["sigma"] = x.Sigma, ["label"] = index.Labels?[(int)x.Index],
                }).ToArray()),
            };
            stdout.WriteLine(doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        }
        var table = new Table().Title($"{Markup.Escape(queryText)}  (sigma {querySigma:G4}; {index.Count} {index.Side}, {scoredBy} scores of {c} candidates)")
            .AddColumn("rank").AddColumn("id").AddColumn(scoredBy).AddColumn("sigma");
        if (index.Labels is not null) table.AddColumn(index.Side == "images" ? "file" : "caption");
        for (int i = 0; i < hits.Length; i++)
        {
            var row = new List<string> { (i + 1).ToString(CultureInfo.InvariantCulture), Markup.Escape(hits[i].Id), hits[i].Score.ToString("G6", CultureInfo.InvariantCulture), hits[i].Sigma.ToString("G4", CultureInfo.InvariantCulture) };
            if (index.Labels is not null) row.Add(Markup.Escape(index.Labels[(int)hits[i].Index]));
            table.AddRow(row.ToArray());
        }
        if (hits.Length == 0) stdout.WriteLine("the index is empty");
        else AnsiConsole.Write(table);
        return ExitCodes.Ok;
    }
}
