using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>An in-memory store whose behaviour a test sets through callbacks.</summary>
internal sealed class FakeUsageEventStore : IUsageEventStore
{
    public ConcurrentDictionary<string, UsageEvent> Events { get; } = new();

    public int AppendCalls;

    /// <summary>Runs before each append; throw to make it fail, await to block it.</summary>
    public Func<IReadOnlyList<UsageEvent>, CancellationToken, Task>? BeforeAppend { get; set; }

    public Func<DateTimeOffset, int>? OnPurge { get; set; }

    public async Task AppendAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref AppendCalls);
        if (BeforeAppend is { } before)
        {
            await before(events, cancellationToken);
        }

        foreach (var e in events)
        {
            Events.TryAdd(e.RequestId, e);
        }
    }

    public async IAsyncEnumerable<UsageEvent> ReadAsync(UsageQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var e in Events.Values.OrderBy(e => e.Timestamp))
        {
            yield return e;
        }
    }

    public async IAsyncEnumerable<UsageEvent> ReadAccountsAsync(IReadOnlyCollection<string> accountIds, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var e in Events.Values.Where(e => e.AccountId is not null && accountIds.Contains(e.AccountId) && e.Timestamp >= from && e.Timestamp < to).OrderBy(e => e.Timestamp))
        {
            yield return e;
        }
    }

    public Task<AccountUsage> GetAccountUsageAsync(string accountId, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<long> CountAsync(CancellationToken cancellationToken) => Task.FromResult((long)Events.Count);

    public Task<int> PurgePromptTextAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) =>
        Task.FromResult(OnPurge?.Invoke(olderThan) ?? 0);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
