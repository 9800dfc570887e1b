using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Storage.Policy;

/// <summary><see cref="IPolicyStore"/> in <c>policy.db</c> (SQLite, WAL).</summary>
/// <remarks>Thread-safe: writes are serialised; each state change and its audit record share one transaction.</remarks>
public sealed class SqlitePolicyStore : IPolicyStore
{
    public const string FileName = "policy.db";

    private static readonly SqliteMigration[] s_migrations =
    [
        new(1, "account overrides, review queue, audit log", """
            CREATE TABLE account_overrides (
                account_id TEXT PRIMARY KEY,
                status     TEXT NOT NULL,
                actor      TEXT NOT NULL,
                reason     TEXT NOT NULL,
                at         INTEGER NOT NULL,
                band       TEXT
            );
            CREATE TABLE review_items (
                id          INTEGER PRIMARY KEY AUTOINCREMENT,
                account_id  TEXT NOT NULL,
                created_at  INTEGER NOT NULL,
                band        TEXT NOT NULL,
                score       REAL NOT NULL,
                evidence    TEXT NOT NULL,
                status      TEXT NOT NULL,
                actor       TEXT,
                decided_at  INTEGER,
                reason      TEXT
            );
            CREATE INDEX review_items_account ON review_items (account_id, status);
            CREATE TABLE audit_log (
                id         INTEGER PRIMARY KEY AUTOINCREMENT,
                at         INTEGER NOT NULL,
                account_id TEXT,
                actor      TEXT NOT NULL,
                action     TEXT NOT NULL,
                reason     TEXT NOT NULL,
                evidence   TEXT
            );
            CREATE INDEX audit_log_account ON audit_log (account_id, id);
            """),
    ];

    private readonly SqliteDatabase _database;
    private readonly SemaphoreSlim _write = new(1, 1);

    private SqlitePolicyStore(SqliteDatabase database) => _database = database;

