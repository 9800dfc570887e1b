using Npgsql;

namespace DistillGuard.Storage;

/// <summary>Options for the usage log in PostgreSQL (<c>"storage": { "postgres": "…" }</c>).</summary>
public sealed class PostgresStorageOptions
{
    /// <summary>An Npgsql connection string (<c>Host=…;Database=…;Username=…;Password=…</c>); the tables go in the first schema of its search path.</summary>
    /// <remarks>Security: the password never reaches a log; errors name only host, port and database.</remarks>
    public required string ConnectionString { get; init; }

    /// <summary>Days of partitions created ahead of today, so the writer rarely creates one while appending; default 3.</summary>
    public int PartitionsAheadDays { get; init; } = 3;

    /// <summary>How long events are kept, rounded to whole days: older day partitions are dropped. Null (the default) keeps them.</summary>
    public TimeSpan? EventRetention { get; init; }

    /// <summary>How often the writer creates partitions ahead and drops expired ones; default 1 hour.</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"PostgresStorageOptions.ConnectionString is not an Npgsql connection string: {ex.Message}", nameof(ConnectionString), ex);
        }

        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new ArgumentException("PostgresStorageOptions.ConnectionString names no Host.", nameof(ConnectionString));
        }

        if (PartitionsAheadDays is < 0 or > 366)
        {
            throw new ArgumentException(
                $"PostgresStorageOptions.PartitionsAheadDays must be between 0 and 366; got {PartitionsAheadDays}.", nameof(PartitionsAheadDays));
        }

        if (EventRetention is { } retention && retention < TimeSpan.FromDays(1))
        {
            throw new ArgumentException(
                $"PostgresStorageOptions.EventRetention must be at least one day (partitions are days); got {retention}.", nameof(EventRetention));
        }

        if (MaintenanceInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"PostgresStorageOptions.MaintenanceInterval must be positive; got {MaintenanceInterval}.", nameof(MaintenanceInterval));
        }
    }
}
