using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace DistillGuard.Storage;

/// <summary>One schema step for PostgreSQL: applied once, in order, inside the migration transaction.</summary>
internal sealed record PostgresMigration(int Version, string Description, string Sql);

/// <summary>A PostgreSQL database the way the stores here use it: one pooled data source, migrations under an advisory lock.</summary>
/// <remarks>Thread safety: all members may be called concurrently.</remarks>
internal sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource _source;

    private PostgresDatabase(NpgsqlDataSource source, string name)
    {
        _source = source;
        Name = name;
    }

    /// <summary><c>host:port/database</c>: what errors and logs name, never the password.</summary>
    public string Name { get; }

    public static PostgresDatabase Create(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Named so pg_stat_activity shows whose connections these are.
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "distillguard";
        }

        var name = $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
        return new PostgresDatabase(NpgsqlDataSource.Create(builder.ConnectionString), name);
    }

    /// <summary>Opens a pooled connection; a failure surfaces as a transient <see cref="StorageException"/> naming <paramref name="operation"/>.</summary>
    public async Task<NpgsqlConnection> OpenAsync(string operation, string consequence, CancellationToken cancellationToken)
    {
        try
        {
            return await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw StorageException.FromPostgres(ex, operation, Name, consequence);
        }
    }

    /// <summary>
    /// Applies the migrations missing from <paramref name="versionTable"/> in one transaction holding the transaction-level
    /// advisory lock <paramref name="lockKey"/>: replicas starting at once apply each step exactly once, the others wait and
    /// then find it applied. Refuses a schema newer than this build knows.
    /// </summary>
    public async Task MigrateAsync(
        long lockKey, string versionTable, IReadOnlyList<PostgresMigration> migrations, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("Migrating the schema", "nothing was changed.", cancellationToken).ConfigureAwait(false);
        var applied = new List<PostgresMigration>();
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({lockKey});", cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, $"""
                CREATE TABLE IF NOT EXISTS {versionTable} (
                    version     integer     PRIMARY KEY,
                    description text        NOT NULL,
                    applied_at  timestamptz NOT NULL
                );
                """, cancellationToken).ConfigureAwait(false);

            int current;
            await using (var read = new NpgsqlCommand($"SELECT COALESCE(MAX(version), 0) FROM {versionTable};", connection))
            {
                current = (int)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }

            var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
            if (current > latest)
            {
                throw new StorageException(
                    $"'{Name}' has schema version {current} in {versionTable}, newer than the {latest} this build knows; refusing to open it (a newer DistillGuard wrote it).");
            }

            foreach (var migration in migrations.Where(m => m.Version > current))
            {
                await ExecuteAsync(connection, migration.Sql, cancellationToken).ConfigureAwait(false);
                await using var record = new NpgsqlCommand($"INSERT INTO {versionTable} (version, description, applied_at) VALUES ($1, $2, $3);", connection);
                record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
                record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Description });
                record.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = time.GetUtcNow().UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                applied.Add(migration);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw StorageException.FromPostgres(ex, "Migrating the schema", Name, "the migration transaction was rolled back.");
        }

        foreach (var migration in applied)
        {
            StorageLog.MigrationApplied(logger, migration.Version, migration.Description, Name);
        }
    }

    public static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
