using DistillGuard.Storage.Usage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>The SQLite usage log read back by accounts and time range, for campaign pooling (the results: <see cref="UsageEventStoreContract"/>).</summary>
public sealed class UsageHistoryTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(UsageEvents.Epoch);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ReadAccounts_WalksTheAccountTimeIndex()
    {
        await using (var store = SqliteUsageEventStore.Open(_dir.Path, new StorageOptions(), _time, NullLogger.Instance))
        {
            await store.AppendAsync(UsageEvents.Range(0, 10), default);
        }

        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, SqliteUsageEventStore.FileName)}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN SELECT ts FROM usage_events WHERE account_id IN (SELECT value FROM json_each('[\"a\",\"b\"]')) AND ts >= 0 AND ts < 99 ORDER BY ts, id;";
        using var reader = command.ExecuteReader();
        var plan = new List<string>();
        while (reader.Read())
        {
            plan.Add(reader.GetString(3));
        }

        Assert.Contains(plan, p => p.Contains("ix_usage_events_account_ts", StringComparison.Ordinal) && p.Contains("account_id=? AND ts>? AND ts<?", StringComparison.Ordinal));
    }
}
