using System.Numerics.Tensors;

namespace DistillGuard.Semantics.Distribution;

/// <summary>
/// The maximum mean discrepancy between two samples of unit vectors under a Gaussian kernel (Gretton et al. 2012),
/// and its permutation p-value.
/// </summary>
/// <remarks>
/// For unit vectors ‖x − y‖² = 2 − 2·cos(x, y), so the kernel is k(x, y) = exp(−(2 − 2·x·y) / h) with the bandwidth h
/// set by the median heuristic (the median squared distance between pairs of the reference sample; Gretton et al. 2012,
/// §8). The estimate is the unbiased one (Gretton et al. 2012, eq. 3): within-sample terms leave out i = j.
/// </remarks>
public static class MaximumMeanDiscrepancy
{
    /// <summary>The kernel value of two unit vectors at bandwidth <paramref name="bandwidth"/>.</summary>
    public static double Kernel(ReadOnlySpan<float> x, ReadOnlySpan<float> y, double bandwidth) =>
        Math.Exp(-Math.Max(0, 2 - (2 * (double)TensorPrimitives.Dot(x, y))) / bandwidth);

    /// <summary>The median squared distance between pairs of <paramref name="sample"/> (at most <paramref name="maxPairs"/> pairs, spread evenly); 1 for fewer than two vectors.</summary>
    public static double MedianBandwidth(IReadOnlyList<float[]> sample, int maxPairs = 20_000)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var n = sample.Count;
        if (n < 2)
        {
            return 1;
        }

        var total = (long)n * (n - 1) / 2;
        var stride = Math.Max(1, total / maxPairs);
        var distances = new List<double>((int)Math.Min(total, maxPairs + 1));
        long index = 0;
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++, index++)
            {
                if (index % stride == 0)
                {
                    distances.Add(Math.Max(0, 2 - (2 * (double)TensorPrimitives.Dot(sample[i], sample[j]))));
                }
            }
        }

        distances.Sort();
        var median = distances[distances.Count / 2];
        return median > 1e-6 ? median : 1;
    }

    /// <summary>Mean kernel value over pairs i ≠ j of one sample (the within-sample term of the unbiased estimate).</summary>
    public static double WithinMean(IReadOnlyList<float[]> sample, double bandwidth)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var n = sample.Count;
        if (n < 2)
        {
            return 0;
        }

        var sum = 0.0;
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                sum += Kernel(sample[i], sample[j], bandwidth);
            }
        }

        return 2 * sum / ((double)n * (n - 1));
    }

    /// <summary>Mean kernel value between the samples.</summary>
    public static double CrossMean(IReadOnlyList<float[]> x, IReadOnlyList<float[]> y, double bandwidth)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count == 0 || y.Count == 0)
        {
            return 0;
        }

        var sum = 0.0;
        foreach (var a in x)
        {
            foreach (var b in y)
            {
                sum += Kernel(a, b, bandwidth);
            }
        }

        return sum / ((double)x.Count * y.Count);
    }

    /// <summary>The unbiased MMD² of <paramref name="x"/> against <paramref name="y"/>; <paramref name="yWithin"/> may pass y's cached within-sample term.</summary>
    public static double Squared(IReadOnlyList<float[]> x, IReadOnlyList<float[]> y, double bandwidth, double? yWithin = null) =>
        WithinMean(x, bandwidth) + (yWithin ?? WithinMean(y, bandwidth)) - (2 * CrossMean(x, y, bandwidth));

    /// <summary>
    /// The permutation p-value of the unbiased MMD² of <paramref name="x"/> against <paramref name="y"/>: the share of
    /// random relabellings of the pooled sample whose statistic is at least the observed one, counting the observed
    /// labelling itself ((1 + #{≥}) / (1 + B)), so the p-value is valid — uniform or conservative — under exchangeability.
    /// </summary>
    public static double PermutationPValue(IReadOnlyList<float[]> x, IReadOnlyList<float[]> y, double bandwidth, int permutations, Random random)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(permutations, 1);
        var m = x.Count;
        var n = m + y.Count;
        if (m < 2 || y.Count < 2)
        {
            return 1;
        }

        // One kernel matrix of the pooled sample; each relabelling only re-sums it.
        var k = new double[n * n];
        var pooled = x.Concat(y).ToArray();
        for (var i = 0; i < n; i++)
        {
            k[(i * n) + i] = 1;
            for (var j = i + 1; j < n; j++)
            {
                k[(i * n) + j] = k[(j * n) + i] = Kernel(pooled[i], pooled[j], bandwidth);
            }
        }

        var labels = new int[n];
        for (var i = 0; i < n; i++)
        {
            labels[i] = i;
        }

        var observed = Statistic(k, n, labels, m);
        var atLeast = 0;
        for (var b = 0; b < permutations; b++)
        {
            random.Shuffle(labels);
            if (Statistic(k, n, labels, m) >= observed - 1e-12)
            {
                atLeast++;
            }
        }

        return (1.0 + atLeast) / (1.0 + permutations);
    }

    // Unbiased MMD² with the first m of `order` as the first sample.
    private static double Statistic(double[] k, int n, int[] order, int m)
    {
        double xx = 0, yy = 0, xy = 0;
        for (var a = 0; a < n; a++)
        {
            var row = order[a] * n;
            for (var b = a + 1; b < n; b++)
            {
                var v = k[row + order[b]];
                if (b < m)
                {
                    xx += v;
                }
                else if (a >= m)
                {
                    yy += v;
                }
                else
                {
                    xy += v;
                }
            }
        }

        var ny = n - m;
        return (2 * xx / ((double)m * (m - 1))) + (2 * yy / ((double)ny * (ny - 1))) - (2 * xy / ((double)m * ny));
    }
}
