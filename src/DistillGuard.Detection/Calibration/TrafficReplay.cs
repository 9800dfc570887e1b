using DistillGuard.Detection.Engine;
using DistillGuard.Storage.Usage;

namespace DistillGuard.Detection.Calibration;

/// <summary>An account's features at one tick of a replay, with its running totals.</summary>
/// <param name="TotalRequests">Requests the account had sent up to <paramref name="Time"/>.</param>
/// <param name="TotalCompletionTokens">Completion tokens it had received up to <paramref name="Time"/>.</param>
public sealed record AccountSnapshot(string AccountId, string Cohort, DateTimeOffset Time, WindowFeatures Features, long TotalRequests, long TotalCompletionTokens);

/// <summary>Feeds a time-ordered event stream through an engine and takes snapshots of active accounts at regular ticks.</summary>
/// <remarks>Pure and single-threaded: virtual time is the events' own, so weeks of traffic replay in seconds.</remarks>
public static class TrafficReplay
{
    /// <summary>
    /// Observes every event; at each tick boundary (aligned to the Unix epoch) yields one snapshot per account that sent
    /// a request since the previous tick, taken at the tick. <paramref name="profile"/> supplies tiers for new accounts.
    /// </summary>
    public static IEnumerable<AccountSnapshot> Snapshots(DetectionEngine engine, IEnumerable<UsageEvent> events, TimeSpan tick, Func<string, Scoring.AccountProfile?>? profile = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(tick, TimeSpan.Zero);

        var dirty = new HashSet<string>(StringComparer.Ordinal);
        DateTimeOffset? next = null;
        foreach (var e in events)
        {
            next ??= Floor(e.Timestamp, tick) + tick;
            while (e.Timestamp >= next)
            {
                foreach (var snapshot in Take(engine, dirty, next.Value))
                {
                    yield return snapshot;
                }

                next = dirty.Count == 0 && e.Timestamp >= next + tick ? Floor(e.Timestamp, tick) + tick : next + tick;
            }

            if (e.AccountId is { Length: > 0 } id && profile is not null && !engine.HasProfile(id) && profile(id) is { } p)
            {
                engine.SetProfile(id, p);
            }

            engine.Observe(e);
            if (e.AccountId is { Length: > 0 } account)
            {
                dirty.Add(account);
            }
        }

        if (next is { } last)
        {
            foreach (var snapshot in Take(engine, dirty, last))
            {
                yield return snapshot;
            }
        }
    }

    private static List<AccountSnapshot> Take(DetectionEngine engine, HashSet<string> dirty, DateTimeOffset at)
    {
        var taken = new List<AccountSnapshot>(dirty.Count);
        foreach (var id in dirty)
        {
            if (engine.Snapshot(id, at) is { } snapshot)
            {
                taken.Add(snapshot);
            }
        }

        dirty.Clear();
        return taken;
    }

    private static DateTimeOffset Floor(DateTimeOffset time, TimeSpan tick) =>
        new(time.UtcTicks - (time.UtcTicks % tick.Ticks), TimeSpan.Zero);
}
