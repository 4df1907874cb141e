using static TorchSharp.torch;

namespace Pcme.Data;

/// <summary>
/// Small deterministic word vectors for the synthetic grammar, so the synthetic default needs no
/// download: each word is its group's direction plus a smaller word-specific direction, with the
/// groups (colours, shape words, relation words, function words) mutually orthogonal. Colour words
/// are therefore near each other (cosine about 0.8) and far from shape words (cosine about 0), which
/// gives a frozen-embedding text encoder structure to use, as GloVe does for real captions.
/// <para>Use <see cref="ForVocabulary"/> for an embedding matrix (same report as <see cref="GloVe"/>),
/// or <see cref="GloVe.Write"/> on <see cref="Create"/> to exercise the GloVe loading path.</para>
/// </summary>
public static class SyntheticWordVectors
{
    /// <summary>Default vector length.</summary>
    public const int DefaultDimension = 32;

    /// <summary>Weight of the word-specific direction relative to the group direction (1).</summary>
    const double WordWeight = 0.5;

    /// <summary>The word groups, in the order their directions are drawn.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Groups { get; } =
        [SyntheticGrammar.ColorWords, SyntheticGrammar.ShapeWords, SyntheticGrammar.RelationWords, SyntheticGrammar.FunctionWords];

    /// <summary>
    /// A unit vector for every word of <see cref="SyntheticGrammar.AllWords"/>, deterministic in
    /// (<paramref name="dimension"/>, <paramref name="seed"/>). Needs dimension &gt;= number of groups.
    /// </summary>
    public static IReadOnlyDictionary<string, float[]> Create(int dimension = DefaultDimension, int seed = 0)
    {
        if (dimension < Groups.Count) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"Needs at least {Groups.Count} dimensions, one per word group.");
        var random = SeededRandom.Derive((ulong)(uint)seed, 0x5747_5643UL);
        // Gram-Schmidt: exactly orthogonal group directions make the structure hold in any dimension.
        var directions = new List<double[]>();
        while (directions.Count < Groups.Count)
        {
            var v = Gaussian(random, dimension);
            foreach (var d in directions) Axpy(-Dot(v, d), d, v);
            double norm = Math.Sqrt(Dot(v, v));
            if (norm < 1e-6) continue;
            for (int k = 0; k < dimension; k++) v[k] /= norm;
            directions.Add(v);
        }
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (int g = 0; g < Groups.Count; g++)
            foreach (var word in Groups[g])
            {
                var noise = Gaussian(random, dimension);
                double noiseNorm = Math.Sqrt(Dot(noise, noise));
                var v = new double[dimension];
                for (int k = 0; k < dimension; k++) v[k] = directions[g][k] + WordWeight * noise[k] / noiseNorm;
                double norm = Math.Sqrt(Dot(v, v));
                vectors[word] = v.Select(x => (float)(x / norm)).ToArray();
            }
        return vectors;
    }

    /// <summary>
    /// An embedding matrix [vocabulary size, <paramref name="dimension"/>] for <paramref name="vocabulary"/>:
    /// grammar words get their vector, other rows follow <paramref name="options"/> (default: seeded N(0, 1)).
    /// </summary>
    public static PretrainedEmbeddings ForVocabulary(Vocabulary vocabulary, int dimension = DefaultDimension, int seed = 0,
        WordVectorOptions? options = null, Device? device = null) =>
        GloVe.FromVectors(Create(dimension, seed), dimension, vocabulary, options, $"synthetic word vectors (d={dimension}, seed={seed})", device);

    static double[] Gaussian(SeededRandom random, int n)
    {
        var v = new double[n];
        for (int k = 0; k < n; k++) v[k] = random.NextGaussian();
        return v;
    }

    static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int k = 0; k < a.Length; k++) s += a[k] * b[k];
        return s;
    }

    static void Axpy(double alpha, double[] x, double[] y)
    {
        for (int k = 0; k < x.Length; k++) y[k] += alpha * x[k];
    }
}
