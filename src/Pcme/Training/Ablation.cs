using System.Globalization;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pcme.Analysis;
using Pcme.Data;
using Pcme.Evaluation;
using Pcme.Probabilistic;
using Pcme.Retrieval;
using Pcme.Runtime;
using static TorchSharp.torch;

namespace Pcme.Training;

/// <summary>The splits of one seed of an ablation.</summary>
/// <param name="Train">Training split.</param>
/// <param name="Validation">Validation split (best-checkpoint selection), or null.</param>
/// <param name="Test">The split every run is evaluated on (with the full relevance the data set has).</param>
public sealed record AblationData(ICrossModalDataset Train, ICrossModalDataset? Validation, ICrossModalDataset Test)
{
    /// <summary>GloVe file when model.wemb_type = glove.</summary>
    public string? GloVePath { get; init; }
    /// <summary>The vocabulary (null: from the training captions).</summary>
    public Vocabulary? Vocabulary { get; init; }
}

/// <summary>What <see cref="Ablation.Run"/> trains: every (method, label regime, seed) on identical batches.</summary>
public sealed record AblationOptions
{
    /// <summary>criterion.name values (<see cref="Methods.Names"/>).</summary>
    public IReadOnlyList<string> Methods { get; init; } = ["pcme", "soft-contrastive", "pcme++", "pcme++-mu"];
    /// <summary>train.seed values; with the synthetic set each seed also draws its own data set.</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [0];
    /// <summary>Label regimes (dataloader.positives): same_image (batches of distinct images, the official practice) and/or relevance (oracle labels).</summary>
    public IReadOnlyList<string> Positives { get; init; } = ["same_image"];
    /// <summary>The base config; each method replaces its criterion (<see cref="Pcme.Training.Methods.WithMethod"/>).</summary>
    public TrainingConfig Config { get; init; } = TrainingConfig.Synthetic;
    /// <summary>The splits per seed.</summary>
    public required Func<int, AblationData> Data { get; init; }
    /// <summary>Run folders go to OUT/METHOD/POSITIVES/seed-S; results.json to OUT.</summary>
    public required string OutputDirectory { get; init; }
    /// <summary>Sigma bins for R@1 per sigma bin.</summary>
    public int SigmaBins { get; init; } = 5;
}

/// <summary>Where an ablation is: run <see cref="Index"/> of <see cref="Count"/>, and that run's training progress.</summary>
public sealed record AblationProgress(int Index, int Count, string Run, TrainingProgress? Training, string Stage);

/// <summary>Caption statistics of one specificity level (synthetic captions name 1 to 4 predicates; others: one level).</summary>
/// <param name="Level">The level (null: the data set has none).</param>
/// <param name="Captions">Captions at the level.</param>
/// <param name="MeanSigma">Mean caption sigma (geometric mean over dimensions), null for a deterministic method.</param>
/// <param name="MeanRelevantImages">Labelled match mass: mean number of relevant test images per caption.</param>
/// <param name="MeanPredictedMatches">Predicted match mass: mean over captions of sum_i p(match | caption, image i) under the
/// model's own match probability (PCME: MC, PCME++: sigmoid(-a CSD + b)); null for methods without one.</param>
public sealed record LevelDiagnostics(int? Level, int Captions, double? MeanSigma, double MeanRelevantImages, double? MeanPredictedMatches);

/// <summary>R@1 of caption queries in one caption-sigma bin.</summary>
public sealed record SigmaBinRecall(int Bin, double MeanSigma, double RecallAt1, int Queries);

