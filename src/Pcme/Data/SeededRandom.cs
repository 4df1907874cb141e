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

    /// <summary>
    /// log of a Gamma(<paramref name="shape"/>, 1) draw. Marsaglia and Tsang (2000), "A simple method for
    /// generating gamma variables": for shape a &gt;= 1, with d = a - 1/3 and c = 1 / sqrt(9 d), draw
    /// x ~ N(0, 1), v = (1 + c x)^3 until v &gt; 0 and u &lt; 1 - 0.0331 x^4 or log u &lt; x^2 / 2 + d (1 - v + log v);
    /// the draw is d v. For a &lt; 1, Gamma(a) = Gamma(a + 1) U^(1/a) (their boosting step), kept in log space
    /// so that a tiny shape cannot underflow to 0. Uses only this stream: reproducible bit for bit on one platform
    /// (Math.Log, Exp and Sqrt are the C runtime's; their last ulp may differ between platforms).
    /// </summary>
    public double NextLogGamma(double shape)
    {
        if (!(shape > 0) || double.IsInfinity(shape)) throw new ArgumentOutOfRangeException(nameof(shape), shape, "The gamma shape must be positive and finite.");
        double boost = 0;
        if (shape < 1)
        {
            boost = Math.Log(1.0 - NextDouble()) / shape;   // U in (0, 1]: log finite
            shape += 1;
        }
        double d = shape - 1.0 / 3.0, c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x = NextGaussian();
            double t = 1.0 + c * x;
            if (t <= 0) continue;
            double v = t * t * t;
            double u = 1.0 - NextDouble();                  // (0, 1]
            double x2 = x * x;
            if (u < 1.0 - 0.0331 * x2 * x2 || Math.Log(u) < 0.5 * x2 + d * (1.0 - v + Math.Log(v)))
                return Math.Log(d) + Math.Log(v) + boost;
        }
    }

    /// <summary>
    /// A Beta(<paramref name="a"/>, <paramref name="b"/>) draw as X / (X + Y) for X ~ Gamma(a), Y ~ Gamma(b)
    /// (<see cref="NextLogGamma"/>), computed as the logistic of log X - log Y so that it stays in [0, 1]
    /// and finite for any shapes. numpy's <c>np.random.beta</c> (used by the official mixup) draws the same
    /// distribution with other bits.
    /// </summary>
    public double NextBeta(double a, double b)
    {
        double logX = NextLogGamma(a), logY = NextLogGamma(b);
        double z = logY - logX;                             // X / (X + Y) = 1 / (1 + e^z)
        return z >= 0 ? Math.Exp(-z) / (1.0 + Math.Exp(-z)) : 1.0 / (1.0 + Math.Exp(z));
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
