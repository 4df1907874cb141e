using Pcme.Data;
using Pcme.Evaluation;
using TorchSharp;
using static Pcme.Tests.TensorData;
using static TorchSharp.torch;

namespace Pcme.Tests.Evaluation;

/// <summary>
/// The COCO protocols on a scaled-down "5K": 10 images, 3 captions each, caption c written for image c % 10
/// (so an image's captions are not contiguous), 5 folds of 2 images.
/// </summary>
public class CocoProtocolTests
{
    const int Images = 10, CaptionsPerImage = 3, FoldSize = 2;
    static readonly int[] CaptionImages = Enumerable.Range(0, Images * CaptionsPerImage).Select(c => c % Images).ToArray();

    // Noisy captions of random image embeddings, coarsely rounded so there are ties; multi-hot labels over 3 categories.
    static (Tensor ImageEmbeddings, Tensor CaptionEmbeddings, MultiHotLabels Labels) Problem()
    {
        var g = new Generator(41);
        var images = randn([Images, 4], dtype: float64, generator: g);
        var captions = images.index_select(0, tensor(CaptionImages.Select(i => (long)i).ToArray()))
            .add(randn([CaptionImages.Length, 4], dtype: float64, generator: g).mul(0.8)).mul(2).round().div(2);
        var labels = MultiHotLabels.FromIndices(Enumerable.Range(0, Images).Select(i => (IReadOnlyList<int>?)(i % 4 == 3 ? [] : new[] { i % 3, (i / 3) % 3 }.Distinct().ToArray())).ToArray(), 3);
        return (images, captions, labels);
    }

    static (ScoreFunction I2t, ScoreFunction T2i, List<int> BlockSizes) Scorers(Tensor images, Tensor captions)
    {
        var blockSizes = new List<int>();
        Tensor Pick(Tensor x, IReadOnlyList<int> rows) => x.index_select(0, tensor(rows.Select(r => (long)r).ToArray()));
        ScoreFunction i2t = (q, g) => { blockSizes.Add(q.Count); return Pick(images, q).matmul(Pick(captions, g).t()); };
        ScoreFunction t2i = (q, g) => { blockSizes.Add(q.Count); return Pick(captions, q).matmul(Pick(images, g).t()); };
        return (i2t, t2i, blockSizes);
    }

    [Fact]
    public void Folds_are_image_ranges_with_their_captions()
    {
        var protocol = new RetrievalProtocol(CaptionImages, Images);
        var folds = CocoProtocol.OneKFolds(protocol, FoldSize);
        Assert.Equal(5, folds.Count);
        Assert.Equal([2, 3], folds[1].Images);
        Assert.Equal([2, 3, 12, 13, 22, 23], folds[1].Captions);
        Assert.Equal("1K fold 2", folds[1].Name);
        // Every image and caption in exactly one fold.
        Assert.Equal(Enumerable.Range(0, Images), folds.SelectMany(f => f.Images).Order());
        Assert.Equal(Enumerable.Range(0, CaptionImages.Length), folds.SelectMany(f => f.Captions).Order());
        Assert.Throws<ArgumentException>(() => CocoProtocol.OneKFolds(protocol, foldSize: 3));   // 15 images needed
        Assert.Throws<ArgumentException>(() => CocoProtocol.OneKFolds(protocol));                // the real 1K needs 5,000
    }