/// <summary>One trained and evaluated run of an ablation (written as OUT/.../result.json, read back on resume).</summary>
public sealed record AblationRunResult
{
    /// <summary>criterion.name.</summary>
    public required string Method { get; init; }
    /// <summary>dataloader.positives.</summary>
    public required string Positives { get; init; }
    /// <summary>train.seed.</summary>
    public required int Seed { get; init; }
    /// <summary>The run folder.</summary>
    public required string Folder { get; init; }
    /// <summary>The method's main scorer (its validation scorer), whose numbers <see cref="Metrics"/> holds.</summary>
    public required string Scorer { get; init; }
    /// <summary>Test metrics under <see cref="Scorer"/>: i2t_r1, i2t_r5, i2t_r10, i2t_rp, i2t_map_at_r, i2t_pmrp (with labels), and t2i_*.</summary>
    public required Dictionary<string, double> Metrics { get; init; }
    /// <summary>The same for every scorer that suits the method.</summary>
    public required Dictionary<string, Dictionary<string, double>> ByScorer { get; init; }
    /// <summary>Spearman(caption sigma, number of relevant images); null for deterministic methods.</summary>
    public double? SpearmanSigmaRelevant { get; init; }
    /// <summary>Spearman(caption sigma, caption length in words); null for deterministic methods.</summary>
    public double? SpearmanSigmaLength { get; init; }
    /// <summary>Per specificity level: sigma, labelled and predicted match mass.</summary>
    public required IReadOnlyList<LevelDiagnostics> Levels { get; init; }
    /// <summary>Caption-query R@1 per caption-sigma bin (probabilistic methods).</summary>
    public IReadOnlyList<SigmaBinRecall>? RecallBySigma { get; init; }
    /// <summary>Training wall time (all epochs, validation included).</summary>
    public double TrainSeconds { get; init; }
    /// <summary>Milliseconds per training step (epoch time without validation over steps).</summary>
    public double MillisecondsPerStep { get; init; }
    /// <summary>Mean training loss of each epoch.</summary>
    public required IReadOnlyList<double> Loss { get; init; }
    /// <summary>The run's config (<see cref="Ablation.ConfigFor"/>) as JSON: a rerun into the same folder with another config is refused, not read back.</summary>
    public string? Config { get; init; }
}

/// <summary>One claim of the paper and what an ablation measured about it.</summary>
/// <param name="Claim">The claim, in one line.</param>
/// <param name="Verdict">holds / holds on average / does not hold / opposite, from the per-seed numbers.</param>
/// <param name="Evidence">The numbers: paired differences or correlations, mean ± sd and per seed.</param>
public sealed record AblationClaim(string Claim, string Verdict, string Evidence);

