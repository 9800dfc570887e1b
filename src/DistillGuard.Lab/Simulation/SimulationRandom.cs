namespace DistillGuard.Lab.Simulation;

/// <summary>
/// SplitMix64 (Steele, Lea &amp; Flood 2014) with the draws the simulator needs: its stream is defined by the algorithm
/// alone, so a scenario is the same on every machine and .NET version (System.Random's seeded stream is not promised),
/// and one 64-bit state per account keeps a hundred thousand independent streams cheap.
/// </summary>
internal sealed class SimulationRandom(ulong seed)
{
    private ulong _state = seed;

    /// <summary>A generator for one named stream of a scenario, independent of how much the others consume.</summary>
    public static SimulationRandom For(int seed, string stream, long index = 0)
    {
        var h = 1469598103934665603UL ^ (ulong)(uint)seed;
        foreach (var c in stream)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        h = (h ^ (ulong)index) * 1099511628211UL;
        return new SimulationRandom(h);
    }

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, max).</summary>
    public int Next(int max) => max <= 1 ? 0 : (int)((NextUInt64() >> 33) % (ulong)max);

    /// <summary>Uniform integer in [min, max].</summary>
    public int Between(int min, int max) => min + Next(max - min + 1);

    public double Uniform(double min, double max) => min + (max - min) * NextDouble();

    public bool Chance(double p) => NextDouble() < p;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>Exponential with the given mean.</summary>
    public double Exponential(double mean) => -mean * Math.Log(1.0 - NextDouble());

    /// <summary>Standard normal (Box–Muller).</summary>
    public double Normal()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Log-normal with the given median and log-space sigma.</summary>
    public double LogNormal(double median, double sigma) => median * Math.Exp(sigma * Normal());

    /// <summary>Poisson count (inversion for small means, normal approximation above 50).</summary>
    public int Poisson(double mean)
    {
        if (mean <= 0)
        {
            return 0;
        }

        if (mean > 50)
        {
            return Math.Max(0, (int)Math.Round(mean + Math.Sqrt(mean) * Normal()));
        }

        var l = Math.Exp(-mean);
        var k = 0;
        var p = NextDouble();
        while (p > l)
        {
            k++;
            p *= NextDouble();
        }

        return k;
    }

    /// <summary>Zipf-like index in [0, count): small indexes are much more likely (exponent s).</summary>
    public int Zipf(int count, double s = 1.1)
    {
        // Inverse of the continuous power-law CDF: close enough for choosing favourite topics or templates.
        var u = NextDouble();
        if (Math.Abs(s - 1.0) < 1e-9)
        {
            return Math.Min(count - 1, (int)(Math.Exp(u * Math.Log(count + 1)) - 1));
        }

        var a = 1.0 - s;
        var x = Math.Pow(1 + u * (Math.Pow(count + 1, a) - 1), 1 / a) - 1;
        return Math.Clamp((int)x, 0, count - 1);
    }
}
