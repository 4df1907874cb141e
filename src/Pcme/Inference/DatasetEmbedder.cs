using Pcme.Data;
using Pcme.Modules;
using Pcme.Probabilistic;
using static TorchSharp.torch;

namespace Pcme.Inference;

/// <summary>Embeds every image and caption of a data set with a trained model (eval mode, no grad, batched).</summary>
public static class DatasetEmbedder
{
    /// <summary>All images as Gaussian embeddings on the CPU, in data set order.</summary>
    public static GaussianEmbedding EmbedImages(PcmeModel model, ICrossModalDataset dataset, ImagePipeline pipeline, int batchSize, Device device, GridFeatureCache? cache = null)
    {
        model.eval();
        var means = new List<Tensor>(); var logVars = new List<Tensor>();
        for (int s = 0; s < dataset.Images.Count; s += batchSize)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var idx = Enumerable.Range(s, Math.Min(batchSize, dataset.Images.Count - s)).ToArray();
            var o = cache is not null
                ? model.EncodeGrids(cache.ReadIds(idx.Select(i => dataset.Images[i].Id).ToArray(), device))
                : model.EncodeImages(pipeline.LoadBatch(dataset, idx, new Random(0), device: device));
            means.Add(o.Embedding.Mean.cpu().MoveToOuterDisposeScope());
            logVars.Add(o.Embedding.LogVariance.cpu().MoveToOuterDisposeScope());
        }
        return new GaussianEmbedding(cat(means, 0), cat(logVars, 0));
    }

    /// <summary>
    /// All captions as Gaussian embeddings on the CPU, in data set order. Captions with no known word
    /// are encoded as a lone &lt;unk&gt; so every caption keeps its row (their count is returned).
    /// </summary>
    public static (GaussianEmbedding Embedding, int UnknownOnly) EmbedCaptions(PcmeModel model, ICrossModalDataset dataset, Vocabulary vocabulary, int batchSize, Device device)
    {
        model.eval();
        int unknownOnly = 0;
        var ids = dataset.Captions.Select(c =>
        {
            if (vocabulary.TryEncode(c.Text, c.Id, out var e, out _)) return e;
            unknownOnly++;
            return new long[] { Vocabulary.StartId, Vocabulary.UnknownId, Vocabulary.EndId };
        }).ToArray();
        return (EncodeTokenIds(model, ids, batchSize, device), unknownOnly);
    }

    /// <summary>
    /// Any caption texts (not only a data set's, e.g. "a red shape" to compare with "a red circle") as
    /// Gaussian embeddings on the CPU, in the given order. Unlike <see cref="EmbedCaptions"/>, a text
    /// with no word of <paramref name="vocabulary"/> is an error naming it, since its embedding would mean nothing.
    /// </summary>
    public static GaussianEmbedding EmbedTexts(PcmeModel model, Vocabulary vocabulary, IReadOnlyList<string> texts, Device device, int batchSize = 256)
    {
        if (texts.Count == 0) throw new ArgumentException("Need at least one text to embed.", nameof(texts));
        var ids = texts.Select((t, i) => vocabulary.TryEncode(t, $"text-{i}", out var e, out _) ? e
            : throw new ArgumentException($"Text {i} ('{t}') has no word of the model's vocabulary; use words of its training captions.", nameof(texts))).ToArray();
        return EncodeTokenIds(model, ids, batchSize, device);
    }

    /// <summary>Encodes token id sequences in batches (eval mode, no grad); results on the CPU.</summary>
    static GaussianEmbedding EncodeTokenIds(PcmeModel model, long[][] ids, int batchSize, Device device)
    {
        model.eval();
        var means = new List<Tensor>(); var logVars = new List<Tensor>();
        for (int s = 0; s < ids.Length; s += batchSize)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var (tokens, lengths) = TokenBatch.Pad(ids.Skip(s).Take(batchSize).ToArray(), device);
            var o = model.EncodeCaptions(tokens, lengths);
            means.Add(o.Embedding.Mean.cpu().MoveToOuterDisposeScope());
            logVars.Add(o.Embedding.LogVariance.cpu().MoveToOuterDisposeScope());
        }
        return new GaussianEmbedding(cat(means, 0), cat(logVars, 0));
    }
}
