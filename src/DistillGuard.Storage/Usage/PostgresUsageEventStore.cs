using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace DistillGuard.Storage.Usage;

/// <summary>
/// The usage log in PostgreSQL: batches arrive by binary <c>COPY</c> into <c>usage_events</c>, a table partitioned by day
/// (UTC) with partitions created ahead; event retention drops whole day partitions.
/// </summary>
/// <remarks>
/// Thread safety: all members may be called concurrently; appends and maintenance of one store are serialized, and
/// several gateways may append to the same database at once (partition changes and migrations take an advisory lock).
/// Idempotency: the key is <c>(request_id, ts)</c> (a unique key of a partitioned table must hold its partition key), so a
/// retried batch — the same events, the same timestamps — never duplicates.
/// </remarks>
public sealed class PostgresUsageEventStore : IUsageEventStore
{
    // pg_advisory_xact_lock keys ("DGUSAGE" in ASCII): one for schema migrations and partition changes of the usage log.
    private const long SchemaLock = 0x44_47_55_53_41_47_45;
    private const string VersionTable = "usage_schema_version";
    private const string PartitionPrefix = "usage_events_p";
    private const string Columns = UsageEventColumns.List;

    // Rows purged per statement: keeps row locks short so appends interleave with a large purge.
    private const int PurgeChunk = 5_000;

    private static readonly PostgresMigration[] Migrations =
    [
        new(1, "usage_events partitioned by day, keyed by (request_id, ts), indexes on (account_id, ts) and ts", """
            CREATE SEQUENCE usage_events_id_seq AS bigint;
            CREATE TABLE usage_events (
                id                  bigint           NOT NULL DEFAULT nextval('usage_events_id_seq'),
                request_id          text             NOT NULL,
                ts                  timestamptz      NOT NULL,
                account_id          text,
                key_id              text,
                client_address      text,
                user_agent          text,
                endpoint            text             NOT NULL,
                model               text,
                stream              boolean          NOT NULL,
                temperature         double precision,
                top_p               double precision,
                max_tokens          integer,
                n                   integer          NOT NULL,
                logprobs            boolean          NOT NULL,
                top_logprobs        integer,
                seed                bigint,
                stop_count          integer          NOT NULL,
                prompt_tokens       integer          NOT NULL,
                completion_tokens   integer          NOT NULL,
                latency_ms          double precision NOT NULL,
                ttft_ms             double precision,
                status              integer          NOT NULL,
                error_code          text,
                finish_reason       text,
                prompt_text         text,
                echo                boolean          NOT NULL,
                api                 text,
                PRIMARY KEY (request_id, ts)
            ) PARTITION BY RANGE (ts);
            ALTER SEQUENCE usage_events_id_seq OWNED BY usage_events.id;
            CREATE INDEX ix_usage_events_account_ts ON usage_events (account_id, ts);
            CREATE INDEX ix_usage_events_ts ON usage_events (ts, id);
            -- Only rows that still hold prompt text: the periodic purge never rescans already purged history.
            CREATE INDEX ix_usage_events_prompt_ts ON usage_events (ts) WHERE prompt_text IS NOT NULL;
            """),
    ];

    // A NUL cannot be stored in PostgreSQL text and a lone surrogate cannot be encoded as UTF-8; either would fail every
    // retry of its batch, so such characters are replaced by U+FFFD (SQLite stores them as given).
    private static readonly SearchValues<char> Unstorable = SearchValues.Create("\0" + string.Concat(Enumerable.Range(0xD800, 0x800).Select(c => (char)c)));

    private readonly PostgresDatabase _database;
    private readonly PostgresStorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly HashSet<DateOnly> _partitions = [];
    private readonly List<DateOnly> _batchDays = [];
    private DateTimeOffset _nextMaintenance;
    private bool _disposed;

