using System.Runtime.CompilerServices;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Gateway.Tests.Infrastructure;

/// <summary>A usage store in memory whose appends can be made to fail (a full disk, a locked file) for as long as a test wants.</summary>
internal sealed class MemoryUsageEventStore : IUsageEventStore
{
    private readonly Lock _lock = new();
    private readonly List<UsageEvent> _events = [];
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

    /// <summary>When set, every append throws this (as SQLite does on a full disk) and stores nothing.</summary>
    public Exception? Fault { get; set; }

    public int FailedAppends { get; private set; }

    public IReadOnlyList<UsageEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public Task AppendAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (Fault is { } fault)
            {
                FailedAppends++;
                throw fault;
            }

            foreach (var e in events)
            {
                if (_ids.Add(e.RequestId))
                {
                    _events.Add(e);
                }
            }
        }

        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<UsageEvent> ReadAsync(UsageQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        foreach (var e in Events.Where(e => query.AccountId is null || e.AccountId == query.AccountId).Take(query.Limit))
        {
            yield return e;
        }
    }

    public Task<AccountUsage> GetAccountUsageAsync(string accountId, CancellationToken cancellationToken)
    {
        var mine = Events.Where(e => e.AccountId == accountId).ToList();
        return Task.FromResult(new AccountUsage(accountId, mine.Count, mine.Sum(e => (long)e.PromptTokens), mine.Sum(e => (long)e.CompletionTokens)));
    }

    public Task<long> CountAsync(CancellationToken cancellationToken) => Task.FromResult((long)Events.Count);

    public Task<int> PurgePromptTextAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) => Task.FromResult(0);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public async IAsyncEnumerable<UsageEvent> ReadAccountsAsync(IReadOnlyCollection<string> accountIds, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var e in Events.Where(e => e.AccountId is not null && accountIds.Contains(e.AccountId) && e.Timestamp >= from && e.Timestamp < to).OrderBy(e => e.Timestamp))
        {
            yield return e;
        }
    }
}
