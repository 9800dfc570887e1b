using System.Globalization;
using System.Numerics;

namespace DistillGuard.Benchmarks;

/// <summary>
/// A log-linear histogram of durations in <see cref="System.Diagnostics.Stopwatch"/> ticks: exact below 128 ticks,
/// then 64 buckets per power of two (values read back as their bucket's upper bound, at most 1.6 % high).
/// Recording is one increment, with no allocation, so it can time every call of a hot loop.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 128;
    private const int SubBuckets = 64;
    private readonly long[] _counts = new long[Linear + (57 * SubBuckets)];

    public long Count { get; private set; }

    public void Record(long ticks)
    {
        _counts[Index(Math.Max(0, ticks))]++;
        Count++;
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
    }

    /// <summary>The smallest recorded duration (bucket upper bound) at or below which a share <paramref name="quantile"/> of calls fall.</summary>
    public long Percentile(double quantile)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(quantile * Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= Math.Max(1, rank))
            {
                return UpperBound(i);
            }
        }

        return UpperBound(_counts.Length - 1);
    }

    /// <summary>One line: n and p50/p90/p99/p99.9/max in microseconds.</summary>
    public string Summary(double ticksPerMicrosecond) =>
        string.Create(CultureInfo.InvariantCulture,
            $"n={Count} p50={Percentile(0.50) / ticksPerMicrosecond:0.000}us p90={Percentile(0.90) / ticksPerMicrosecond:0.000}us p99={Percentile(0.99) / ticksPerMicrosecond:0.000}us p99.9={Percentile(0.999) / ticksPerMicrosecond:0.000}us max={Percentile(1.0) / ticksPerMicrosecond:0.000}us");

    internal static int Index(long value)
    {
        if (value < Linear)
        {
            return (int)value;
        }

        var msb = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var mantissa = (int)(value >> (msb - 6));
        return Linear + ((msb - 7) * SubBuckets) + (mantissa - SubBuckets);
    }

    internal static long UpperBound(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var msb = 7 + ((index - Linear) / SubBuckets);
        var mantissa = SubBuckets + ((index - Linear) % SubBuckets);
        return ((long)(mantissa + 1) << (msb - 6)) - 1;
    }
}
