using static TorchSharp.torch;

namespace Pcme.Data;

/// <summary>
/// Splits an epoch into batches of caption indices; a batch's images are its captions' images
/// (<see cref="BatchSamplers.ImagesOf"/>), so a batch of B captions is B image-caption pairs.
/// Epoch-aware and deterministic: epoch e is shuffled by <c>new Random(seed + e)</c> (the
/// seed + epoch convention of PyTorch's DistributedSampler), so it can be replayed or resumed.
/// </summary>
public interface IBatchSampler
{
    /// <summary>The batches of epoch <paramref name="epoch"/> (0-based), each an array of caption indices.</summary>
    IReadOnlyList<int[]> Epoch(int epoch);
}

/// <summary>
/// Random pairs (the official COCO loader: shuffled captions, consecutive runs of B): each caption
/// once per epoch. Two captions of one image may share a batch; the match matrix marks them.
/// </summary>
public sealed class RandomPairBatchSampler : IBatchSampler
{
    readonly int captionCount, batchSize, seed;
    readonly bool dropLast;

    /// <summary>A sampler over captions 0..<paramref name="captionCount"/>-1.</summary>
    /// <param name="captionCount">Captions in the data set.</param>
    /// <param name="batchSize">Captions per batch.</param>
    /// <param name="seed">Base seed; epoch e uses seed + e.</param>
    /// <param name="dropLast">Drop the last, smaller batch (the captions in it wait for the next epoch's shuffle).</param>
    public RandomPairBatchSampler(int captionCount, int batchSize, int seed, bool dropLast = false)
    {
        BatchSamplers.CheckSizes(captionCount, batchSize);
        (this.captionCount, this.batchSize, this.seed, this.dropLast) = (captionCount, batchSize, seed, dropLast);
    }

    /// <inheritdoc />
    public IReadOnlyList<int[]> Epoch(int epoch)
    {
        var order = Enumerable.Range(0, captionCount).ToArray();
        BatchSamplers.EpochRandom(seed, epoch).Shuffle(order);
        return order.Chunk(batchSize).Where(b => !dropLast || b.Length == batchSize).ToArray();
    }
}

/// <summary>
/// B distinct classes per batch, one caption of each (CUB: the official <c>CUBSampler</c> uses every
/// training class in each batch, i.e. B = number of classes). Classes are a fresh random subset per
/// batch; within a class captions are drawn without replacement from a shuffled queue that is
/// refilled and reshuffled when used up. An epoch has floor(captions / B) batches, as the official
/// sampler's <c>adjust_epoch</c>.
/// </summary>
public sealed class OnePerClassBatchSampler : IBatchSampler
{
    readonly int[][] captionsByClass;
    readonly int batchSize, seed, batches;

    /// <summary>A sampler over <paramref name="dataset"/>'s captions by their image's class.</summary>
    /// <param name="dataset">Every image needs a <see cref="ImageItem.ClassId"/>.</param>
    /// <param name="batchSize">Distinct classes (and captions) per batch; at most the number of classes.</param>
    /// <param name="seed">Base seed; epoch e uses seed + e.</param>
    public OnePerClassBatchSampler(ICrossModalDataset dataset, int batchSize, int seed)
    {
        BatchSamplers.CheckSizes(dataset.Captions.Count, batchSize);
        var classOf = dataset.Images.Select(i => i.ClassId
            ?? throw new DataException($"Image '{i.Id}' of {dataset.Name} has no class; the one-per-class sampler needs a class for every image (CUB or synthetic by class).")).ToArray();
        captionsByClass = Enumerable.Range(0, dataset.Captions.Count)
            .GroupBy(c => classOf[dataset.Captions[c].ImageIndex])
            .OrderBy(g => g.Key)
            .Select(g => g.ToArray()).ToArray();
        if (batchSize > captionsByClass.Length)
            throw new DataException($"A batch of {batchSize} distinct classes needs at least {batchSize} classes; {dataset.Name} has {captionsByClass.Length}. Use a batch size of at most {captionsByClass.Length} (dataloader.batch_size).");
        this.batchSize = batchSize;
        this.seed = seed;
        batches = dataset.Captions.Count / batchSize;
    }

    /// <inheritdoc />
    public IReadOnlyList<int[]> Epoch(int epoch)
    {
        var random = BatchSamplers.EpochRandom(seed, epoch);
        var queues = captionsByClass.Select(c => c.ToArray()).ToArray();
        foreach (var q in queues) random.Shuffle(q);
        var next = new int[queues.Length];
        var classes = Enumerable.Range(0, queues.Length).ToArray();
        var result = new int[batches][];
        for (int b = 0; b < batches; b++)
        {
            // Partial Fisher-Yates: the first batchSize entries become a uniform random subset in random order.
            for (int k = 0; k < batchSize; k++)
            {
                int pick = random.Next(k, classes.Length);
                (classes[k], classes[pick]) = (classes[pick], classes[k]);
            }
            var batch = new int[batchSize];
            for (int k = 0; k < batchSize; k++)
            {
                int c = classes[k];
                if (next[c] == queues[c].Length) { random.Shuffle(queues[c]); next[c] = 0; }
                batch[k] = queues[c][next[c]++];
            }
            result[b] = batch;
        }
        return result;
    }
}

