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

/// <summary>Which part of a data set an evaluation ranks over.</summary>
public enum EvaluationProtocol
{
    /// <summary>The whole data set as one gallery (CUB, the synthetic set, validation).</summary>
    Whole,
    /// <summary>COCO 1K: the mean over 5 folds of 1,000 images and their captions.</summary>
    Coco1K,
    /// <summary>COCO 5K: the first 5,000 images and their captions as one gallery.</summary>
    Coco5K,
}

/// <summary>
/// Evaluates embedded images and captions of a data set with any set of test-time scorers:
/// i2t (image queries over the caption gallery) and t2i (caption queries over the image gallery),
/// relevance from the data set (own image, same class, exact predicates or a relevance file),
/// PMRP when the images carry multi-hot labels.
/// </summary>
public static class ModelEvaluation
{
    /// <summary>The protocol a command-line name means (whole, coco-1k, coco-5k); null for an unknown name.</summary>
    public static EvaluationProtocol? ParseProtocol(string name) => name switch
    {
        "whole" => EvaluationProtocol.Whole, "coco-1k" => EvaluationProtocol.Coco1K, "coco-5k" => EvaluationProtocol.Coco5K, _ => null,
    };

    /// <summary>
    /// Scores and evaluates under <paramref name="protocol"/>; <paramref name="seed"/> feeds the samples of sampling
    /// scorers. For the COCO protocols the metrics are the mean over the folds (each fold scored block by block).
    /// </summary>
    public static IReadOnlyList<ScorerResult> Evaluate(GaussianEmbedding images, GaussianEmbedding captions, ICrossModalDataset dataset,
        IEnumerable<Scorer> scorers, int seed = 0, Pcme.Retrieval.RetrievalOptions? scoring = null, EvaluationProtocol protocol = EvaluationProtocol.Whole)
    {
        if (images.Count != dataset.Images.Count || captions.Count != dataset.Captions.Count)
            throw new ArgumentException($"Embeddings ({images.Count} images, {captions.Count} captions) do not match '{dataset.Name}' ({dataset.Images.Count}, {dataset.Captions.Count}).");
        if (protocol != EvaluationProtocol.Whole) return EvaluateCoco(images, captions, dataset, scorers, seed, scoring, protocol);
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

    static IReadOnlyList<ScorerResult> EvaluateCoco(GaussianEmbedding images, GaussianEmbedding captions, ICrossModalDataset dataset,
        IEnumerable<Scorer> scorers, int seed, Pcme.Retrieval.RetrievalOptions? scoring, EvaluationProtocol protocol)
    {
        var p = RetrievalProtocol.FromDataset(dataset);
        var results = new List<ScorerResult>();
        foreach (var scorer in scorers)
        {
            var clock = Stopwatch.StartNew();
            ScoreFunction Fn(GaussianEmbedding q, GaussianEmbedding g, ulong s) => (qi, gi) =>
            {
                using var qIdx = tensor(qi.Select(x => (long)x).ToArray());
                using var gIdx = tensor(gi.Select(x => (long)x).ToArray());
                return RetrievalEngine.ScoreMatrix(scorer, q.Select(qIdx), g.Select(gIdx), scoring, new Generator(s));
            };
            var res = protocol == EvaluationProtocol.Coco1K
                ? CocoProtocol.OneK(p, Fn(images, captions, (ulong)seed), Fn(captions, images, (ulong)seed + 1))
                : CocoProtocol.FiveK(p, Fn(images, captions, (ulong)seed), Fn(captions, images, (ulong)seed + 1));
            results.Add(new ScorerResult(scorer.Name, res.Mean, clock.Elapsed.TotalSeconds));
        }
        return results;
    }
}
