using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

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
    ];

    private const string Columns = """
        request_id, ts, account_id, key_id, client_address, user_agent, endpoint, model, stream, temperature, top_p,
        max_tokens, n, logprobs, top_logprobs, seed, stop_count, prompt_tokens, completion_tokens, latency_ms, ttft_ms,
        status, error_code, finish_reason, prompt_text
        """;

    private readonly SqliteDatabase _database;
    private readonly SqliteConnection _writer;
    private readonly SqliteCommand _insert;
    private readonly SqliteParameter[] _parameters;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _disposed;

    private SqliteUsageEventStore(SqliteDatabase database)
    {
        _database = database;
        _writer = database.OpenConnection();
        _insert = _writer.CreateCommand();
        var names = Columns.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        _insert.CommandText =
            $"INSERT OR IGNORE INTO usage_events ({Columns}) VALUES ({string.Join(", ", names.Select(n => "$" + n))});";
        _parameters = names.Select(n => _insert.Parameters.Add(new SqliteParameter("$" + n, null))).ToArray();
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
        ArgumentNullException.ThrowIfNull(events);
        for (var i = 0; i < events.Count; i++)
        {
            // Checked before the transaction so a bad event rejects the whole batch without writing any of it.
            var e = events[i] ?? throw new ArgumentException($"Usage event {i} of the batch is null.", nameof(events));
            if (string.IsNullOrEmpty(e.RequestId))
            {
                throw new ArgumentException($"Usage event {i} of the batch has no RequestId.", nameof(events));
            }

            if (e.Endpoint is null)
            {
                throw new ArgumentException($"Usage event {i} ({e.RequestId}) of the batch has no Endpoint.", nameof(events));
            }
        }

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
                _insert.Transaction = transaction;
                for (var i = 0; i < events.Count; i++)
                {
                    if ((i & 63) == 63)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    Bind(events[i]);
                    _insert.ExecuteNonQuery();
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
            finally
            {
                _insert.Transaction = null;
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
        var p = _parameters;
        p[0].Value = e.RequestId;
        p[1].Value = e.Timestamp.ToUnixTimeMilliseconds();
        p[2].Value = (object?)e.AccountId ?? DBNull.Value;
        p[3].Value = (object?)e.KeyId ?? DBNull.Value;
        p[4].Value = (object?)e.ClientAddress ?? DBNull.Value;
        p[5].Value = (object?)e.UserAgent ?? DBNull.Value;
        p[6].Value = e.Endpoint;
        p[7].Value = (object?)e.Model ?? DBNull.Value;
        p[8].Value = e.Stream ? 1L : 0L;
        p[9].Value = (object?)e.Temperature ?? DBNull.Value;
        p[10].Value = (object?)e.TopP ?? DBNull.Value;
        p[11].Value = (object?)e.MaxTokens ?? DBNull.Value;
        p[12].Value = e.N;
        p[13].Value = e.Logprobs ? 1L : 0L;
        p[14].Value = (object?)e.TopLogprobs ?? DBNull.Value;
        p[15].Value = (object?)e.Seed ?? DBNull.Value;
        p[16].Value = e.StopCount;
        p[17].Value = e.PromptTokens;
        p[18].Value = e.CompletionTokens;
        p[19].Value = e.LatencyMs;
        p[20].Value = (object?)e.TimeToFirstTokenMs ?? DBNull.Value;
        p[21].Value = e.Status;
        p[22].Value = (object?)e.ErrorCode ?? DBNull.Value;
        p[23].Value = (object?)e.FinishReason ?? DBNull.Value;
        p[24].Value = (object?)e.PromptText ?? DBNull.Value;
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

        await using var connection = OpenReader();
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

    private static UsageEvent Read(SqliteDataReader r) => new()
    {
        RequestId = r.GetString(0),
        Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)),
        AccountId = r.IsDBNull(2) ? null : r.GetString(2),
        KeyId = r.IsDBNull(3) ? null : r.GetString(3),
        ClientAddress = r.IsDBNull(4) ? null : r.GetString(4),
        UserAgent = r.IsDBNull(5) ? null : r.GetString(5),
        Endpoint = r.GetString(6),
        Model = r.IsDBNull(7) ? null : r.GetString(7),
        Stream = r.GetInt64(8) != 0,
        Temperature = r.IsDBNull(9) ? null : r.GetDouble(9),
        TopP = r.IsDBNull(10) ? null : r.GetDouble(10),
        MaxTokens = r.IsDBNull(11) ? null : r.GetInt32(11),
        N = r.GetInt32(12),
        Logprobs = r.GetInt64(13) != 0,
        TopLogprobs = r.IsDBNull(14) ? null : r.GetInt32(14),
        Seed = r.IsDBNull(15) ? null : r.GetInt64(15),
        StopCount = r.GetInt32(16),
        PromptTokens = r.GetInt32(17),
        CompletionTokens = r.GetInt32(18),
        LatencyMs = r.GetDouble(19),
        TimeToFirstTokenMs = r.IsDBNull(20) ? null : r.GetDouble(20),
        Status = r.GetInt32(21),
        ErrorCode = r.IsDBNull(22) ? null : r.GetString(22),
        FinishReason = r.IsDBNull(23) ? null : r.GetString(23),
        PromptText = r.IsDBNull(24) ? null : r.GetString(24),
    };

    /// <inheritdoc />
    public async Task<AccountUsage> GetAccountUsageAsync(string accountId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = OpenReader();
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
        await using var connection = OpenReader();
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

    private SqliteConnection OpenReader()
    {
        try
        {
            return _database.OpenConnection();
        }
        catch (SqliteException ex)
        {
            throw StorageException.FromSqlite(ex, "Opening a reader", Path, "nothing was read.");
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