/// <summary>
/// Never two captions of one image in a batch, so the diagonal is the whole match matrix for
/// own-image relevance. Each caption once per epoch: captions are shuffled and each batch takes the
/// first ones whose image it does not hold yet; the others wait, in order, for the next batch. The
/// last batches can be smaller when the leftovers share images.
/// </summary>
public sealed class DistinctImageBatchSampler : IBatchSampler
{
    readonly int[] imageOf;
    readonly int batchSize, seed;
    readonly bool dropLast;

    /// <summary>A sampler over <paramref name="captions"/>.</summary>
    /// <param name="captions">The data set's captions.</param>
    /// <param name="batchSize">Captions (and distinct images) per batch.</param>
    /// <param name="seed">Base seed; epoch e uses seed + e.</param>
    /// <param name="dropLast">Drop batches smaller than <paramref name="batchSize"/>.</param>
    public DistinctImageBatchSampler(IReadOnlyList<CaptionItem> captions, int batchSize, int seed, bool dropLast = false)
    {
        BatchSamplers.CheckSizes(captions.Count, batchSize);
        imageOf = captions.Select(c => c.ImageIndex).ToArray();
        (this.batchSize, this.seed, this.dropLast) = (batchSize, seed, dropLast);
    }

    /// <inheritdoc />
    public IReadOnlyList<int[]> Epoch(int epoch)
    {
        var order = Enumerable.Range(0, imageOf.Length).ToArray();
        BatchSamplers.EpochRandom(seed, epoch).Shuffle(order);
        var waiting = new LinkedList<int>(order);
        var result = new List<int[]>();
        var batch = new List<int>(batchSize);
        var imagesInBatch = new HashSet<int>();
        while (waiting.Count > 0)
        {
            batch.Clear();
            imagesInBatch.Clear();
            for (var node = waiting.First; node is not null && batch.Count < batchSize;)
            {
                var following = node.Next;
                if (imagesInBatch.Add(imageOf[node.Value]))
                {
                    batch.Add(node.Value);
                    waiting.Remove(node);
                }
                node = following;
            }
            if (!dropLast || batch.Count == batchSize) result.Add([.. batch]);
        }
        return result;
    }
}

/// <summary>Factories for the batch samplers, and the batch-level helpers a training step needs.</summary>
public static class BatchSamplers
{
    /// <summary>Random pairs over all captions (<see cref="RandomPairBatchSampler"/>).</summary>
    public static IBatchSampler RandomPairs(ICrossModalDataset dataset, int batchSize, int seed, bool dropLast = false) =>
        new RandomPairBatchSampler(dataset.Captions.Count, batchSize, seed, dropLast);

    /// <summary>B distinct classes per batch (<see cref="OnePerClassBatchSampler"/>).</summary>
    public static IBatchSampler OnePerClass(ICrossModalDataset dataset, int batchSize, int seed) =>
        new OnePerClassBatchSampler(dataset, batchSize, seed);

    /// <summary>No image twice in a batch (<see cref="DistinctImageBatchSampler"/>).</summary>
    public static IBatchSampler NoRepeatedImage(ICrossModalDataset dataset, int batchSize, int seed, bool dropLast = false) =>
        new DistinctImageBatchSampler(dataset.Captions, batchSize, seed, dropLast);

    /// <summary>The image index of each caption of a batch, in batch order (row i of the batch's pairs).</summary>
    public static int[] ImagesOf(ICrossModalDataset dataset, IReadOnlyList<int> captionBatch) =>
        captionBatch.Select(c => dataset.Captions[c].ImageIndex).ToArray();

    /// <summary>
    /// The match matrix of a batch of pairs, bool [B, B]: m[i, j] = whether the image of pair i
    /// (<see cref="ImagesOf"/>) is relevant to the caption of pair j, from
    /// <paramref name="dataset"/>'s <see cref="ICrossModalDataset.Relevance"/>. Rows are images and
    /// columns captions, as the losses' <c>match</c> argument (Pcme.Losses.MatchMatrix) expects.
    /// </summary>
    public static Tensor RelevanceMatrix(ICrossModalDataset dataset, IReadOnlyList<int> captionBatch, Device? device = null) =>
        RelevanceMatrix(dataset.Relevance, ImagesOf(dataset, captionBatch), captionBatch, device);

    /// <summary>m[i, j] = <paramref name="relevance"/>.IsRelevant(captions[j], images[i]), bool [images, captions].</summary>
    public static Tensor RelevanceMatrix(IRelevance relevance, IReadOnlyList<int> images, IReadOnlyList<int> captions, Device? device = null)
    {
        var m = new bool[images.Count * captions.Count];
        for (int i = 0; i < images.Count; i++)
            for (int j = 0; j < captions.Count; j++)
                m[i * captions.Count + j] = relevance.IsRelevant(captions[j], images[i]);
        return tensor(m, [images.Count, captions.Count], device: device);
    }

    internal static Random EpochRandom(int seed, int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "Epochs count from 0.");
        return new Random(unchecked(seed + epoch));
    }

    internal static void CheckSizes(int captionCount, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "A batch needs at least one caption.");
        if (captionCount < 1) throw new ArgumentException("The data set has no captions to sample.", nameof(captionCount));
    }
}
