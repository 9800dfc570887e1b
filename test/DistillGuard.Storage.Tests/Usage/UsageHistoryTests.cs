using DistillGuard.Storage.Usage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>The usage log read back by accounts and time range, for campaign pooling.</summary>
public sealed class UsageHistoryTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(UsageEvents.Epoch);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ReadAccounts_ReturnsOnlyThoseAccountsInTheRange_InTimeOrder()
    {
        await using var store = SqliteUsageEventStore.Open(_dir.Path, new StorageOptions(), _time, NullLogger.Instance);
        string[] accounts = ["a", "b", "c", "d"];
        var events = Enumerable.Range(0, 40)
            .Select(i => UsageEvents.Make($"req-{i}", UsageEvents.Epoch.AddSeconds(40 - i), account: accounts[i % 4]))
            .ToList();
        await store.AppendAsync(events, default);

        var read = await store.ReadAccountsAsync(["b", "d", "nobody"], UsageEvents.Epoch.AddSeconds(10), UsageEvents.Epoch.AddSeconds(30), default).ToListAsync();

        var expected = events.Where(e => e.AccountId is "b" or "d" && e.Timestamp >= UsageEvents.Epoch.AddSeconds(10) && e.Timestamp < UsageEvents.Epoch.AddSeconds(30))
            .OrderBy(e => e.Timestamp).Select(e => e.RequestId).ToList();
        Assert.Equal(10, expected.Count);
        Assert.Equal(expected, read.Select(e => e.RequestId));
        Assert.Empty(await store.ReadAccountsAsync([], UsageEvents.Epoch, UsageEvents.Epoch.AddDays(1), default).ToListAsync());
    }

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
