namespace DistillGuard.Detection.Scoring;

/// <summary>A compact benign reference for one feature: body quantiles (log-spaced towards the tail), the exact upper tail, and an exponential tail beyond it.</summary>
/// <remarks>
/// <see cref="PValue"/> is the conservative empirical upper-tail p-value (1 + #{ref ≥ x}) / (n + 1), so it is valid
/// (never smaller than the true tail probability in expectation) under the reference; beyond the largest reference value
/// it decays exponentially with the mean excess of the tail (peaks over threshold with GPD shape 0).
/// </remarks>
public sealed class ReferenceDistribution
{
    /// <summary>Largest reference values kept exactly.</summary>
    public const int TailValues = 32;

    /// <summary>Number of reference values.</summary>
    public int Count { get; init; }

    public double Median { get; init; }

    /// <summary>Median absolute deviation (unscaled).</summary>
    public double Mad { get; init; }

    /// <summary>Ranks (0-based, ascending) of the kept body values: every 5 % up to 90 %, then log-spaced towards the tail.</summary>
    public int[] Ranks { get; init; } = [];

    /// <summary>Reference values at <see cref="Ranks"/>.</summary>
    public double[] Values { get; init; } = [];

    /// <summary>The largest values, ascending.</summary>
    public double[] Tail { get; init; } = [];

    /// <summary>Mean excess of <see cref="Tail"/> over its smallest value (scale of the exponential tail; ≥ a small floor).</summary>
    public double TailScale { get; init; }

    /// <summary>Builds a reference from sample values (NaN ignored).</summary>
    /// <param name="values">The benign sample.</param>
    /// <param name="tailFloor">
    /// Smallest scale of the exponential tail, in the feature's own units (see <see cref="Detector.TailFloor"/>). Without it a
    /// reference whose tail is all one value (every benign account at a share of 0) would make any excess, however small —
    /// one elicited request in a thousand — look infinitely significant.
    /// </param>
    public static ReferenceDistribution Fit(IEnumerable<double> values, double tailFloor = 0)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).ToArray();
        Array.Sort(sorted);
        var n = sorted.Length;
        if (n == 0)
        {
            return new ReferenceDistribution();
        }

        var ranks = new List<int>();
        var tailStart = Math.Max(0, n - TailValues);
        foreach (var q in BodyLevels())
        {
            var rank = (int)Math.Round(q * (n - 1));
            if (rank >= tailStart && ranks.Count > 0)
            {
                break;
            }

            if (ranks.Count == 0 || rank > ranks[^1])
            {
                ranks.Add(rank);
            }
        }

        var tail = sorted[Math.Max(0, n - TailValues)..];
        var excess = tail.Length > 1 ? tail.Skip(1).Average(v => v - tail[0]) : 0;
        var median = Quantile(sorted, 0.5);
        var deviations = sorted.Select(v => Math.Abs(v - median)).ToArray();
        Array.Sort(deviations);
        var spread = sorted[^1] - sorted[0];
        return new ReferenceDistribution
        {
            Count = n,
            Median = median,
            Mad = Quantile(deviations, 0.5),
            Ranks = [.. ranks],
            Values = [.. ranks.Select(r => sorted[r])],
            Tail = tail,
            // A floor keeps a constant reference (every benign account at 0) from making any excess infinitely significant.
            TailScale = Math.Max(Math.Max(excess, tailFloor), Math.Max(spread * 0.05, 1e-3 * Math.Max(1, Math.Abs(sorted[^1])))),
        };
    }

    /// <summary>P(X ≥ <paramref name="x"/>) under the reference; 1 when the reference is empty or x is NaN.</summary>
    public double PValue(double x)
    {
        var n = Count;
        if (n == 0 || double.IsNaN(x))
        {
            return 1;
        }

        if (x > Tail[^1])
        {
            return Math.Exp(-(x - Tail[^1]) / TailScale) / (n + 1);
        }

        if (x > Tail[0])
        {
            var atLeast = 0;
            for (var i = Tail.Length - 1; i >= 0 && Tail[i] >= x; i--)
            {
                atLeast++;
            }

            return (1.0 + atLeast) / (n + 1);
        }

        // Body: the largest kept quantile strictly below x bounds how many reference values are below x.
        var index = -1;
        var lo = 0;
        var hi = Values.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (Values[mid] < x)
            {
                index = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        if (index < 0)
        {
            return 1;
        }

        return Math.Min(1, (double)(n - Ranks[index]) / (n + 1));
    }

    /// <summary>Robust z (Iglewicz &amp; Hoaglin 1993): 0.6745·(x − median)/MAD; 0 when MAD is 0 and x is the median.</summary>
    public double RobustZ(double x)
    {
        if (Count == 0 || double.IsNaN(x))
        {
            return 0;
        }

        if (Mad <= 0)
        {
            return x == Median ? 0 : Math.CopySign(10, x - Median);
        }

        return 0.6745 * (x - Median) / Mad;
    }

    private static IEnumerable<double> BodyLevels()
    {
        for (var i = 0; i <= 18; i++)
        {
            yield return i * 0.05;
        }

        // 1 − 0.1·10^(−j/10): ten points per decade of tail probability, down to 1e-7.
        for (var j = 0; j <= 60; j++)
        {
            yield return 1 - (0.1 * Math.Pow(10, -j / 10.0));
        }
    }

    private static double Quantile(double[] sorted, double q) => sorted[(int)Math.Round(q * (sorted.Length - 1))];
}
