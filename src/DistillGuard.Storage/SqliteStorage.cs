using DistillGuard.Storage.Accounts;
using DistillGuard.Storage.Usage;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Storage;

/// <summary>The embedded storage: <c>usage.db</c> (usage events) and <c>accounts.db</c> (accounts, key hashes) in one data directory.</summary>
/// <remarks>
/// The gateway codes against <see cref="IUsageEventStore"/> and <see cref="IAccountStore"/>; a PostgreSQL storage will return
/// the same two interfaces. Two files with their own connections keep authentication independent of the usage writer.
/// Typical wiring:
/// <code>
/// await using var storage = SqliteStorage.Open(dataDir, new StorageOptions { PaymentFingerprintKey = key }, TimeProvider.System, loggerFactory);
/// var log = new UsageLog(storage.UsageEvents, new UsageLogOptions(), TimeProvider.System, loggerFactory.CreateLogger&lt;UsageLog&gt;());
/// await log.StartAsync(ct);   // … log.TryWrite(e) per request …   await log.StopAsync(ct); before disposing the storage.
/// </code>
/// </remarks>
public sealed class SqliteStorage : IAsyncDisposable
{
    private readonly SqliteUsageEventStore _usage;
    private readonly SqliteAccountStore _accounts;

    private SqliteStorage(string dataDirectory, SqliteUsageEventStore usage, SqliteAccountStore accounts)
    {
        DataDirectory = dataDirectory;
        _usage = usage;
        _accounts = accounts;
    }

    /// <summary>The directory holding the database files.</summary>
    public string DataDirectory { get; }

    /// <summary>The usage event store (<c>usage.db</c>).</summary>
    public IUsageEventStore UsageEvents => _usage;

    /// <summary>The account store (<c>accounts.db</c>).</summary>
    public IAccountStore Accounts => _accounts;

    /// <summary>Path of <c>usage.db</c>.</summary>
    public string UsageDatabasePath => _usage.Path;

    /// <summary>Path of <c>accounts.db</c>.</summary>
    public string AccountsDatabasePath => _accounts.Path;

    /// <summary>Creates <paramref name="dataDirectory"/> if missing, opens and migrates both databases, and loads API key hashes.</summary>
    /// <exception cref="ArgumentException">An option is invalid or the directory path is empty.</exception>
    /// <exception cref="StorageException">A database cannot be opened, is corrupt, or has a newer schema.</exception>
    public static SqliteStorage Open(string dataDirectory, StorageOptions options, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        options.Validate();

        var directory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(directory);
        var logger = loggerFactory.CreateLogger("DistillGuard.Storage");
        var usage = SqliteUsageEventStore.Open(directory, options, timeProvider, logger);
        try
        {
            var accounts = SqliteAccountStore.Open(directory, options, timeProvider, logger);
            return new SqliteStorage(directory, usage, accounts);
        }
        catch
        {
            usage.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>Closes both databases (checkpointing their WAL); stop the <see cref="UsageLog"/> first.</summary>
    public async ValueTask DisposeAsync()
    {
        await _usage.DisposeAsync().ConfigureAwait(false);
        await _accounts.DisposeAsync().ConfigureAwait(false);
    }
}