/// <summary>Mean and standard deviation (n - 1) over seeds.</summary>
public sealed record MeanSd(double Mean, double Sd, int N)
{
    /// <summary>Of <paramref name="values"/>.</summary>
    public static MeanSd Of(IReadOnlyList<double> values)
    {
        double m = values.Count > 0 ? values.Average() : double.NaN;
        double sd = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - m) * (v - m)) / (values.Count - 1)) : 0;
        return new MeanSd(m, sd, values.Count);
    }

    /// <summary>"mean ± sd".</summary>
    public string Format(string f = "F1") => N > 1 ? $"{Mean.ToString(f, System.Globalization.CultureInfo.InvariantCulture)} ± {Sd.ToString(f, System.Globalization.CultureInfo.InvariantCulture)}" : Mean.ToString(f, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>One (method, regime) row of the summary: every metric as mean ± sd over seeds.</summary>
public sealed record AblationSummaryRow(string Method, string Positives, int Seeds, Dictionary<string, MeanSd> Metrics);

/// <summary>A probabilistic method minus its mu-only twin, seed by seed (same data, same batches).</summary>
public sealed record PairedDifference(string Method, string Twin, string Positives, string Metric, MeanSd Difference, IReadOnlyList<double> PerSeed);

/// <summary>Everything an ablation found.</summary>
public sealed record AblationResult(IReadOnlyList<AblationRunResult> Runs, IReadOnlyList<AblationSummaryRow> Summary, IReadOnlyList<PairedDifference> Paired,
    double Seconds)
{
    /// <summary>The metrics the summary and paired differences cover.</summary>
    public static readonly IReadOnlyList<string> SummaryMetrics =
        ["i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "i2t_rp", "t2i_rp", "i2t_map_at_r", "t2i_map_at_r", "i2t_pmrp", "t2i_pmrp",
         "spearman_sigma_relevant", "spearman_sigma_length", "ms_per_step"];

    /// <summary>As the results.json document.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Ablation.Json);
}

/// <summary>
/// <c>pcme ablate</c>: trains every (method, label regime, seed) on identical batches (the batches are a function of
/// the seed and the data, not of the method), evaluates each on the test split with its natural scorers and the full
/// relevance, and relates caption sigma to vagueness: Spearman(sigma, relevant images), Spearman(sigma, caption length),
/// mean sigma per specificity level, R@1 per sigma bin, and predicted versus labelled match mass per level (the number
/// that says which way the objective pushes sigma, README "What the demo finds"). Each finished run writes its
/// result.json; a killed ablation resumes at the first unfinished run (and that run from its last checkpoint).
/// </summary>
public static class Ablation
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Checks the options before any work: every method and regime known, seeds distinct.</summary>
    public static void Validate(AblationOptions o)
    {
        if (o.Methods.Count == 0) throw new ConfigException("--methods is empty: name at least one of " + string.Join(", ", Methods.Names) + ".");
        foreach (var m in o.Methods) Methods.Get(m);
        if (o.Methods.Distinct().Count() != o.Methods.Count) throw new ConfigException($"--methods names a method twice ({string.Join(",", o.Methods)}).");
        if (o.Seeds.Count == 0 || o.Seeds.Distinct().Count() != o.Seeds.Count) throw new ConfigException($"--seeds must list distinct seeds (got '{string.Join(",", o.Seeds)}').");
        foreach (var p in o.Positives)
            if (p is not ("same_image" or "relevance")) throw new ConfigException($"--positives '{p}' is not allowed: use same_image and/or relevance.");
        foreach (var m in o.Methods) ConfigChecks.Validate(Methods.WithMethod(o.Config, m));
    }

    /// <summary>The runs in the order they are trained: seed, then regime, then method (so a seed's methods are adjacent).</summary>
    public static IReadOnlyList<(string Method, string Positives, int Seed)> Plan(AblationOptions o) =>
        [.. from s in o.Seeds from p in o.Positives from m in o.Methods select (m, p, s)];

    /// <summary>Runs (or resumes) the ablation and writes OUT/results.json.</summary>
    public static AblationResult Run(AblationOptions options, IProgress<AblationProgress>? progress = null, CancellationToken cancel = default)
    {
        Validate(options);
        var clock = Stopwatch.StartNew();
        var plan = Plan(options);
        var runs = new List<AblationRunResult>();
        var data = new Dictionary<int, AblationData>();
        for (int i = 0; i < plan.Count; i++)
        {
            var (method, positives, seed) = plan[i];
            string label = $"{method} / {positives} / seed {seed}";
            string folder = RunFolder(options.OutputDirectory, method, positives, seed);
            string resultPath = Path.Combine(folder, "result.json");
            var config = ConfigFor(options.Config, method, positives, seed);
            if (File.Exists(resultPath))
            {
                var done = JsonSerializer.Deserialize<AblationRunResult>(File.ReadAllText(resultPath), Json)
                           ?? throw new DataException($"'{resultPath}' is empty; delete it to retrain that run.");
                if (done.Config is { } was && was != config.ToJson()) throw OtherConfig(folder);
                runs.Add(done);
                progress?.Report(new AblationProgress(i, plan.Count, label, null, "done before"));
                continue;
            }
            if (!data.TryGetValue(seed, out var d)) data[seed] = d = options.Data(seed);
            var sets = new ExperimentData(d.Train, d.Validation)
            {
                GloVePath = d.GloVePath, Vocabulary = d.Vocabulary,
                // Experiment's default: distinct images per batch under same_image (the official practice), random pairs under relevance.
            };
            var experiment = Experiment.Create(config, sets);
            bool resume = Directory.Exists(Path.Combine(folder, "checkpoints", "last"));
            // A half-trained run continues only with the config it started with (the trainer wrote it as config.json).
            string started = Path.Combine(folder, "config.json");
            if (resume && File.Exists(started) && File.ReadAllText(started) != experiment.Config.ToJson()) throw OtherConfig(folder);
            progress?.Report(new AblationProgress(i, plan.Count, label, null, resume ? "resuming" : "training"));
            var trained = experiment.Train(folder, new SynchronousProgress<TrainingProgress>(p => progress?.Report(new AblationProgress(i, plan.Count, label, p, "training"))),
                resume, cancel: cancel);
            progress?.Report(new AblationProgress(i, plan.Count, label, null, "evaluating"));
            int steps = experiment.TrainingData.EpochBatches(0, config.Dataloader.BatchSize, seed).Count;
            var result = Evaluate(trained, d.Test, method, positives, seed, folder, steps, options.SigmaBins) with { Config = config.ToJson() };
            AtomicFile.WriteAllText(resultPath, JsonSerializer.Serialize(result, Json));
            runs.Add(result);
        }
        var summary = Summarise(runs);
        var paired = Pair(runs);
        var all = new AblationResult(runs, summary, paired, clock.Elapsed.TotalSeconds);
        AtomicFile.WriteAllText(Path.Combine(options.OutputDirectory, "results.json"), all.ToJson());
        return all;
    }

    /// <summary>The config of one run: the method (<see cref="Methods.WithMethod"/>), the regime and the seed.</summary>
    public static TrainingConfig ConfigFor(TrainingConfig config, string method, string positives, int seed)
    {
        var c = Methods.WithMethod(config, method);
        return c with { Dataloader = c.Dataloader with { Positives = positives }, Train = c.Train with { Seed = seed } };
    }

    /// <summary>The folder of one run: OUT/METHOD/POSITIVES/seed-S ('+' spelled 'p' in folder names: pcme++ -> pcmepp).</summary>
    public static string RunFolder(string outputDirectory, string method, string positives, int seed) =>
        Path.Combine(outputDirectory, method.Replace("+", "p"), positives, $"seed-{seed}");

    static ConfigException OtherConfig(string folder) =>
        new($"'{folder}' holds a run of another config (other --set values, data or options); use a new --out, or delete that folder to retrain it.");

    /// <summary>Evaluates one trained run on <paramref name="test"/>: metrics per natural scorer, and the sigma diagnostics.</summary>
    public static AblationRunResult Evaluate(TrainedModel model, ICrossModalDataset test, string method, string positives, int seed, string folder,
        int stepsPerEpoch, int sigmaBins = 5)
    {
        using var scope = NewDisposeScope();
        var (images, captions) = model.Embed(test);
        string primary = Methods.ValidationScorer(model.Config);
        var scorerNames = model.NaturalScorers.Contains(primary) ? model.NaturalScorers : [primary, .. model.NaturalScorers];
        var results = ModelEvaluation.Evaluate(images, captions, test, scorerNames.Select(model.CreateScorer), seed);
        var byScorer = results.ToDictionary(r => r.Scorer, r => Flatten(r.Metrics));

        var relevant = Enumerable.Range(0, test.Captions.Count).Select(c => test.Relevance.ImagesFor(c).Count).ToArray();
        var levels = test.Captions.Select(c => c.Specificity).ToArray();
        double[]? sigma = model.Architecture.Probabilistic ? Values(captions.Uncertainty()) : null;
        double[]? predicted = PredictedMatches(model, images, captions, seed);
        var levelRows = levels.Select((l, c) => (l, c)).GroupBy(x => x.l).OrderBy(g => g.Key ?? int.MaxValue).Select(g =>
        {
            var idx = g.Select(x => x.c).ToArray();
            return new LevelDiagnostics(g.Key, idx.Length, sigma is null ? null : idx.Average(c => sigma[c]), idx.Average(c => (double)relevant[c]),
                predicted is null ? null : idx.Average(c => predicted[c]));
        }).ToArray();

        double? rhoRelevant = null, rhoLength = null;
        IReadOnlyList<SigmaBinRecall>? bins = null;
        if (sigma is not null)
        {
            rhoRelevant = AmbiguityAnalysis.Spearman(relevant.Select(x => (double)x).ToArray(), sigma);
            rhoLength = AmbiguityAnalysis.Spearman(test.Captions.Select(c => (double)CaptionTokenizer.Default.Tokenize(c.Text).Count).ToArray(), sigma);
            var relevanceT2i = CrossModalRelevance.From(test.Relevance, test.Images.Count, test.Captions.Count).TextToImage;
            using var t2i = RetrievalEngine.ScoreMatrix(model.CreateScorer(primary), captions, images, null, new Generator((ulong)seed));
            var outcomes = RetrievalEvaluator.Evaluate(t2i, relevanceT2i).Queries;
            using var u = tensor(sigma);
            bins = [.. UncertaintyAnalysis.RecallByUncertainty(u, outcomes, sigmaBins).Select(b => new SigmaBinRecall(b.Index, b.MeanUncertainty, b.Recall, b.QueryCount))];
        }
        var history = model.Result.History;
        double trainSeconds = history.Sum(h => h.Seconds);
        return new AblationRunResult
        {
            Method = method, Positives = positives, Seed = seed, Folder = folder, Scorer = primary, Metrics = byScorer[primary], ByScorer = byScorer,
            SpearmanSigmaRelevant = rhoRelevant, SpearmanSigmaLength = rhoLength, Levels = levelRows, RecallBySigma = bins,
            TrainSeconds = trainSeconds, MillisecondsPerStep = history.Count == 0 ? 0 : 1000 * history.Sum(h => h.Seconds - (h.ValidationSeconds ?? 0)) / (history.Count * (double)stepsPerEpoch),
            Loss = [.. history.Select(h => h.Loss)],
        };
    }

    /// <summary>
    /// Predicted match mass of every caption: sum over the test images of the model's own p(match | caption, image) — PCME
    /// and its twin: the Monte-Carlo match probability (paper Eq. 2) with the learned (a, b); PCME++ and its twin:
    /// sigmoid(-a CSD + b) (PCME++ Eq. 2). Null for methods without a match probability.
    /// </summary>
    public static double[]? PredictedMatches(TrainedModel model, GaussianEmbedding images, GaussianEmbedding captions, int seed)
    {
        using var scope = NewDisposeScope();
        var logit = model.Criterion.MatchLogit;
        if (logit is not { } ab) return null;
        Tensor p;
        switch (Methods.Get(model.Architecture.Method).Family)
        {
            case "pcme":
                p = RetrievalEngine.ScoreMatrix(model.CreateScorer("mc"), captions, images, null, new Generator((ulong)seed)).exp();   // log p(m = 1)
                break;
            case "pcme++":
                var negCsd = RetrievalEngine.ScoreMatrix(Scorer.Create("csd"), captions, images);
                p = negCsd.mul(ab.NegativeScale).add(ab.Shift).sigmoid();
                break;
            default: return null;
        }
        return Values(p.to(float64).sum(1));
    }

    static Dictionary<string, double> Flatten(CrossModalMetrics m)
    {
        var d = new Dictionary<string, double>();
        foreach (var (dir, x) in new[] { ("i2t", m.ImageToText), ("t2i", m.TextToImage) })
        {
            foreach (var r in x.Recalls) d[$"{dir}_r{r.K}"] = r.Percent;
            d[$"{dir}_rp"] = x.RPrecision;
            d[$"{dir}_map_at_r"] = x.MapAtR;
            if (x.Pmrp is { } pmrp) d[$"{dir}_pmrp"] = pmrp.Mean;
        }
        return d;
    }

    static double? Metric(AblationRunResult r, string key) => key switch
    {
        "spearman_sigma_relevant" => r.SpearmanSigmaRelevant,
        "spearman_sigma_length" => r.SpearmanSigmaLength,
        "ms_per_step" => r.MillisecondsPerStep,
        _ => r.Metrics.TryGetValue(key, out var v) ? v : null,
    };

    /// <summary>Mean ± sd over seeds per (method, regime) and metric.</summary>
    public static IReadOnlyList<AblationSummaryRow> Summarise(IReadOnlyList<AblationRunResult> runs) =>
        [.. runs.GroupBy(r => (r.Method, r.Positives)).Select(g => new AblationSummaryRow(g.Key.Method, g.Key.Positives, g.Count(),
            AblationResult.SummaryMetrics.Select(k => (k, v: g.Select(r => Metric(r, k)).Where(v => v is not null).Select(v => v!.Value).ToArray()))
                .Where(x => x.v.Length > 0).ToDictionary(x => x.k, x => MeanSd.Of(x.v))))];

    /// <summary>Each probabilistic method minus its mu-only twin, paired by (regime, seed), for every retrieval metric both have.</summary>
    public static IReadOnlyList<PairedDifference> Pair(IReadOnlyList<AblationRunResult> runs)
    {
        var list = new List<PairedDifference>();
        foreach (var g in runs.GroupBy(r => (r.Method, r.Positives)))
        {
            if (Methods.Get(g.Key.Method).MuOnlyTwin is not { } twin) continue;
            var twins = runs.Where(r => r.Method == twin && r.Positives == g.Key.Positives).ToDictionary(r => r.Seed);
            var pairs = g.Where(r => twins.ContainsKey(r.Seed)).OrderBy(r => r.Seed).ToArray();
            if (pairs.Length == 0) continue;
            foreach (var key in AblationResult.SummaryMetrics.Where(k => !k.StartsWith("spearman", StringComparison.Ordinal)))
            {
                var diffs = pairs.Select(r => (Metric(r, key), Metric(twins[r.Seed], key))).Where(x => x.Item1 is not null && x.Item2 is not null)
                    .Select(x => x.Item1!.Value - x.Item2!.Value).ToArray();
                if (diffs.Length > 0) list.Add(new PairedDifference(g.Key.Method, twin, g.Key.Positives, key, MeanSd.Of(diffs), diffs));
            }
        }
        return list;
    }

    static double[] Values(Tensor t) => t.to(float64).cpu().data<double>().ToArray();

    static string F(double v, string f = "0.0") => v.ToString(f, CultureInfo.InvariantCulture);

    /// <summary>
    /// What holds, per claim, from the paired differences (method minus twin, same seed and batches) and the sigma
    /// correlations: "holds" when every seed agrees, "holds on average" when the mean does, else "does not hold"
    /// ("opposite" for a correlation of the other sign in every seed).
    /// </summary>
    public static IReadOnlyList<AblationClaim> Claims(AblationResult r)
    {
        var claims = new List<AblationClaim>();
        foreach (var regime in r.Runs.Select(x => x.Positives).Distinct())
        {
            foreach (var method in new[] { "pcme", "pcme++" })
            {
                var twin = Methods.Get(method).MuOnlyTwin!;
                var rp = new[] { "i2t_rp", "t2i_rp" }.Select(k => r.Paired.FirstOrDefault(p => p.Method == method && p.Positives == regime && p.Metric == k)).ToArray();
                if (rp.All(p => p is not null))
                {
                    bool every = rp.All(p => p!.PerSeed.All(d => d >= 0)), mean = rp.All(p => p!.Difference.Mean >= 0);
                    claims.Add(new AblationClaim($"{method} retrieves at least as well as its mu-only twin ({twin}), {regime} labels (R-Precision, both directions)",
                        every ? "holds" : mean ? "holds on average" : "does not hold",
                        string.Join("; ", rp.Select(p => $"{(p!.Metric.StartsWith("i2t") ? "i2t" : "t2i")} Δ {p.Difference.Format("F2")} [{string.Join(", ", p.PerSeed.Select(d => d.ToString("+0.00;-0.00", CultureInfo.InvariantCulture)))}]"))));
                }
                var runs = r.Runs.Where(x => x.Method == method && x.Positives == regime && x.SpearmanSigmaRelevant is not null).ToArray();
                if (runs.Length > 0)
                {
                    var rho = runs.Select(x => x.SpearmanSigmaRelevant!.Value).ToArray();
                    string verdict = rho.All(v => v >= 0.5) ? "holds" : rho.Average() >= 0.5 ? "holds on average" : rho.All(v => v < 0) ? "opposite" : "does not hold";
                    var vague = runs.SelectMany(x => x.Levels).Where(l => l.Level is not null).GroupBy(l => l.Level!.Value).OrderBy(g => g.Key).ToArray();
                    string mass = vague.Length > 1 && vague[^1].All(l => l.MeanPredictedMatches is not null)
                        ? $"; matches per caption at level {vague[0].Key} / {vague[^1].Key}: labelled {F(vague[0].Average(l => l.MeanRelevantImages))} / {F(vague[^1].Average(l => l.MeanRelevantImages))}, " +
                          $"predicted {F(vague[0].Average(l => l.MeanPredictedMatches!.Value))} / {F(vague[^1].Average(l => l.MeanPredictedMatches!.Value))}"
                        : "";
                    claims.Add(new AblationClaim($"{method}: vaguer captions get larger sigma (Spearman(sigma, relevant images) >= 0.5), {regime} labels", verdict,
                        $"Spearman {MeanSd.Of(rho).Format("F3")} [{string.Join(", ", rho.Select(v => v.ToString("0.000", CultureInfo.InvariantCulture)))}]{mass}"));
                }
            }
        }
        return claims;
    }
}
