using DistillGuard.Storage.Tests.Servers;
using DistillGuard.Storage.Usage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>One PostgreSQL server for every test that needs one; each test gets a schema of its own.</summary>
public sealed class PostgresFixture : IDisposable
{
    public PostgresServer Server { get; } = PostgresServer.Start();

    public void Dispose() => Server.Dispose();
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}

/// <summary>The usage log in a real PostgreSQL: the store contract plus partitions, retention, concurrent migration.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresUsageEventStoreTests(PostgresFixture postgres) : UsageEventStoreContract
{
    private readonly string _connectionString = postgres.Server.CreateSchema();
    private readonly FakeTimeProvider _time = new(UsageEvents.Epoch);

    private Task<PostgresUsageEventStore> Open(TimeSpan? retention = null, TimeSpan? maintenanceInterval = null) =>
        PostgresUsageEventStore.OpenAsync(
            new PostgresStorageOptions
            {
                ConnectionString = _connectionString,
                EventRetention = retention,
                MaintenanceInterval = maintenanceInterval ?? TimeSpan.FromHours(1),
            },
            _time, NullLogger.Instance, default);

    protected override async Task<IUsageEventStore> OpenAsync() => await Open();

    protected override async Task WriteFutureSchemaVersionAsync() =>
        await ExecuteAsync("INSERT INTO usage_schema_version VALUES (99, 'future', now());");

    private async Task<object?> ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task Open_CreatesTodaysPartitionAndThreeAhead()
    {
        await using var store = await Open();

        var days = await store.ListPartitionsAsync(default);

        var today = DateOnly.FromDateTime(UsageEvents.Epoch.UtcDateTime);
        Assert.Equal([today, today.AddDays(1), today.AddDays(2), today.AddDays(3)], days);
    }

    [Fact]
    public async Task Append_EventsOfOtherDays_LandInTheirDayPartitions()
    {
        await using var store = await Open();
        var early = UsageEvents.Make("req-old", UsageEvents.Epoch.AddDays(-10));
        var late = UsageEvents.Make("req-late", UsageEvents.Epoch.AddDays(30).AddHours(23));

        await store.AppendAsync([early, UsageEvents.Make("req-now"), late], default);

        Assert.Contains(DateOnly.FromDateTime(early.Timestamp.UtcDateTime), await store.ListPartitionsAsync(default));
        Assert.Equal("usage_events_p20251222", await ExecuteAsync("SELECT tableoid::regclass::text FROM usage_events WHERE request_id = 'req-old';"));
        Assert.Equal("usage_events_p20260131", await ExecuteAsync("SELECT tableoid::regclass::text FROM usage_events WHERE request_id = 'req-late';"));
        Assert.Equal(3, await store.CountAsync(default));
    }

    [Fact]
    public async Task Maintain_DropsOnlyWholeDaysOlderThanTheRetention()
    {
        await using var store = await Open(retention: TimeSpan.FromDays(2));
        var events = Enumerable.Range(0, 6).Select(d => UsageEvents.Make($"req-day-{d}", UsageEvents.Epoch.AddDays(d).AddHours(12))).ToList();
        await store.AppendAsync(events, default);

        // Day 5, 18:00: the retention reaches back to day 3, 18:00, so days 0–2 go and day 3 (partly younger) stays.
        _time.SetUtcNow(UsageEvents.Epoch.AddDays(5).AddHours(18));
        var dropped = await store.MaintainAsync(default);

        Assert.Equal(3, dropped);
        var left = await store.ReadAsync(new UsageQuery(), default).Select(e => e.RequestId).ToListAsync();
        Assert.Equal(["req-day-3", "req-day-4", "req-day-5"], left);
        var days = await store.ListPartitionsAsync(default);
        Assert.Equal(DateOnly.FromDateTime(UsageEvents.Epoch.AddDays(3).UtcDateTime), days[0]);
        Assert.Equal(DateOnly.FromDateTime(UsageEvents.Epoch.AddDays(8).UtcDateTime), days[^1]);
    }

    [Fact]
    public async Task Append_AfterTheMaintenanceInterval_CreatesTheNextDaysAhead()
    {
        await using var store = await Open();
        _time.Advance(TimeSpan.FromDays(10));

        await store.AppendAsync([UsageEvents.Make("req-later", _time.GetUtcNow())], default);

        var today = DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);
        Assert.Contains(today.AddDays(3), await store.ListPartitionsAsync(default));
    }

    [Fact]
    public async Task Append_LateEventOfADayAnotherGatewayDropped_CreatesItsPartitionAgain()
    {
        await using var writer = await Open(maintenanceInterval: TimeSpan.FromDays(30));
        await using var pruner = await Open(retention: TimeSpan.FromDays(2));
        await writer.AppendAsync([UsageEvents.Make("req-on-time")], default);
        _time.Advance(TimeSpan.FromDays(5));
        Assert.Equal(3, await pruner.MaintainAsync(default));

        // The writer still believes the first day's partition exists (its next maintenance is weeks away).
        await writer.AppendAsync([UsageEvents.Make("req-late", UsageEvents.Epoch.AddHours(1))], default);

        Assert.Equal(["req-late"], await writer.ReadAsync(new UsageQuery(), default).Select(e => e.RequestId).ToListAsync());
    }

    [Fact]
    public async Task Open_ManyGatewaysAtOnce_ApplyEachMigrationOnce()
    {
        var stores = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => Open())));
        try
        {
            await Task.WhenAll(stores.Select((s, i) => s.AppendAsync(UsageEvents.Range(i * 10, 10), default)));

            Assert.Equal(1L, await ExecuteAsync("SELECT COUNT(*) FROM usage_schema_version;"));
            Assert.Equal(60, await stores[0].CountAsync(default));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Append_TextPostgresCannotHold_IsStoredWithReplacementCharacters()
    {
        await using var store = await Open();
        var e = UsageEvents.Make("req-nul", prompt: "a\0b\uD800c 😀") with { UserAgent = "agent\0" };

        await store.AppendAsync([e], default);

        var read = Assert.Single(await store.ReadAsync(new UsageQuery(), default).ToListAsync());
        Assert.Equal("a\uFFFDb\uFFFDc 😀", read.PromptText);
        Assert.Equal("agent\uFFFD", read.UserAgent);
    }

    [Fact]
    public async Task Open_ServerUnreachable_ThrowsTransientStorageException_NamingNoPassword()
    {
        var closed = PostgresServer.FreePort();

        var ex = await Assert.ThrowsAsync<StorageException>(() => PostgresUsageEventStore.OpenAsync(
            new PostgresStorageOptions { ConnectionString = $"Host=127.0.0.1;Port={closed};Username=dg;Password=s3cret-pw;Timeout=2" },
            _time, NullLogger.Instance, default));

        Assert.True(ex.IsTransient);
        Assert.Contains($"127.0.0.1:{closed}", ex.Message);
        Assert.DoesNotContain("s3cret", ex.ToString());
    }

    [Fact]
    public async Task Open_InvalidConnectionString_ThrowsArgumentException()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => PostgresUsageEventStore.OpenAsync(
            new PostgresStorageOptions { ConnectionString = "Hots=nowhere" }, _time, NullLogger.Instance, default));
        Assert.Contains("ConnectionString", ex.Message);
    }
}