    /// <summary>Opens (creating and migrating) <c>policy.db</c> in <paramref name="dataDirectory"/>.</summary>
    /// <exception cref="StorageException">The database cannot be opened or has a newer schema.</exception>
    public static SqlitePolicyStore Open(string dataDirectory, TimeProvider time, ILogger logger)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = System.IO.Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        return new SqlitePolicyStore(SqliteDatabase.Open(path, TimeSpan.FromSeconds(5), s_migrations, time, logger));
    }

    public Task<IReadOnlyList<AccountOverride>> ListOverridesAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT account_id, status, actor, reason, at, band FROM account_overrides ORDER BY account_id;", null,
            r => new AccountOverride(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Time(r.GetInt64(4)), r.IsDBNull(5) ? null : r.GetString(5)));

    public Task SetOverrideAsync(AccountOverride accountOverride, AuditRecord audit, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            using var command = Command(connection, transaction, """
                INSERT INTO account_overrides (account_id, status, actor, reason, at, band) VALUES ($a, $s, $actor, $r, $at, $b)
                ON CONFLICT (account_id) DO UPDATE SET status = $s, actor = $actor, reason = $r, at = $at, band = $b;
                """);
            command.Parameters.AddWithValue("$a", accountOverride.AccountId);
            command.Parameters.AddWithValue("$s", accountOverride.Status);
            command.Parameters.AddWithValue("$actor", accountOverride.Actor);
            command.Parameters.AddWithValue("$r", accountOverride.Reason);
            command.Parameters.AddWithValue("$at", accountOverride.At.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$b", (object?)accountOverride.Band ?? DBNull.Value);
            command.ExecuteNonQuery();
            InsertAudit(connection, transaction, audit);
            return 0;
        }, cancellationToken);

    public Task RemoveOverrideAsync(string accountId, AuditRecord audit, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            using var command = Command(connection, transaction, "DELETE FROM account_overrides WHERE account_id = $a;");
            command.Parameters.AddWithValue("$a", accountId);
            command.ExecuteNonQuery();
            InsertAudit(connection, transaction, audit);
            return 0;
        }, cancellationToken);

    public Task<(ReviewItem Item, bool Created)> OpenReviewAsync(ReviewItem item, AuditRecord audit, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            using (var existing = Command(connection, transaction, $"{SelectReview} WHERE account_id = $a AND status IN ('open', 'appealed') ORDER BY id DESC LIMIT 1;"))
            {
                existing.Parameters.AddWithValue("$a", item.AccountId);
                using var reader = existing.ExecuteReader();
                if (reader.Read())
                {
                    return (ReadReview(reader), false);
                }
            }

            using var insert = Command(connection, transaction, """
                INSERT INTO review_items (account_id, created_at, band, score, evidence, status) VALUES ($a, $at, $b, $s, $e, 'open')
                RETURNING id;
                """);
            insert.Parameters.AddWithValue("$a", item.AccountId);
            insert.Parameters.AddWithValue("$at", item.CreatedAt.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$b", item.Band);
            insert.Parameters.AddWithValue("$s", item.Score);
            insert.Parameters.AddWithValue("$e", item.EvidenceJson);
            var id = (long)insert.ExecuteScalar()!;
            InsertAudit(connection, transaction, audit);
            return (item with { Id = id, Status = "open" }, true);
        }, cancellationToken);

    public async Task<ReviewItem?> GetReviewAsync(long id, CancellationToken cancellationToken)
    {
        var found = await QueryAsync($"{SelectReview} WHERE id = $id;", c => c.Parameters.AddWithValue("$id", id), ReadReview);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<ReviewItem>> ListReviewAsync(string? status, int limit, CancellationToken cancellationToken) =>
        QueryAsync($"{SelectReview} WHERE ($s IS NULL OR status = $s) ORDER BY id DESC LIMIT $n;", c =>
        {
            c.Parameters.AddWithValue("$s", (object?)status ?? DBNull.Value);
            c.Parameters.AddWithValue("$n", limit);
        }, ReadReview);

    public Task<ReviewItem> DecideReviewAsync(long id, string status, string actor, string reason, DateTimeOffset at, AuditRecord audit, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            using (var update = Command(connection, transaction, "UPDATE review_items SET status = $s, actor = $actor, decided_at = $at, reason = $r WHERE id = $id;"))
            {
                update.Parameters.AddWithValue("$s", status);
                update.Parameters.AddWithValue("$actor", actor);
                update.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
                update.Parameters.AddWithValue("$r", reason);
                update.Parameters.AddWithValue("$id", id);
                if (update.ExecuteNonQuery() == 0)
                {
                    throw new KeyNotFoundException($"No review item {id}.");
                }
            }

            InsertAudit(connection, transaction, audit);
            using var read = Command(connection, transaction, $"{SelectReview} WHERE id = $id;");
            read.Parameters.AddWithValue("$id", id);
            using var reader = read.ExecuteReader();
            reader.Read();
            return ReadReview(reader);
        }, cancellationToken);

    public Task AppendAuditAsync(AuditRecord audit, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            InsertAudit(connection, transaction, audit);
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<AuditRecord>> ListAuditAsync(string? accountId, int limit, CancellationToken cancellationToken) =>
        QueryAsync("SELECT id, at, account_id, actor, action, reason, evidence FROM audit_log WHERE ($a IS NULL OR account_id = $a) ORDER BY id DESC LIMIT $n;", c =>
        {
            c.Parameters.AddWithValue("$a", (object?)accountId ?? DBNull.Value);
            c.Parameters.AddWithValue("$n", limit);
        }, r => new AuditRecord(r.GetInt64(0), Time(r.GetInt64(1)), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6)));

    public ValueTask DisposeAsync()
    {
        using (var connection = new SqliteConnection(_database.ConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _write.Dispose();
        return ValueTask.CompletedTask;
    }

    private const string SelectReview = "SELECT id, account_id, created_at, band, score, evidence, status, actor, decided_at, reason FROM review_items";

    private static ReviewItem ReadReview(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), Time(r.GetInt64(2)), r.GetString(3), r.GetDouble(4), r.GetString(5), r.GetString(6),
        r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : Time(r.GetInt64(8)), r.IsDBNull(9) ? null : r.GetString(9));

    private static void InsertAudit(SqliteConnection connection, SqliteTransaction transaction, AuditRecord audit)
    {
        using var command = Command(connection, transaction, "INSERT INTO audit_log (at, account_id, actor, action, reason, evidence) VALUES ($at, $a, $actor, $action, $r, $e);");
        command.Parameters.AddWithValue("$at", audit.At.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$a", (object?)audit.AccountId ?? DBNull.Value);
        command.Parameters.AddWithValue("$actor", audit.Actor);
        command.Parameters.AddWithValue("$action", audit.Action);
        command.Parameters.AddWithValue("$r", audit.Reason);
        command.Parameters.AddWithValue("$e", (object?)audit.EvidenceJson ?? DBNull.Value);
        command.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static DateTimeOffset Time(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs);

    private Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> write, CancellationToken cancellationToken) =>
        _database.WriteAsync(_write, "Writing the policy store", write, cancellationToken);

    private Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Action<SqliteCommand>? bind, Func<SqliteDataReader, T> read)
    {
        using var connection = _database.OpenReader();
        using var command = Command(connection, null, sql);
        bind?.Invoke(command);
        using var reader = command.ExecuteReader();
        var results = new List<T>();
        while (reader.Read())
        {
            results.Add(read(reader));
        }

        return Task.FromResult<IReadOnlyList<T>>(results);
    }
}
