using DistillGuard.Storage.Usage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Storage.Tests.Usage;

public sealed class SqliteUsageEventStoreTests : UsageEventStoreContract, IDisposable
{
    private readonly ScratchDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(UsageEvents.Epoch);

    public void Dispose() => _dir.Dispose();

    private SqliteUsageEventStore Open() =>
        SqliteUsageEventStore.Open(_dir.Path, new StorageOptions(), _time, NullLogger.Instance);

    protected override Task<IUsageEventStore> OpenAsync() => Task.FromResult<IUsageEventStore>(Open());

    protected override async Task WriteFutureSchemaVersionAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={_dir.File("usage.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO schema_version VALUES (99, 'future', 0);";
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Append_DiskFull_ThrowsStorageException_AndBatchIsNotHalfWritten()
    {
        await using var store = Open();
        await store.AppendAsync(UsageEvents.Range(0, 10), default);
        var pages = await PageCountAsync();
        store.SetMaxPageCount(pages + 2);

        var big = Enumerable.Range(100, 2_000).Select(i => UsageEvents.Make($"req-{i}", prompt: new string('x', 2_000))).ToList();
        var ex = await Assert.ThrowsAsync<StorageException>(() => store.AppendAsync(big, default));

        Assert.True(ex.IsTransient);
        Assert.Contains("full", ex.Message);
        Assert.Contains("rolled back", ex.Message);
        Assert.Equal(13, Assert.IsType<SqliteException>(ex.InnerException).SqliteErrorCode);
        Assert.Equal(10, await store.CountAsync(default));

        // Once space is back, the same prepared insert and the same batch succeed.
        store.SetMaxPageCount(1_000_000);
        await store.AppendAsync(big, default);
        Assert.Equal(2_010, await store.CountAsync(default));
    }

    [Fact]
    public async Task Schema_IsAtTheLatestVersion_InWalMode_AfterReopen()
    {
        await using (var store = Open())
        {
            await store.AppendAsync(UsageEvents.Range(0, 5), default);
        }

        await using (var store = Open())
        {
            Assert.Equal(5, await store.CountAsync(default));
        }

        await using var connection = new SqliteConnection($"Data Source={_dir.File("usage.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), MAX(version) FROM schema_version; ";
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(3, reader.GetInt64(0));
        Assert.Equal(3, reader.GetInt64(1));
        await using var mode = connection.CreateCommand();
        mode.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)await mode.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Open_FileWrittenBeforeTheEchoColumn_IsMigrated_OldRowsReadAsNotEchoed()
    {
        // A usage.db as version 1 wrote it: the table without the echo column, one row in it.
        await using (var old = new SqliteConnection($"Data Source={_dir.File("usage.db")};Pooling=False"))
        {
            await old.OpenAsync();
            await using var create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL);
                INSERT INTO schema_version VALUES (1, 'usage_events', 0);
                CREATE TABLE usage_events (
                    id INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL, account_id TEXT, key_id TEXT,
                    client_address TEXT, user_agent TEXT, endpoint TEXT NOT NULL, model TEXT, stream INTEGER NOT NULL,
                    temperature REAL, top_p REAL, max_tokens INTEGER, n INTEGER NOT NULL, logprobs INTEGER NOT NULL,
                    top_logprobs INTEGER, seed INTEGER, stop_count INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
                    completion_tokens INTEGER NOT NULL, latency_ms REAL NOT NULL, ttft_ms REAL, status INTEGER NOT NULL,
                    error_code TEXT, finish_reason TEXT, prompt_text TEXT);
                INSERT INTO usage_events (request_id, ts, account_id, endpoint, stream, n, logprobs, top_logprobs, stop_count, prompt_tokens, completion_tokens, latency_ms, status)
                VALUES ('old-1', 1000, 'acct', 'completions', 0, 1, 1, 3, 0, 40, 0, 1.5, 200);
                """;
            await create.ExecuteNonQueryAsync();
        }

        await using var store = Open();
        var echoed = UsageEvents.Make("new-1", UsageEvents.Epoch.AddSeconds(5));
        await store.AppendAsync([echoed], default);

        var read = await store.ReadAsync(new UsageQuery(), default).ToListAsync();
        Assert.Equal(["old-1", "new-1"], read.Select(e => e.RequestId));
        Assert.False(read[0].Echo);
        Assert.Equal("completions", read[0].Api);
        Assert.Equal(3, read[0].TopLogprobs);
        Assert.Equal(echoed, read[1]);
    }

    private async Task<long> PageCountAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={_dir.File("usage.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_count;";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
