using DistillGuard.Storage.Usage;

namespace DistillGuard.Gateway.Dashboard;

/// <summary>An account's recent requests and tokens in equal time buckets, for the account page's chart.</summary>
/// <param name="Start">Unix seconds of each bucket's start.</param>
internal sealed record UsageSeries(TimeSpan Bucket, long[] Start, long[] Requests, long[] TokensIn, long[] TokensOut)
{
    /// <summary>Most events read for one chart (the usage log's account index streams them in time order).</summary>
    public const int MaxEvents = 200_000;

    private static readonly TimeSpan[] s_buckets =
    [
        TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15),
        TimeSpan.FromHours(1), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromDays(1),
    ];

    /// <summary>The last <paramref name="span"/> of the account's traffic up to <paramref name="now"/>, in at most about 60 buckets.</summary>
    public static async Task<UsageSeries> ReadAsync(IUsageEventStore usage, string accountId, DateTimeOffset now, TimeSpan span, CancellationToken cancellationToken)
    {
        var events = new List<(DateTimeOffset At, int In, int Out)>();
        await foreach (var e in usage.ReadAsync(new UsageQuery(accountId, now - span, MaxEvents), cancellationToken))
        {
            events.Add((e.Timestamp, e.PromptTokens, e.CompletionTokens));
        }

        return Bin(events, now);
    }

    /// <summary>Fewest buckets a chart shows, so a burst of a few minutes still reads as a burst.</summary>
    public const int MinBuckets = 30;

    /// <summary>Bins events (in time order) from the first one (or <see cref="MinBuckets"/> buckets back) to <paramref name="now"/>.</summary>
    public static UsageSeries Bin(IReadOnlyList<(DateTimeOffset At, int In, int Out)> events, DateTimeOffset now)
    {
        var first = events.Count > 0 && events[0].At < now ? events[0].At : now;
        var range = now - first;
        var bucket = s_buckets.FirstOrDefault(b => range / b <= 60, s_buckets[^1]);
        var last = now.UtcTicks - (now.UtcTicks % bucket.Ticks);
        var origin = new DateTimeOffset(Math.Min(first.UtcTicks - (first.UtcTicks % bucket.Ticks), last - ((MinBuckets - 1) * bucket.Ticks)), TimeSpan.Zero);
        var count = (int)((now - origin) / bucket) + 1;
        var series = new UsageSeries(bucket, new long[count], new long[count], new long[count], new long[count]);
        for (var i = 0; i < count; i++)
        {
            series.Start[i] = (origin + (bucket * i)).ToUnixTimeSeconds();
        }

        foreach (var (at, tokensIn, tokensOut) in events)
        {
            var i = Math.Clamp((int)((at - origin) / bucket), 0, count - 1);
            series.Requests[i]++;
            series.TokensIn[i] += tokensIn;
            series.TokensOut[i] += tokensOut;
        }

        return series;
    }
}
