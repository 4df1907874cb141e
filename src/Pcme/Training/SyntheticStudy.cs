using System.Diagnostics;
using System.Text.Json.Nodes;
using Pcme.Analysis;
using Pcme.Data;
using Pcme.Evaluation;
using Pcme.Retrieval;
using static TorchSharp.torch;

namespace Pcme.Training;

/// <summary>Settings of <see cref="SyntheticStudy"/>.</summary>
public sealed record SyntheticStudyOptions
{
    /// <summary>Seed of the data, the models and every draw.</summary>
    public int Seed { get; init; }
    /// <summary>Images in the synthetic set (80/10/10 train/val/test).</summary>
    public int Images { get; init; } = 1000;
    /// <summary>The training configuration (PCME; the twin is the same with probabilistic = false).</summary>
    public TrainingConfig Config { get; init; } = TrainingConfig.Synthetic;
    /// <summary>Where the runs are written (PCME in pcme/, the twin in mu-only/).</summary>
    public string OutputDirectory { get; init; } = Path.Combine("runs", "demo");
    /// <summary>Scorers evaluated for PCME (the twin is scored with cosine only).</summary>
    public IReadOnlyList<string> Scorers { get; init; } = ["cosine", "mc", "elk", "wasserstein", "csd"];
}

/// <summary>One (model, scorer) row of the results.</summary>
public sealed record StudyRow(string Model, ScorerResult Result);

/// <summary>What the study found.</summary>
public sealed record SyntheticStudyResult(
    IReadOnlyList<StudyRow> Rows, IReadOnlyList<SigmaByLevel> SigmaByLevel, double SpearmanRelevantVsSigma,
    IReadOnlyList<double> CaptionSigma, IReadOnlyList<int> CaptionRelevantImages, IReadOnlyList<int?> CaptionLevels,
    IReadOnlyList<UncertaintyBin> RecallByCaptionUncertainty,
    IReadOnlyList<EpochMetrics> PcmeHistory, IReadOnlyList<EpochMetrics> MuOnlyHistory, double Seconds, int Seed)
{
    /// <summary>Mean of i2t and t2i R-Precision of a row.</summary>
    public static double MeanRPrecision(StudyRow r) => (r.Result.Metrics.ImageToText.RPrecision + r.Result.Metrics.TextToImage.RPrecision) / 2;

    /// <summary>As one JSON document.</summary>
    public JsonObject ToJson() => new()
    {
        ["seed"] = Seed,
        ["seconds"] = Math.Round(Seconds, 1),
        ["metrics"] = new JsonArray(Rows.Select(r => (JsonNode)new JsonObject { ["model"] = r.Model, ["result"] = r.Result.ToJson() }).ToArray()),
        ["sigma_by_specificity"] = new JsonArray(SigmaByLevel.Select(s => (JsonNode)new JsonObject
        {
            ["level"] = s.Level, ["captions"] = s.Count, ["mean_sigma"] = s.MeanSigma, ["std_sigma"] = s.StdSigma, ["mean_relevant_images"] = s.MeanRelevantImages,
        }).ToArray()),
        ["spearman_relevant_images_vs_sigma"] = SpearmanRelevantVsSigma,
        ["r1_by_caption_uncertainty"] = new JsonArray(RecallByCaptionUncertainty.Select(b => (JsonNode)new JsonObject
        {
            ["bin"] = b.Index, ["mean_uncertainty"] = b.MeanUncertainty, ["r1"] = b.Recall, ["queries"] = b.QueryCount,
        }).ToArray()),
    };
}

/// <summary>
/// The `pcme demo` experiment, reusable from notebooks: generate the synthetic many-to-many set,
/// train PCME and, identically, its mu-only twin, evaluate both on the test split with several
/// test-time scorers, and relate caption uncertainty to caption vagueness (paper Sec. 4.4).
/// </summary>
public static class SyntheticStudy
{
    /// <summary>Runs the study; <paramref name="progress"/> gets (model name, progress).</summary>
    public static SyntheticStudyResult Run(SyntheticStudyOptions options, IProgress<(string Model, TrainingProgress Progress)>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var data = new SyntheticOptions { Seed = options.Seed, ImageCount = options.Images };
        var train = new SyntheticDataset(data, SyntheticSplit.Train);
        var val = new SyntheticDataset(data, SyntheticSplit.Validation);
        var test = new SyntheticDataset(data, SyntheticSplit.Test);
        var config = options.Config with { Train = options.Config.Train with { Seed = options.Seed } };
        var sets = new ExperimentData(train, val);

        TrainedModel TrainOne(string name, TrainingConfig c) =>
            Experiment.Create(c, sets).Train(Path.Combine(options.OutputDirectory, name),
                progress is null ? null : new SynchronousProgress<TrainingProgress>(x => progress.Report((name, x))));
        var pcme = TrainOne("pcme", config);
        // The twin: the same config without sigma heads, validated with the mean-only cosine.
        var muOnly = TrainOne("mu-only", config with { Model = config.Model with { Probabilistic = false, EvalMethod = "cosine" } });

        var (pi, pc) = pcme.Embed(test);
        var (mi, mc) = muOnly.Embed(test);
        var rows = new List<StudyRow>();
        rows.AddRange(ModelEvaluation.Evaluate(mi, mc, test, [muOnly.CreateScorer("cosine")], options.Seed).Select(r => new StudyRow("mu-only", r)));
        rows.AddRange(ModelEvaluation.Evaluate(pi, pc, test, options.Scorers.Select(pcme.CreateScorer), options.Seed).Select(r => new StudyRow("pcme", r)));

        var sigma = Values(pc.Uncertainty());
        var levels = test.Captions.Select(c => c.Specificity).ToArray();
        var relevant = Enumerable.Range(0, test.Captions.Count).Select(c => test.Relevance.ImagesFor(c).Count).ToArray();
        var byLevel = AmbiguityAnalysis.ByLevel(sigma, levels, relevant);
        double rho = AmbiguityAnalysis.Spearman(relevant.Select(x => (double)x).ToArray(), sigma);

        // R@1 of caption queries per caption-uncertainty bin (paper Fig. 6), PCME scored with MC.
        var relevanceT2i = CrossModalRelevance.From(test.Relevance, test.Images.Count, test.Captions.Count).TextToImage;
        using var t2i = RetrievalEngine.ScoreMatrix(pcme.CreateScorer("mc"), pc, pi, null, new Generator((ulong)options.Seed));
        var outcomes = RetrievalEvaluator.Evaluate(t2i, relevanceT2i).Queries;
        using var u = tensor(sigma.ToArray());
        var bins = UncertaintyAnalysis.RecallByUncertainty(u, outcomes, 10);

        return new SyntheticStudyResult(rows, byLevel, rho, sigma, relevant, levels, bins, pcme.Result.History, muOnly.Result.History, clock.Elapsed.TotalSeconds, options.Seed);
    }

    static double[] Values(Tensor t) => t.to(float64).cpu().data<double>().ToArray();
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (System.Progress posts to the thread pool).</summary>
public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    /// <inheritdoc />
    public void Report(T value) => report(value);
}
