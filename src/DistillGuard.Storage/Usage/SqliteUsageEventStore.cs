using System.Runtime.CompilerServices;
using DistillGuard.Usage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace DistillGuard.Storage.Usage;

/// <summary>The usage log in <c>usage.db</c>: one writer connection with a reused prepared insert, readers on their own connections.</summary>
/// <remarks>Thread safety: all members may be called concurrently; writes are serialized on one connection.</remarks>
internal sealed class SqliteUsageEventStore : IUsageEventStore
{
    public const string FileName = "usage.db";

    // Rows purged per transaction: keeps the write lock short so appends interleave with a large purge.
    private const int PurgeChunk = 5_000;

    private static readonly SqliteMigration[] Migrations =
    [
        new(1, "usage_events with indexes on (account_id, ts) and ts", """
            CREATE TABLE usage_events (
                id                  INTEGER PRIMARY KEY,
                request_id          TEXT    NOT NULL UNIQUE,
                ts                  INTEGER NOT NULL,
                account_id          TEXT,
                key_id              TEXT,
                client_address      TEXT,
                user_agent          TEXT,
                endpoint            TEXT    NOT NULL,
                model               TEXT,
                stream              INTEGER NOT NULL,
                temperature         REAL,
                top_p               REAL,
                max_tokens          INTEGER,
                n                   INTEGER NOT NULL,
                logprobs            INTEGER NOT NULL,
                top_logprobs        INTEGER,
                seed                INTEGER,
                stop_count          INTEGER NOT NULL,
                prompt_tokens       INTEGER NOT NULL,
                completion_tokens   INTEGER NOT NULL,
                latency_ms          REAL    NOT NULL,
                ttft_ms             REAL,
                status              INTEGER NOT NULL,
                error_code          TEXT,
                finish_reason       TEXT,
                prompt_text         TEXT
            );
            CREATE INDEX ix_usage_events_account_ts ON usage_events (account_id, ts);
            CREATE INDEX ix_usage_events_ts ON usage_events (ts);
            -- Only rows that still hold prompt text: the periodic purge never rescans already purged history.
            CREATE INDEX ix_usage_events_prompt_ts ON usage_events (ts) WHERE prompt_text IS NOT NULL;
            """),

        // Files written before the column existed read as "not echoed", which is what those requests were recorded as.
        new(2, "usage_events.echo (prompt echoed with its logprobs)", """
            ALTER TABLE usage_events ADD COLUMN echo INTEGER NOT NULL DEFAULT 0;
            """),

        // Before the column every request came by the API its endpoint names, so old rows take the endpoint.
        new(3, "usage_events.api (the wire API a request came by: chat.completions, completions, responses, messages)", """
            ALTER TABLE usage_events ADD COLUMN api TEXT;
            UPDATE usage_events SET api = endpoint;
            """),
    ];

    private const string Columns = UsageEventColumns.List;

    private readonly SqliteDatabase _database;
    private readonly SqliteConnection _writer;
    // Raw prepared statement bound by index: Microsoft.Data.Sqlite's SqliteCommand re-resolves every parameter by name and
    // boxes every value per execution, which measured at roughly half the store's time per event (docs/benchmarks.md).
    private readonly sqlite3_stmt _insert;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _disposed;

    private SqliteUsageEventStore(SqliteDatabase database)
    {
        _database = database;
        _writer = database.OpenConnection();
        var names = Columns.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var sql = $"INSERT OR IGNORE INTO usage_events ({Columns}) VALUES ({string.Join(", ", names.Select((_, i) => "?" + (i + 1)))});";
        var rc = raw.sqlite3_prepare_v2(_writer.Handle, sql, out _insert);
        SqliteException.ThrowExceptionForRC(rc, _writer.Handle);
    }

    /// <summary>Full path of the database file.</summary>
    public string Path => _database.Path;

    /// <summary>Opens (creating and migrating if needed) <c>usage.db</c> in <paramref name="directory"/>.</summary>
    public static SqliteUsageEventStore Open(string directory, StorageOptions options, TimeProvider time, ILogger logger)
    {
        var database = SqliteDatabase.Open(
            System.IO.Path.Combine(directory, FileName), options.BusyTimeout, Migrations, time, logger);
        try
        {
            return new SqliteUsageEventStore(database);
        }
        catch (SqliteException ex)
        {
            throw StorageException.FromSqlite(ex, "Opening the usage writer", database.Path, "the store was not opened.");
        }
    }

