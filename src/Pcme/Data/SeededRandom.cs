namespace Pcme.Data;

/// <summary>
/// A small seeded pseudo-random stream (SplitMix64) for data generation and augmentation.
/// <para>Why not <see cref="Random"/>: its algorithm is an implementation detail, whereas the
/// synthetic data set promises the same pixels and captions for the same seed on every runtime
/// and machine. SplitMix64 is fully specified here, and <see cref="Derive"/> gives independent
/// streams per (seed, key...) so that, for example, image 17's scene does not depend on how many
/// images were generated before it.</para>
/// </summary>
internal sealed class SeededRandom
{
    ulong state;

    /// <summary>A stream starting from <paramref name="seed"/>.</summary>
    public SeededRandom(ulong seed) => state = seed;

    /// <summary>A stream determined by a seed and any number of keys (index, purpose, epoch...).</summary>
    public static SeededRandom Derive(ulong seed, params ulong[] keys)
    {
        ulong h = Mix(seed ^ 0x9E3779B97F4A7C15UL);
        foreach (var k in keys) h = Mix(h ^ Mix(k + 0x632BE59BD9B4E019UL));
        return new SeededRandom(h);
    }

    /// <summary>The SplitMix64 finaliser: a bijective 64-bit mix.</summary>
    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 uniformly random bits.</summary>
    public ulong NextUInt64()
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="exclusiveMax"/>), without modulo bias.</summary>
    public int Next(int exclusiveMax)
    {
        if (exclusiveMax <= 0) throw new ArgumentOutOfRangeException(nameof(exclusiveMax), "Must be positive.");
        ulong bound = (ulong)exclusiveMax;
        ulong limit = ulong.MaxValue - ulong.MaxValue % bound;   // reject the incomplete last block
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(r % bound);
    }

    /// <summary>A uniform integer in [<paramref name="min"/>, <paramref name="max"/>] (both inclusive).</summary>
    public int NextInclusive(int min, int max) => min + Next(max - min + 1);

    /// <summary>A standard normal draw (Box-Muller; one of the pair is discarded to keep the stream simple).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble();   // (0, 1]: log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A uniformly chosen element.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];
}
