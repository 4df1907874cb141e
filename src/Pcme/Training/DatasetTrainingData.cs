using Pcme.Data;
using Pcme.Modules;
using static TorchSharp.torch;

namespace Pcme.Training;

/// <summary>Which pairs of a batch are positives.</summary>
public enum PositivePairs
{
    /// <summary>Caption j is positive for image i when it was written for that image (duplicated images count): the official practice.</summary>
    SameImage,
    /// <summary>From the data set's relevance (same class for CUB, exact predicates for the synthetic set).</summary>
    Relevance,
}

/// <summary>How batches are drawn.</summary>
public enum BatchSampling
{
    /// <summary>Random captions with their images.</summary>
    RandomPairs,
    /// <summary>One caption per class, B distinct classes (CUB).</summary>
    OnePerClass,
    /// <summary>Never two captions of one image in a batch.</summary>
    DistinctImages,
}

/// <summary>
/// Turns an <see cref="ICrossModalDataset"/> into training batches: seeded sampling per epoch,
/// images through an <see cref="ImagePipeline"/> (or grids from a <see cref="GridFeatureCache"/>),
/// captions encoded with a <see cref="Vocabulary"/> (captions with no known word are counted and skipped
/// once, up front), caption-drop augmentation, and the batch's match matrix.
/// </summary>
public sealed class DatasetTrainingData : ITrainingData
{
    readonly ICrossModalDataset dataset;
    readonly ImagePipeline pipeline;
    readonly GridFeatureCache? cache;
    readonly CaptionAugmentation? augmentation;
    readonly long[][] encoded;
    readonly int[] usable;
    readonly PositivePairs positives;
    readonly BatchSampling sampling;

    /// <summary>Captions left out because no word of theirs is in the vocabulary.</summary>
    public IReadOnlyList<SkippedItem> Skipped { get; }

    /// <summary>Prepares the data; encodes every caption once.</summary>
    public DatasetTrainingData(ICrossModalDataset dataset, Vocabulary vocabulary, ImagePipeline pipeline, CaptionAugmentation? augmentation = null,
        PositivePairs positives = PositivePairs.SameImage, BatchSampling sampling = BatchSampling.RandomPairs, GridFeatureCache? cache = null)
    {
        this.dataset = dataset; this.pipeline = pipeline; this.augmentation = augmentation; this.cache = cache;
        this.positives = positives; this.sampling = sampling;
        encoded = new long[dataset.Captions.Count][];
        var skipped = new List<SkippedItem>();
        var ok = new List<int>();
        for (int c = 0; c < dataset.Captions.Count; c++)
        {
            var item = dataset.Captions[c];
            if (vocabulary.TryEncode(item.Text, item.Id, out var ids, out var skip)) { encoded[c] = ids; ok.Add(c); }
            else skipped.Add(skip);
        }
        usable = ok.ToArray();
        Skipped = skipped;
        if (usable.Length == 0) throw new DataException($"No caption of '{dataset.Name}' has a word in the vocabulary; build the vocabulary from this data set's training captions.");
    }

    /// <inheritdoc />
    public bool ImagesAreGrids => cache is not null;

    /// <inheritdoc />
    public IReadOnlyList<int[]> EpochBatches(int epoch, int batchSize, int seed)
    {
        var sampler = sampling switch
        {
            BatchSampling.OnePerClass => BatchSamplers.OnePerClass(dataset, batchSize, seed),
            BatchSampling.DistinctImages => BatchSamplers.NoRepeatedImage(dataset, batchSize, seed),
            _ => BatchSamplers.RandomPairs(dataset, batchSize, seed),
        };
        var keep = new HashSet<int>(usable);
        return sampler.Epoch(epoch).Select(b => b.Where(keep.Contains).ToArray()).Where(b => b.Length > 1).ToArray();
    }

    /// <summary>Key of the image-augmentation stream in <see cref="SeededRandom.Derive"/>.</summary>
    const ulong AugmentationStream = 0x5eed;

    /// <inheritdoc />
    public PairBatch Load(int[] captions, int seed, int epoch, int step, Device device)
    {
        var images = BatchSamplers.ImagesOf(dataset, captions);
        // The kit's own derivation: HashCode.Combine is randomised per process, so a resumed run (a new
        // process) or a second run would augment differently from the first epoch on.
        var random = new Random((int)(SeededRandom.Derive((ulong)(uint)seed, (ulong)(uint)epoch, (ulong)(uint)step, AugmentationStream).NextUInt64() >> 33));
        var pixels = cache is not null
            ? cache.ReadIds(images.Select(i => dataset.Images[i].Id).ToArray(), device)
            : pipeline.LoadBatch(dataset, images, random, device: device);
        var (tokens, lengths) = TokenBatch.Pad(captions.Select(c => augmentation is null ? encoded[c] : augmentation.Apply(encoded[c], ((long)epoch << 32) ^ c)).ToArray(), device);
        var match = positives == PositivePairs.Relevance
            ? BatchSamplers.RelevanceMatrix(dataset, captions, device)
            : Pcme.Losses.MatchMatrix.FromLabels(images.Select(i => (long)i).ToArray(), images.Select(i => (long)i).ToArray(), device);
        return new PairBatch(pixels, tokens, lengths, match);
    }
}