    private PostgresUsageEventStore(PostgresDatabase database, PostgresStorageOptions options, TimeProvider time, ILogger logger)
    {
        _database = database;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary><c>host:port/database</c> of the server.</summary>
    public string DatabaseName => _database.Name;

    /// <summary>Connects, applies missing migrations, creates today's partition and those ahead, and drops expired ones.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="StorageException">The server cannot be reached, refuses the login, or holds a newer schema.</exception>
    public static async Task<PostgresUsageEventStore> OpenAsync(
        PostgresStorageOptions options, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        var database = PostgresDatabase.Create(options.ConnectionString);
        var store = new PostgresUsageEventStore(database, options, time, logger);
        try
        {
            await database.MigrateAsync(SchemaLock, VersionTable, Migrations, time, logger, cancellationToken).ConfigureAwait(false);
            await store.MaintainAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The days (UTC) that have a partition, oldest first.</summary>
    public async Task<IReadOnlyList<DateOnly>> ListPartitionsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync("Listing partitions", "nothing was read.", cancellationToken).ConfigureAwait(false);
        try
        {
            var days = await ReadPartitionsAsync(connection, cancellationToken).ConfigureAwait(false);
            days.Sort();
            return days;
        }
        catch (NpgsqlException ex)
        {
            throw StorageException.FromPostgres(ex, "Listing partitions", _database.Name, "nothing was read.");
        }
    }

    /// <summary>Creates the partitions of today and <see cref="PostgresStorageOptions.PartitionsAheadDays"/> ahead, and drops those past <see cref="PostgresStorageOptions.EventRetention"/>.</summary>
    /// <returns>How many day partitions were dropped.</returns>
    /// <remarks>The writer runs this every <see cref="PostgresStorageOptions.MaintenanceInterval"/> before a batch; call it to apply retention now.</remarks>
    public async Task<int> MaintainAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await using var connection = await _database.OpenAsync("Maintaining partitions", "no partition was changed.", cancellationToken).ConfigureAwait(false);
            return await MaintainLockedAsync(connection, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw StorageException.FromPostgres(ex, "Maintaining partitions", _database.Name, "the partition changes were rolled back.");
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task<int> MaintainLockedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var ahead = Enumerable.Range(0, _options.PartitionsAheadDays + 1).Select(today.AddDays).ToList();
        DateOnly? keepFrom = _options.EventRetention is { } retention
            ? DateOnly.FromDateTime((now - retention).UtcDateTime)
            : null;

        var dropped = 0;
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            await PostgresDatabase.ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({SchemaLock});", cancellationToken).ConfigureAwait(false);
            var existing = await ReadPartitionsAsync(connection, cancellationToken).ConfigureAwait(false);
            foreach (var day in ahead.Where(d => !existing.Contains(d)))
            {
                await PostgresDatabase.ExecuteAsync(connection, CreatePartitionSql(day), cancellationToken).ConfigureAwait(false);
            }

            // A day partition goes only when all of it is older than the retention: its upper bound is at most keepFrom.
            var expired = keepFrom is { } from ? existing.Where(d => d < from).ToList() : [];
            foreach (var day in expired)
            {
                await PostgresDatabase.ExecuteAsync(connection, $"DROP TABLE IF EXISTS {PartitionName(day)};", cancellationToken).ConfigureAwait(false);
                dropped++;
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _partitions.Clear();
            _partitions.UnionWith(existing.Except(expired).Concat(ahead));
        }

        if (dropped > 0)
        {
            StorageLog.PartitionsDropped(_logger, dropped, keepFrom!.Value, _database.Name);
        }

        _nextMaintenance = now + _options.MaintenanceInterval;
        return dropped;
    }

    private static async Task<List<DateOnly>> ReadPartitionsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'usage_events'::regclass;
            """, connection);
        var days = new List<DateOnly>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            // Partitions someone attached by hand under another name are left alone.
            if (name.StartsWith(PartitionPrefix, StringComparison.Ordinal)
                && DateOnly.TryParseExact(name.AsSpan(PartitionPrefix.Length), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                days.Add(day);
            }
        }

        return days;
    }

    private static string PartitionName(DateOnly day) => PartitionPrefix + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private static string CreatePartitionSql(DateOnly day) =>
        $"CREATE TABLE IF NOT EXISTS {PartitionName(day)} PARTITION OF usage_events FOR VALUES FROM ('{Bound(day)}') TO ('{Bound(day.AddDays(1))}');";

    private static string Bound(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + " 00:00:00+00";

    /// <inheritdoc />
    /// <remarks>
    /// One binary <c>COPY</c> statement: all rows or none. When it meets a key already stored (a retried batch), the batch is
    /// copied again into a temporary table and inserted with <c>ON CONFLICT DO NOTHING</c>, in one transaction.
    /// </remarks>
    public async Task AppendAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        // Checked before anything is sent so a bad event rejects the whole batch without writing any of it.
        UsageEventColumns.Validate(events);
        if (events.Count == 0)
        {
            return;
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var consequence = "no event of the batch was stored.";
            await using var connection = await _database.OpenAsync($"Appending a batch of {events.Count} usage events", consequence, cancellationToken).ConfigureAwait(false);
            try
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await AppendLockedAsync(connection, events, cancellationToken).ConfigureAwait(false);
                        return;
                    }
                    catch (PostgresException ex) when (attempt == 1 && ex.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.CheckViolation)
                    {
                        // Another gateway's retention dropped a partition this one still knew (a late batch of an expired
                        // day): forget what is known and try once more, which creates the partition again.
                        _partitions.Clear();
                        _nextMaintenance = DateTimeOffset.MinValue;
                    }
                }
            }
            catch (NpgsqlException ex)
            {
                throw StorageException.FromPostgres(ex, $"Appending a batch of {events.Count} usage events", _database.Name, consequence);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task AppendLockedAsync(NpgsqlConnection connection, IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        if (_time.GetUtcNow() >= _nextMaintenance)
        {
            await MaintainLockedAsync(connection, cancellationToken).ConfigureAwait(false);
        }

        // A batch of one day (nearly every batch) is copied into its partition: no per-row routing by the server.
        var day = await EnsurePartitionsAsync(connection, events, cancellationToken).ConfigureAwait(false);
        try
        {
            await CopyAsync(connection, day is { } d ? PartitionName(d) : "usage_events", events, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await CopyIgnoringStoredAsync(connection, events, cancellationToken).ConfigureAwait(false);
        }
    }

    // Partitions ahead cover the usual case; an event of an older day (a late batch) or past the ahead window gets its day here.
    // Returns the batch's day when all its events fall on one.
    private async Task<DateOnly?> EnsurePartitionsAsync(NpgsqlConnection connection, IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        _batchDays.Clear();
        var first = DateOnly.FromDateTime(events[0].Timestamp.UtcDateTime);
        var oneDay = true;
        for (var i = 0; i < events.Count; i++)
        {
            var day = DateOnly.FromDateTime(events[i].Timestamp.UtcDateTime);
            oneDay &= day == first;
            if (!_partitions.Contains(day) && !_batchDays.Contains(day))
            {
                _batchDays.Add(day);
            }
        }

        if (_batchDays.Count == 0)
        {
            return oneDay ? first : null;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await PostgresDatabase.ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({SchemaLock});", cancellationToken).ConfigureAwait(false);
        foreach (var day in _batchDays)
        {
            await PostgresDatabase.ExecuteAsync(connection, CreatePartitionSql(day), cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        _partitions.UnionWith(_batchDays);
        return oneDay ? first : null;
    }

    private static async Task CopyIgnoringStoredAsync(NpgsqlConnection connection, IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await PostgresDatabase.ExecuteAsync(connection, $"""
            CREATE TEMP TABLE IF NOT EXISTS usage_events_retry ON COMMIT DELETE ROWS AS SELECT {Columns} FROM usage_events WITH NO DATA;
            """, cancellationToken).ConfigureAwait(false);
        await CopyAsync(connection, "usage_events_retry", events, cancellationToken).ConfigureAwait(false);
        await PostgresDatabase.ExecuteAsync(connection, $"""
            INSERT INTO usage_events ({Columns}) SELECT {Columns} FROM usage_events_retry ORDER BY ts ON CONFLICT DO NOTHING;
            """, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    // Synchronous writes into Npgsql's buffer (it flushes when full); the caller is the usage log's background writer.
    private static async Task CopyAsync(NpgsqlConnection connection, string table, IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        await using var importer = await connection.BeginBinaryImportAsync(
            $"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < events.Count; i++)
        {
            if ((i & 255) == 255)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var e = events[i];
            importer.StartRow();
            Text(importer, e.RequestId);
            importer.Write(DateTime.UnixEpoch.AddMilliseconds(e.Timestamp.ToUnixTimeMilliseconds()), NpgsqlDbType.TimestampTz);
            Text(importer, e.AccountId);
            Text(importer, e.KeyId);
            Text(importer, e.ClientAddress);
            Text(importer, e.UserAgent);
            Text(importer, e.Endpoint);
            Text(importer, e.Model);
            importer.Write(e.Stream, NpgsqlDbType.Boolean);
            Real(importer, e.Temperature);
            Real(importer, e.TopP);
            Integer(importer, e.MaxTokens);
            importer.Write(e.N, NpgsqlDbType.Integer);
            importer.Write(e.Logprobs, NpgsqlDbType.Boolean);
            Integer(importer, e.TopLogprobs);
            if (e.Seed is { } seed)
            {
                importer.Write(seed, NpgsqlDbType.Bigint);
            }
            else
            {
                importer.WriteNull();
            }

            importer.Write(e.StopCount, NpgsqlDbType.Integer);
            importer.Write(e.PromptTokens, NpgsqlDbType.Integer);
            importer.Write(e.CompletionTokens, NpgsqlDbType.Integer);
            importer.Write(e.LatencyMs, NpgsqlDbType.Double);
            Real(importer, e.TimeToFirstTokenMs);
            importer.Write(e.Status, NpgsqlDbType.Integer);
            Text(importer, e.ErrorCode);
            Text(importer, e.FinishReason);
            Text(importer, e.PromptText);
            importer.Write(e.Echo, NpgsqlDbType.Boolean);
            Text(importer, e.Api);
        }

        await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void Text(NpgsqlBinaryImporter importer, string? value)
    {
        if (value is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(Storable(value), NpgsqlDbType.Text);
        }
    }

    /// <summary><paramref name="value"/> with each NUL and each unpaired surrogate replaced by U+FFFD; the same string when it has none.</summary>
    internal static string Storable(string value)
    {
        var first = value.AsSpan().IndexOfAny(Unstorable);
        if (first < 0)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        builder.Append(value.AsSpan(0, first));
        for (var i = first; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                builder.Append(c).Append(value[++i]);
            }
            else
            {
                builder.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return builder.ToString();
    }

    private static void Real(NpgsqlBinaryImporter importer, double? value)
    {
        if (value is { } v)
        {
            importer.Write(v, NpgsqlDbType.Double);
        }
        else
        {
            importer.WriteNull();
        }
    }

    private static void Integer(NpgsqlBinaryImporter importer, int? value)
    {
        if (value is { } v)
        {
            importer.Write(v, NpgsqlDbType.Integer);
        }
        else
        {
            importer.WriteNull();
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

        await using var connection = await _database.OpenAsync("Reading usage events", "nothing was read.", cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand { Connection = connection };
        var where = new List<string>(2);
        if (query.AccountId is not null)
        {
            where.Add("account_id = @account");
            command.Parameters.Add(new NpgsqlParameter<string>("account", query.AccountId));
        }

        if (query.From is { } from)
        {
            where.Add("ts >= @from");
            command.Parameters.Add(Timestamp("from", from));
        }

        command.CommandText =
            $"SELECT {Columns} FROM usage_events {(where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where))} ORDER BY ts, id LIMIT @limit;";
        command.Parameters.Add(new NpgsqlParameter<long>("limit", query.Limit));
        await foreach (var e in ReadRowsAsync(command, "Reading usage events", cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<UsageEvent> ReadAccountsAsync(
        IReadOnlyCollection<string> accountIds, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountIds);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (accountIds.Count == 0 || to <= from)
        {
            yield break;
        }

        await using var connection = await _database.OpenAsync("Reading usage events of accounts", "nothing was read.", cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"""
            SELECT {Columns} FROM usage_events
            WHERE account_id = ANY(@accounts) AND ts >= @from AND ts < @to
            ORDER BY ts, id;
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<string[]>("accounts", [.. accountIds]));
        command.Parameters.Add(Timestamp("from", from));
        command.Parameters.Add(Timestamp("to", to));
        await foreach (var e in ReadRowsAsync(command, "Reading usage events of accounts", cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    // Timestamps are compared at millisecond precision, as they are stored (and as the SQLite store compares them).
    private static NpgsqlParameter<DateTime> Timestamp(string name, DateTimeOffset value) =>
        new(name, DateTime.UnixEpoch.AddMilliseconds(value.ToUnixTimeMilliseconds())) { NpgsqlDbType = NpgsqlDbType.TimestampTz };

    private async IAsyncEnumerable<UsageEvent> ReadRowsAsync(NpgsqlCommand command, string operation, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        NpgsqlDataReader reader;
        try
        {
            reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw StorageException.FromPostgres(ex, operation, _database.Name, "nothing was read.");
        }

        await using (reader)
        {
            while (true)
            {
                try
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
                catch (NpgsqlException ex)
                {
                    throw StorageException.FromPostgres(ex, operation, _database.Name, "the events before the failure were read.");
                }

                yield return Read(reader);
            }
        }
    }

    private static UsageEvent Read(NpgsqlDataReader r) =>
        UsageEventColumns.Read(r, new DateTimeOffset(r.GetFieldValue<DateTime>(1), TimeSpan.Zero));

    /// <inheritdoc />
    public async Task<AccountUsage> GetAccountUsageAsync(string accountId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = await _database.OpenAsync("Reading account usage", "nothing was read.", cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("""
            SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0)::bigint, COALESCE(SUM(completion_tokens), 0)::bigint
            FROM usage_events WHERE account_id = @account;
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<string>("account", accountId));
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new AccountUsage(accountId, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }
        catch (NpgsqlException ex)
        {
            throw StorageException.FromPostgres(ex, "Reading account usage", _database.Name, "nothing was read.");
        }
    }

    /// <inheritdoc />
    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = await _database.OpenAsync("Counting usage events", "nothing was read.", cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM usage_events;", connection);
        try
        {
            return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        catch (NpgsqlException ex)
        {
            throw StorageException.FromPostgres(ex, "Counting usage events", _database.Name, "nothing was read.");
        }
    }

    /// <inheritdoc />
    public async Task<int> PurgePromptTextAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            int purged;
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                await using var connection = await _database.OpenAsync("Purging prompt text", $"{total} events were purged before the failure; the rest keep their text.", cancellationToken).ConfigureAwait(false);
                await using var command = new NpgsqlCommand("""
                    UPDATE usage_events SET prompt_text = NULL
                    WHERE (request_id, ts) IN (
                        SELECT request_id, ts FROM usage_events WHERE prompt_text IS NOT NULL AND ts < @cutoff LIMIT @chunk);
                    """, connection);
                command.Parameters.Add(Timestamp("cutoff", olderThan));
                command.Parameters.Add(new NpgsqlParameter<int>("chunk", PurgeChunk));
                purged = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex)
            {
                throw StorageException.FromPostgres(
                    ex, "Purging prompt text", _database.Name, $"{total} events were purged before the failure; the rest keep their text.");
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
            await _database.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