    [Fact]
    public void OneK_is_the_mean_of_independent_fold_evaluations()
    {
        var (images, captions, labels) = Problem();
        var options = new EvaluationOptions { QueryBlockSize = 4 };
        var protocol = new RetrievalProtocol(CaptionImages, Images, imageLabels: labels, options: options);
        var (i2t, t2i, blockSizes) = Scorers(images, captions);
        var result = CocoProtocol.OneK(protocol, i2t, t2i, FoldSize);
        Assert.Equal("1K", result.Name);
        Assert.Equal(5, result.Folds.Count);
        Assert.All(blockSizes, n => Assert.InRange(n, 1, 4));   // the scorer only ever sees a query block

        // Independently: slice each fold's score matrix out of the full one and evaluate it directly.
        var full = images.matmul(captions.t());
        var perFold = new List<CrossModalMetrics>();
        for (int f = 0; f < 5; f++)
        {
            long[] foldImages = [2 * f, 2 * f + 1];
            var foldCaptions = Enumerable.Range(0, CaptionImages.Length).Where(c => CaptionImages[c] / FoldSize == f).Select(c => (long)c).ToArray();
            var s = full.index_select(0, tensor(foldImages)).index_select(1, tensor(foldCaptions));
            var captionImageIds = foldCaptions.Select(c => (long)CaptionImages[c]).ToArray();
            var imageLabels = labels.Select(foldImages.Select(i => (int)i).ToArray());
            var captionLabels = labels.Select(captionImageIds.Select(i => (int)i).ToArray());
            var a = RetrievalEvaluator.Evaluate(s, GalleryRelevance.FromIds(foldImages, captionImageIds), options, new PlausibleMatchLabels(imageLabels, captionLabels)).Metrics;
            var b = RetrievalEvaluator.Evaluate(s.t(), GalleryRelevance.FromIds(captionImageIds, foldImages), options, new PlausibleMatchLabels(captionLabels, imageLabels)).Metrics;
            perFold.Add(new CrossModalMetrics(a, b));
            Assert.Equal(a.ToJson().ToJsonString(), result.Folds[f].Metrics.ImageToText.ToJson().ToJsonString());
            Assert.Equal(b.ToJson().ToJsonString(), result.Folds[f].Metrics.TextToImage.ToJson().ToJsonString());
        }
        foreach (var (mean, folds) in new[] { (result.Mean.ImageToText, perFold.Select(p => p.ImageToText)), (result.Mean.TextToImage, perFold.Select(p => p.TextToImage)) })
        {
            foreach (var k in new[] { 1, 5, 10 }) Close(folds.Average(m => m.RecallAt(k)), mean.RecallAt(k));
            Close(folds.Average(m => m.RPrecision), mean.RPrecision);
            Close(folds.Average(m => m.MapAtR), mean.MapAtR);
            Close(folds.Average(m => m.Pmrp!.Mean), mean.Pmrp!.Mean);
            Assert.Equal(5, mean.FoldCount);
        }
        Close(perFold.Average(p => p.Rsum), result.Mean.Rsum);
        Assert.Equal(10, result.Mean.ImageToText.QueryCount);
        Assert.Equal(30, result.Mean.TextToImage.QueryCount);
        var json = result.ToJson();
        Assert.Equal(5, json["folds"]!.AsArray().Count);
        Assert.Equal(6, json["folds"]![0]!["captions"]!.GetValue<int>());
        Assert.StartsWith("1K (5 folds)", result.ToTable());
    }

    [Fact]
    public void FiveK_ranks_everything_against_everything()
    {
        var (images, captions, _) = Problem();
        var protocol = new RetrievalProtocol(CaptionImages, Images);
        var (i2t, t2i, _) = Scorers(images, captions);
        var result = CocoProtocol.FiveK(protocol, i2t, t2i);
        var full = images.matmul(captions.t());
        var direct = RetrievalEvaluator.Evaluate(full, GalleryRelevance.FromIds(Enumerable.Range(0, Images).ToArray(), CaptionImages)).Metrics;
        Assert.Equal(direct.ToJson().ToJsonString(), result.Mean.ImageToText.ToJson().ToJsonString());
        Assert.Single(result.Folds);
        Assert.Equal(30, result.Folds[0].TextToImage.Count);
        Assert.Null(result.Mean.TextToImage.Pmrp);
    }

    sealed class TinyDataset(IReadOnlyList<ImageItem> images, IReadOnlyList<CaptionItem> captions) : ICrossModalDataset
    {
        public string Name => "tiny";
        public IReadOnlyList<ImageItem> Images => images;
        public IReadOnlyList<CaptionItem> Captions => captions;
        public IRelevance Relevance { get; } = new SameClassRelevance(images, captions);
        public IReadOnlyList<SkippedItem> Skipped => [];
        public RgbImage LoadImage(int index) => throw new NotSupportedException();
    }

    [Fact]
    public void A_data_set_brings_its_relevance_and_labels()
    {
        // Images 0, 1 in class 7, image 2 in class 8; captions c0 -> image 0, c1 -> image 1, c2 -> image 2.
        // Same-class relevance: c0 and c1 are relevant to images 0 and 1.
        ImageItem[] images = [new("a", null, 7, [0]), new("b", null, 7, [1]), new("c", null, 8, null)];
        CaptionItem[] captions = [new("c0", 0, "x"), new("c1", 1, "y"), new("c2", 2, "z")];
        var protocol = RetrievalProtocol.FromDataset(new TinyDataset(images, captions));
        Assert.NotNull(protocol.ImageLabels);
        Assert.False(protocol.ImageLabels!.IsLabelled(2));
        // Scores: t2i caption 0 prefers image 1 (same class: a hit), caption 2 prefers image 0 (a miss).
        var t2iScores = tensor(new float[,] { { .1f, .9f, 0f }, { .1f, .9f, 0f }, { .9f, 0f, .1f } });
        var result = protocol.Evaluate((q, g) => t2iScores.t(), (q, g) => t2iScores);
        // t2i R@1: c0 hit (image 1 is class 7), c1 hit, c2 miss -> 2/3. With own-image relevance c0 would miss.
        Close(200.0 / 3, result.Metrics.TextToImage.RecallAt(1));
        Assert.Equal([2, 2, 1], result.TextToImage.RelevantCount);
        Assert.NotNull(result.Metrics.TextToImage.Pmrp);
        Assert.Equal(1, result.Metrics.TextToImage.Pmrp!.UnlabelledQueries);   // c2's image has no labels
    }
}
