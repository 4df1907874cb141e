namespace Pcme.Data;

/// <summary>
/// Settings of <see cref="CaptionAugmentation"/>. The official code has one <c>caption_drop_prob</c>
/// (0.1 for COCO, 0 = off) used for both steps; they are separate here and both default to 0.1.
/// </summary>
public sealed record CaptionAugmentationOptions
{
    /// <summary>Probability that each word becomes <c>&lt;unk&gt;</c> (independently per word).</summary>
    public double MaskProbability { get; init; } = 0.1;
    /// <summary>Then floor(words x DropFraction) words, chosen uniformly one after another, are removed.</summary>
    public double DropFraction { get; init; } = 0.1;

    /// <summary>The official setting for <c>caption_drop_prob</c> = <paramref name="p"/>: both steps use it.</summary>
    public static CaptionAugmentationOptions Official(double p) => new() { MaskProbability = p, DropFraction = p };
}

/// <summary>
/// PCME's "caption drop" text augmentation (naver-ai/pcme <c>datasets/_transforms.py</c>,
/// <c>tokenize</c>): on the word ids between <c>&lt;start&gt;</c> and <c>&lt;end&gt;</c>, first each word
/// is replaced by <c>&lt;unk&gt;</c> with probability p, then N = floor(len x p) words are removed, each
/// at a uniformly random position of what is left. N &lt; len for p &lt; 1, so a caption never loses
/// every word. Seeded: <see cref="Apply(ReadOnlySpan{long})"/> continues one stream;
/// <see cref="Apply(ReadOnlySpan{long}, long)"/> derives the randomness from (seed, key) alone, so an
/// item's augmentation does not depend on loading order or worker count (use key = epoch x captions +
/// caption index).
/// </summary>
public sealed class CaptionAugmentation
{
    readonly SeededRandom stream;
    readonly ulong seed;

    /// <summary>The settings.</summary>
    public CaptionAugmentationOptions Options { get; }

    /// <summary>An augmentation with its own seeded stream.</summary>
    public CaptionAugmentation(CaptionAugmentationOptions? options = null, int seed = 0)
    {
        Options = options ?? new CaptionAugmentationOptions();
        if (Options.MaskProbability is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(options), Options.MaskProbability, "MaskProbability must be in [0, 1].");
        if (Options.DropFraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(options), Options.DropFraction, "DropFraction must be in [0, 1).");
        this.seed = (ulong)(uint)seed;
        stream = SeededRandom.Derive(this.seed, 0);
    }

    /// <summary>Augments <paramref name="encoded"/> (<see cref="Vocabulary.Encode(string, string)"/> output) with the next draws of this instance's stream.</summary>
    public long[] Apply(ReadOnlySpan<long> encoded)
    {
        lock (stream) return Apply(encoded, stream);
    }

    /// <summary>Augments <paramref name="encoded"/> with draws determined by the seed and <paramref name="key"/> only.</summary>
    public long[] Apply(ReadOnlySpan<long> encoded, long key) => Apply(encoded, SeededRandom.Derive(seed, 1, (ulong)key));

    long[] Apply(ReadOnlySpan<long> encoded, SeededRandom random)
    {
        if (encoded.Length < 2 || encoded[0] != Vocabulary.StartId || encoded[^1] != Vocabulary.EndId)
            throw new ArgumentException("Expected encoded ids that start with <start> and end with <end> (Vocabulary.Encode output).", nameof(encoded));
        var words = new List<long>(encoded.Length);
        foreach (var id in encoded[1..^1])
            words.Add(random.NextDouble() < Options.MaskProbability ? Vocabulary.UnknownId : id);
        int drops = (int)Math.Floor(words.Count * Options.DropFraction);
        for (int k = 0; k < drops; k++) words.RemoveAt(random.Next(words.Count));
        return [Vocabulary.StartId, .. words, Vocabulary.EndId];
    }
}
