using Pcme.Data;

namespace Pcme.Tests.Data;

public class SyntheticWordVectorsTests
{
    static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int k = 0; k < a.Length; k++) { dot += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; }
        return dot / Math.Sqrt(na * nb);
    }

    [Fact]
    public void Words_of_a_group_are_closer_to_each_other_than_to_other_groups()
    {
        var v = SyntheticWordVectors.Create();
        Assert.Equal(SyntheticGrammar.AllWords.Order(), v.Keys.Order());
        Assert.All(v.Values, x => Assert.Equal(32, x.Length));
        double minColor = SyntheticGrammar.ColorWords.SelectMany(a => SyntheticGrammar.ColorWords.Where(b => b != a).Select(b => Cosine(v[a], v[b]))).Min();
        double minShape = SyntheticGrammar.ShapeWords.SelectMany(a => SyntheticGrammar.ShapeWords.Where(b => b != a).Select(b => Cosine(v[a], v[b]))).Min();
        double maxAcross = SyntheticGrammar.ColorWords.SelectMany(a => SyntheticGrammar.ShapeWords.Select(b => Cosine(v[a], v[b]))).Max();
        Assert.True(minColor > maxAcross + 0.3 && minShape > maxAcross + 0.3, $"colours {minColor:F2}, shapes {minShape:F2}, across {maxAcross:F2}");
    }

    [Fact]
    public void Vectors_are_deterministic_and_cover_a_synthetic_vocabulary()
    {
        Assert.Equal(SyntheticWordVectors.Create(16, 3)["red"], SyntheticWordVectors.Create(16, 3)["red"]);
        Assert.NotEqual(SyntheticWordVectors.Create(16, 3)["red"], SyntheticWordVectors.Create(16, 4)["red"]);
        var data = new SyntheticDataset(new SyntheticOptions { ImageCount = 40 });
        var vocab = Vocabulary.Build(data.Captions.Select(c => c.Text));
        var embeddings = SyntheticWordVectors.ForVocabulary(vocab);
        Assert.Equal([vocab.Count, 32L], embeddings.Weights.shape);
        Assert.Equal(1.0, embeddings.Report.HitRate);
        Assert.Equal(SyntheticWordVectors.Create()["circle"], embeddings.Weights[vocab["circle"]].data<float>().ToArray());
    }
}