    /// <inheritdoc />
    public async Task AppendAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        // Checked before the transaction so a bad event rejects the whole batch without writing any of it.
        UsageEventColumns.Validate(events);

        if (events.Count == 0)
        {
            return;
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            AppendLocked(events, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // Synchronous on purpose: Microsoft.Data.Sqlite's async methods run synchronously anyway, and the caller is a background loop.
    private void AppendLocked(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        SqliteTransaction transaction;
        try
        {
            transaction = _writer.BeginTransaction(deferred: false);
        }
        catch (SqliteException ex)
        {
            throw StorageException.FromSqlite(
                ex, $"Starting a transaction for {events.Count} usage events", Path, "nothing was written.");
        }

        using (transaction)
        {
            try
            {
                for (var i = 0; i < events.Count; i++)
                {
                    if ((i & 63) == 63)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    Bind(events[i]);
                    var rc = raw.sqlite3_step(_insert);
                    raw.sqlite3_reset(_insert);
                    if (rc != raw.SQLITE_DONE)
                    {
                        SqliteException.ThrowExceptionForRC(rc, _writer.Handle);
                    }
                }

                transaction.Commit();
            }
            catch (SqliteException ex)
            {
                RollBackQuietly(transaction);
                throw StorageException.FromSqlite(
                    ex, $"Appending a batch of {events.Count} usage events", Path,
                    "the transaction was rolled back and no event of the batch was stored.");
            }
            catch
            {
                RollBackQuietly(transaction);
                throw;
            }
        }
    }

    private static void RollBackQuietly(SqliteTransaction transaction)
    {
        try
        {
            transaction.Rollback();
        }
        catch (SqliteException)
        {
            // SQLite already rolled back on its own (e.g. after SQLITE_FULL); nothing of the batch remains either way.
        }
        catch (InvalidOperationException)
        {
            // The transaction had already completed.
        }
    }

    private void Bind(UsageEvent e)
    {
        var st = _insert;
        Text(st, 1, e.RequestId);
        raw.sqlite3_bind_int64(st, 2, e.Timestamp.ToUnixTimeMilliseconds());
        Text(st, 3, e.AccountId);
        Text(st, 4, e.KeyId);
        Text(st, 5, e.ClientAddress);
        Text(st, 6, e.UserAgent);
        Text(st, 7, e.Endpoint);
        Text(st, 8, e.Model);
        raw.sqlite3_bind_int(st, 9, e.Stream ? 1 : 0);
        Real(st, 10, e.Temperature);
        Real(st, 11, e.TopP);
        Integer(st, 12, e.MaxTokens);
        raw.sqlite3_bind_int(st, 13, e.N);
        raw.sqlite3_bind_int(st, 14, e.Logprobs ? 1 : 0);
        Integer(st, 15, e.TopLogprobs);
        Integer(st, 16, e.Seed);
        raw.sqlite3_bind_int(st, 17, e.StopCount);
        raw.sqlite3_bind_int(st, 18, e.PromptTokens);
        raw.sqlite3_bind_int(st, 19, e.CompletionTokens);
        raw.sqlite3_bind_double(st, 20, e.LatencyMs);
        Real(st, 21, e.TimeToFirstTokenMs);
        raw.sqlite3_bind_int(st, 22, e.Status);
        Text(st, 23, e.ErrorCode);
        Text(st, 24, e.FinishReason);
        Text(st, 25, e.PromptText);
        raw.sqlite3_bind_int(st, 26, e.Echo ? 1 : 0);
        Text(st, 27, e.Api);
    }

    // UTF-16 binding: SQLite converts natively, so no UTF-8 copy is allocated per value.
    private static void Text(sqlite3_stmt st, int index, string? value)
    {
        if (value is null)
        {
            raw.sqlite3_bind_null(st, index);
        }
        else
        {
            raw.sqlite3_bind_text16(st, index, value.AsSpan());
        }
    }

    private static void Real(sqlite3_stmt st, int index, double? value)
    {
        if (value is { } v)
        {
            raw.sqlite3_bind_double(st, index, v);
        }
        else
        {
            raw.sqlite3_bind_null(st, index);
        }
    }

    private static void Integer(sqlite3_stmt st, int index, long? value)
    {
        if (value is { } v)
        {
            raw.sqlite3_bind_int64(st, index, v);
        }
        else
        {
            raw.sqlite3_bind_null(st, index);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<UsageEvent> ReadAsync(
        UsageQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Limit, nameof(query));
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (query.Limit == 0)
        {
            yield break;
        }

        await using var connection = _database.OpenReader();
        await using var command = connection.CreateCommand();
        var where = new List<string>(2);
        if (query.AccountId is not null)
        {
            where.Add("account_id = $account");
            command.Parameters.AddWithValue("$account", query.AccountId);
        }

        if (query.From is { } from)
        {
            where.Add("ts >= $from");
            command.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
        }

        // Separate SQL per filter (not "$x IS NULL OR ...") so SQLite can use the (account_id, ts) or ts index.
        command.CommandText =
            $"SELECT {Columns} FROM usage_events {(where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where))} ORDER BY ts, id LIMIT $limit;";
        command.Parameters.AddWithValue("$limit", query.Limit);

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return Read(reader);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// One statement: the account list is bound as one JSON array, so SQLite walks the <c>(account_id, ts)</c> index once
    /// per account over the time range and merges the rows by time in a sorter (a temporary B-tree, spilled to disk
    /// when large); rows are streamed, never collected.
    /// </remarks>
    public async IAsyncEnumerable<UsageEvent> ReadAccountsAsync(
        IReadOnlyCollection<string> accountIds, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountIds);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (accountIds.Count == 0 || to <= from)
        {
            yield break;
        }

        await using var connection = _database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {Columns} FROM usage_events
            WHERE account_id IN (SELECT value FROM json_each($accounts)) AND ts >= $from AND ts < $to
            ORDER BY ts, id;
            """;
        command.Parameters.AddWithValue("$accounts", System.Text.Json.JsonSerializer.Serialize(accountIds, UsageJsonContext.Default.IReadOnlyCollectionString));
        command.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$to", to.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return Read(reader);
        }
    }

    private static UsageEvent Read(SqliteDataReader r) =>
        UsageEventColumns.Read(r, DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)));

    /// <inheritdoc />
    public async Task<AccountUsage> GetAccountUsageAsync(string accountId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = _database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0)
            FROM usage_events WHERE account_id = $account;
            """;
        command.Parameters.AddWithValue("$account", accountId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new AccountUsage(accountId, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <inheritdoc />
    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = _database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM usage_events;";
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<int> PurgePromptTextAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        var cutoff = olderThan.ToUnixTimeMilliseconds();
        var total = 0;
        while (true)
        {
            int purged;
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                using var command = _writer.CreateCommand();
                command.CommandText = """
                    UPDATE usage_events SET prompt_text = NULL
                    WHERE id IN (SELECT id FROM usage_events WHERE prompt_text IS NOT NULL AND ts < $cutoff LIMIT $chunk);
                    """;
                command.Parameters.AddWithValue("$cutoff", cutoff);
                command.Parameters.AddWithValue("$chunk", PurgeChunk);
                purged = command.ExecuteNonQuery();
            }
            catch (SqliteException ex)
            {
                throw StorageException.FromSqlite(
                    ex, "Purging prompt text", Path, $"{total} events were purged before the failure; the rest keep their text.");
            }
            finally
            {
                _writeLock.Release();
            }

            total += purged;
            if (purged < PurgeChunk)
            {
                return total;
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Test seam: caps the file size in pages so a test can provoke SQLITE_FULL.</summary>
    internal void SetMaxPageCount(long pages)
    {
        _writeLock.Wait();
        try
        {
            using var command = _writer.CreateCommand();
            command.CommandText = $"PRAGMA max_page_count={pages};";
            command.ExecuteNonQuery();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            // Finalized before the close: a pooled connection with a live statement would keep the file busy.
            _insert.Dispose();
            _database.ReleasePool(_writer);
            await _writer.DisposeAsync().ConfigureAwait(false);
            // Clearing after the close too: the writer returns to the pool on Dispose, and the pool must let go of the file.
            _database.ReleasePool(_writer);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}

/// <summary>Source-generated JSON for the account lists bound into usage queries.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyCollection<string>))]
internal sealed partial class UsageJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
