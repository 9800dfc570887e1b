using System.Collections.Concurrent;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>What every usage event store does, SQLite or PostgreSQL: each store's test class runs all of these.</summary>
public abstract class UsageEventStoreContract
{
    /// <summary>Opens (creating or migrating) the store of this test; a second call opens the same data again.</summary>
    protected abstract Task<IUsageEventStore> OpenAsync();

    /// <summary>Records schema version 99 in the store's version table, as a newer build would.</summary>
    protected abstract Task WriteFutureSchemaVersionAsync();

    [Fact]
    public async Task Append_RoundTripsEveryField()
    {
        await using var store = await OpenAsync();
        var full = UsageEvents.Make("req-full", UsageEvents.Epoch.AddMilliseconds(1234)) with { ErrorCode = "rate_limit", Status = 429 };
        var sparse = new UsageEvent { RequestId = "req-sparse", Timestamp = UsageEvents.Epoch.AddSeconds(2), Endpoint = "models" };

        await store.AppendAsync([full, sparse], default);

        var read = await store.ReadAsync(new UsageQuery(), default).ToListAsync();
        Assert.Equal([full, sparse], read);
        Assert.Equal(TimeSpan.Zero, read[0].Timestamp.Offset);
    }

    [Fact]
    public async Task Append_SubMillisecondTimestamp_IsStoredToTheMillisecond()
    {
        await using var store = await OpenAsync();
        var at = UsageEvents.Epoch.AddMilliseconds(5).AddTicks(4_321);

        await store.AppendAsync([UsageEvents.Make("req-ticks", at)], default);

        var read = Assert.Single(await store.ReadAsync(new UsageQuery(From: at), default).ToListAsync());
        Assert.Equal(UsageEvents.Epoch.AddMilliseconds(5), read.Timestamp);
    }

    [Fact]
    public async Task Append_RetriedBatch_DoesNotDuplicate()
    {
        await using var store = await OpenAsync();
        var batch = UsageEvents.Range(0, 100);

        await store.AppendAsync(batch, default);
        await store.AppendAsync(batch, default);
        await store.AppendAsync(UsageEvents.Range(50, 100), default);

        Assert.Equal(150, await store.CountAsync(default));
        Assert.Equal(150, (await store.ReadAsync(new UsageQuery(), default).Select(e => e.RequestId).ToHashSetAsync()).Count);
    }

    [Fact]
    public async Task Read_IsInTimeOrder_AndFiltersByAccountFromAndLimit()
    {
        await using var store = await OpenAsync();
        var events = Enumerable.Range(0, 20)
            .Select(i => UsageEvents.Make($"req-{i}", UsageEvents.Epoch.AddSeconds(19 - i), account: i % 2 == 0 ? "even" : "odd"))
            .ToList();
        await store.AppendAsync(events, default);

        var all = await store.ReadAsync(new UsageQuery(), default).ToListAsync();
        Assert.Equal(all.OrderBy(e => e.Timestamp).Select(e => e.RequestId), all.Select(e => e.RequestId));

        var odd = await store.ReadAsync(new UsageQuery("odd", UsageEvents.Epoch.AddSeconds(10), Limit: 3), default).ToListAsync();
        Assert.Equal(["req-9", "req-7", "req-5"], odd.Select(e => e.RequestId));

        var usage = await store.GetAccountUsageAsync("even", default);
        Assert.Equal(new AccountUsage("even", 10, 120, 1000), usage);
        Assert.Equal(new AccountUsage("nobody", 0, 0, 0), await store.GetAccountUsageAsync("nobody", default));
    }

    [Fact]
    public async Task Append_BatchWithMissingRequestId_ThrowsAndWritesNothing()
    {
        await using var store = await OpenAsync();
        var batch = UsageEvents.Range(0, 3);
        batch.Add(UsageEvents.Make(""));

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(batch, default));
        Assert.Contains("event 3", ex.Message);
        Assert.Equal(0, await store.CountAsync(default));
    }

    [Fact]
    public async Task Events_SurviveReopen()
    {
        await using (var store = await OpenAsync())
        {
            await store.AppendAsync(UsageEvents.Range(0, 5), default);
        }

        await using (var store = await OpenAsync())
        {
            Assert.Equal(5, await store.CountAsync(default));
            await store.AppendAsync(UsageEvents.Range(5, 5), default);
            Assert.Equal(10, await store.CountAsync(default));
        }
    }

    [Fact]
    public async Task Open_NewerSchema_ThrowsStorageExceptionNamingVersions()
    {
        await using (await OpenAsync())
        {
        }

        await WriteFutureSchemaVersionAsync();

        var ex = await Assert.ThrowsAsync<StorageException>(OpenAsync);
        Assert.Contains("schema version 99", ex.Message);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task PurgePromptText_NullsOnlyOlderPrompts()
    {
        await using var store = await OpenAsync();
        var events = Enumerable.Range(0, 12_000)
            .Select(i => UsageEvents.Make($"req-{i}", UsageEvents.Epoch.AddSeconds(i)))
            .ToList();
        await store.AppendAsync(events, default);

        // More than one purge chunk (5,000) so the chunked loop is exercised.
        var purged = await store.PurgePromptTextAsync(UsageEvents.Epoch.AddSeconds(11_000), default);
        Assert.Equal(11_000, purged);
        Assert.Equal(0, await store.PurgePromptTextAsync(UsageEvents.Epoch.AddSeconds(11_000), default));

        var read = await store.ReadAsync(new UsageQuery(), default).ToListAsync();
        Assert.All(read.Take(11_000), e => Assert.Null(e.PromptText));
        Assert.All(read.Skip(11_000), e => Assert.NotNull(e.PromptText));
        Assert.All(read, e => Assert.Equal(12, e.PromptTokens));
    }

    [Fact]
    public async Task ReadAccounts_ReturnsOnlyThoseAccountsInTheRange_InTimeOrder()
    {
        await using var store = await OpenAsync();
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
    public async Task UsageLog_ConcurrentWriters_EveryEventLandsExactlyOnce()
    {
        await using var store = await OpenAsync();
        var log = new UsageLog(store, new UsageLogOptions { PromptRetention = null }, TimeProvider.System);
        await log.StartAsync(default);

        const int threads = 4, perThread = 2_500;
        var failures = new ConcurrentBag<string>();
        var writers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            for (var i = 0; i < perThread; i++)
            {
                if (!log.TryWrite(UsageEvents.Make($"req-{t}-{i}", UsageEvents.Epoch.AddMilliseconds(i))))
                {
                    failures.Add($"req-{t}-{i}");
                }
            }
        })).ToList();
        writers.ForEach(w => w.Start());
        writers.ForEach(w => w.Join());
        await log.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

        Assert.Empty(failures);
        var expected = Enumerable.Range(0, threads).SelectMany(t => Enumerable.Range(0, perThread).Select(i => $"req-{t}-{i}")).ToHashSet();
        var stored = await store.ReadAsync(new UsageQuery(), default).Select(e => e.RequestId).ToListAsync();
        Assert.Equal(threads * perThread, stored.Count);
        Assert.True(expected.SetEquals(stored));
        Assert.Equal(threads * perThread, log.Written);
    }
}
