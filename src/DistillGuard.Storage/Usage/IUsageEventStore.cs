using DistillGuard.Usage;
namespace DistillGuard.Storage.Usage;

/// <summary>Durable, append-only store of usage events (SQLite embedded; PostgreSQL later).</summary>
/// <remarks>Also the history campaign pooling reads (<see cref="IUsageHistory"/>): events by account and time range.</remarks>
public interface IUsageEventStore : IUsageHistory, IAsyncDisposable
{
    /// <summary>Appends a batch atomically: all events are stored or none (one transaction).</summary>
    /// <remarks>
    /// Idempotent on <see cref="UsageEvent.RequestId"/>: a retried batch never duplicates an event. The caller may reuse
    /// <paramref name="events"/> once the returned task completes, so an implementation must not keep a reference to it.
    /// </remarks>
    Task AppendAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken);

    /// <summary>Events in time order, optionally for one account and from a point in time.</summary>
    IAsyncEnumerable<UsageEvent> ReadAsync(UsageQuery query, CancellationToken cancellationToken);

    /// <summary>Request and token totals for one account.</summary>
    Task<AccountUsage> GetAccountUsageAsync(string accountId, CancellationToken cancellationToken);

    /// <summary>Total number of stored events.</summary>
    Task<long> CountAsync(CancellationToken cancellationToken);

    /// <summary>Deletes prompt text of events older than <paramref name="olderThan"/>; returns how many were purged.</summary>
    Task<int> PurgePromptTextAsync(DateTimeOffset olderThan, CancellationToken cancellationToken);
}

/// <summary>A filter over the usage log.</summary>
public sealed record UsageQuery(string? AccountId = null, DateTimeOffset? From = null, int Limit = int.MaxValue);

/// <summary>Totals for one account.</summary>
public sealed record AccountUsage(string AccountId, long Requests, long PromptTokens, long CompletionTokens);
