namespace DistillGuard.Usage;

/// <summary>Reads back what accounts sent: the usage log's history, for analyses that start after the traffic (campaign pooling).</summary>
/// <remarks>
/// The embedded SQLite usage store implements it with one indexed range read per account on <c>(account_id, ts)</c>; a
/// shared store (PostgreSQL) for several gateways implements the same contract. Implementations must stream: a large
/// campaign's week of history does not fit in memory.
/// </remarks>
public interface IUsageHistory
{
    /// <summary>Events of <paramref name="accountIds"/> with <paramref name="from"/> ≤ timestamp &lt; <paramref name="to"/>, in time order.</summary>
    IAsyncEnumerable<UsageEvent> ReadAccountsAsync(IReadOnlyCollection<string> accountIds, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);
}
