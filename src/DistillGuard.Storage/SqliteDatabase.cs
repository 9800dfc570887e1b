using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Storage;

/// <summary>One schema step: applied once, in order, inside the migration transaction.</summary>
internal sealed record SqliteMigration(int Version, string Description, string Sql);

/// <summary>Opens SQLite files the way every store here needs them: WAL, synchronous=NORMAL, busy timeout, migrated schema.</summary>
internal sealed class SqliteDatabase
{
    private readonly int _busyTimeoutMs;

    private SqliteDatabase(string path, string connectionString, int busyTimeoutMs)
    {
        Path = path;
        ConnectionString = connectionString;
        _busyTimeoutMs = busyTimeoutMs;
    }

    public string Path { get; }

    public string ConnectionString { get; }

    /// <summary>Creates or opens the file, switches it to WAL and applies missing migrations.</summary>
    public static SqliteDatabase Open(
        string path, TimeSpan busyTimeout, IReadOnlyList<SqliteMigration> migrations, TimeProvider time, ILogger logger)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            // Microsoft.Data.Sqlite retries SQLITE_BUSY itself until the command timeout; keep both limits aligned.
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
        };
        var database = new SqliteDatabase(path, builder.ToString(), (int)busyTimeout.TotalMilliseconds);
        try
        {
            using var connection = database.OpenConnection();
            using (var wal = connection.CreateCommand())
            {
                // WAL is persistent in the file: readers never block the writer and a killed process loses no commit.
                wal.CommandText = "PRAGMA journal_mode=WAL;";
                var mode = Convert.ToString(wal.ExecuteScalar(), CultureInfo.InvariantCulture);
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                {
                    throw new StorageException($"Could not switch '{path}' to WAL journal mode (SQLite kept '{mode}').");
                }
            }

            Migrate(connection, path, migrations, time, logger);
        }
        catch (SqliteException ex)
        {
            SqliteConnection.ClearPool(new SqliteConnection(database.ConnectionString));
            throw StorageException.FromSqlite(ex, "Opening the database", path, "the database was not opened.");
        }

        return database;
    }

    /// <summary>Opens a new (pooled) connection with this process's per-connection settings.</summary>
    public SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        // synchronous=NORMAL in WAL: a commit survives a process crash; only an OS crash or power loss can undo the last commits.
        // cache_size 32 MB (default 2 MB): the request_id index takes random inserts, and a larger cache keeps its pages hot.
        pragma.CommandText = $"PRAGMA busy_timeout={_busyTimeoutMs.ToString(CultureInfo.InvariantCulture)}; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    /// <summary>Closes idle pooled connections so the file handles (and the WAL) are released.</summary>
    /// <summary>A connection for reading; a failure to open surfaces as a <see cref="StorageException"/>.</summary>
    public SqliteConnection OpenReader()
    {
        try
        {
            return OpenConnection();
        }
        catch (SqliteException ex)
        {
            throw StorageException.FromSqlite(ex, "Opening a reader", Path, "nothing was read.");
        }
    }

    public void ReleasePool(SqliteConnection connection) => SqliteConnection.ClearPool(connection);

    /// <summary>
    /// Runs <paramref name="write"/> in one immediate transaction while holding the store's <paramref name="writer"/>
    /// gate; a SQLite failure surfaces as a <see cref="StorageException"/> naming <paramref name="what"/>, nothing changed.
    /// </summary>
    public async Task<T> WriteAsync<T>(SemaphoreSlim writer, string what, Func<SqliteConnection, SqliteTransaction, T> write, CancellationToken cancellationToken)
    {
        await writer.WaitAsync(cancellationToken);
        try
        {
            using var connection = OpenConnection();
            using var transaction = connection.BeginTransaction(deferred: false);
            var result = write(connection, transaction);
            transaction.Commit();
            return result;
        }
        catch (SqliteException e)
        {
            throw StorageException.FromSqlite(e, what, Path, "nothing was changed.");
        }
        finally
        {
            writer.Release();
        }
    }

    private static void Migrate(
        SqliteConnection connection, string path, IReadOnlyList<SqliteMigration> migrations, TimeProvider time, ILogger logger)
    {
        // BEGIN IMMEDIATE: two processes opening the same file at once apply each migration exactly once.
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = """
                CREATE TABLE IF NOT EXISTS schema_version (
                    version     INTEGER PRIMARY KEY,
                    description TEXT    NOT NULL,
                    applied_at  INTEGER NOT NULL
                );
                """;
            create.ExecuteNonQuery();
        }

        long current;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version;";
            current = Convert.ToInt64(read.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
        if (current > latest)
        {
            throw new StorageException(
                $"'{path}' has schema version {current}, newer than the {latest} this build knows; refusing to open it (a newer DistillGuard wrote it).");
        }

        var applied = new List<SqliteMigration>();
        foreach (var migration in migrations)
        {
            if (migration.Version <= current)
            {
                continue;
            }

            using var step = connection.CreateCommand();
            step.Transaction = transaction;
            step.CommandText = migration.Sql;
            step.ExecuteNonQuery();

            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, description, applied_at) VALUES ($v, $d, $t);";
            record.Parameters.AddWithValue("$v", migration.Version);
            record.Parameters.AddWithValue("$d", migration.Description);
            record.Parameters.AddWithValue("$t", time.GetUtcNow().ToUnixTimeMilliseconds());
            record.ExecuteNonQuery();
            applied.Add(migration);
        }

        transaction.Commit();
        foreach (var migration in applied)
        {
            StorageLog.MigrationApplied(logger, migration.Version, migration.Description, path);
        }
    }
}
