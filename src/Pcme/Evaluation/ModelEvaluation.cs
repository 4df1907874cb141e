using System.Diagnostics;
using System.Text.Json.Nodes;
using Pcme.Data;
using Pcme.Probabilistic;
using Pcme.Retrieval;
using static TorchSharp.torch;

namespace Pcme.Evaluation;

/// <summary>One scorer's metrics in both directions, and how long scoring + ranking took.</summary>
public sealed record ScorerResult(string Scorer, CrossModalMetrics Metrics, double Seconds)
{
    /// <summary>As JSON.</summary>
    public JsonObject ToJson() => new() { ["scorer"] = Scorer, ["seconds"] = Math.Round(Seconds, 3), ["metrics"] = Metrics.ToJson() };
}

/// <summary>
/// Evaluates embedded images and captions of a data set with any set of test-time scorers:
/// i2t (image queries over the caption gallery) and t2i (caption queries over the image gallery),
/// relevance from the data set (own image, same class, exact predicates or a relevance file),
/// PMRP when the images carry multi-hot labels.
/// </summary>
public static class ModelEvaluation
{
    /// <summary>Scores and evaluates; <paramref name="seed"/> feeds the samples of sampling scorers.</summary>
    public static IReadOnlyList<ScorerResult> Evaluate(GaussianEmbedding images, GaussianEmbedding captions, ICrossModalDataset dataset,
        IEnumerable<Scorer> scorers, int seed = 0, Pcme.Retrieval.RetrievalOptions? scoring = null)
    {
        if (images.Count != dataset.Images.Count || captions.Count != dataset.Captions.Count)
            throw new ArgumentException($"Embeddings ({images.Count} images, {captions.Count} captions) do not match '{dataset.Name}' ({dataset.Images.Count}, {dataset.Captions.Count}).");
        var relevance = CrossModalRelevance.From(dataset.Relevance, dataset.Images.Count, dataset.Captions.Count);
        PlausibleMatchLabels? i2tLabels = null, t2iLabels = null;
        if (dataset.Images.All(i => i.Labels is not null) && dataset.Images.Count > 0)
        {
            var imageLabels = MultiHotLabels.FromIndices(dataset.Images.Select(i => i.Labels).ToArray());
            var captionLabels = imageLabels.Select(dataset.Captions.Select(c => c.ImageIndex).ToArray());
            i2tLabels = new PlausibleMatchLabels(imageLabels, captionLabels);
            t2iLabels = new PlausibleMatchLabels(captionLabels, imageLabels);
        }
        var results = new List<ScorerResult>();
        foreach (var scorer in scorers)
        {
            var clock = Stopwatch.StartNew();
            var i2t = RetrievalEngine.ScoreMatrix(scorer, images, captions, scoring, new Generator((ulong)seed));
            // Symmetric scorers: text-to-image is the transpose (half the work; sampling scorers reuse the same samples).
            var t2i = scorer.IsSymmetric ? i2t.t().contiguous()
                : RetrievalEngine.ScoreMatrix(scorer, captions, images, scoring, new Generator((ulong)seed + 1));
            var metrics = new CrossModalMetrics(
                RetrievalEvaluator.Evaluate(i2t, relevance.ImageToText, null, i2tLabels).Metrics,
                RetrievalEvaluator.Evaluate(t2i, relevance.TextToImage, null, t2iLabels).Metrics);
            results.Add(new ScorerResult(scorer.Name, metrics, clock.Elapsed.TotalSeconds));
            i2t.Dispose(); t2i.Dispose();
        }
        return results;
    }
}
