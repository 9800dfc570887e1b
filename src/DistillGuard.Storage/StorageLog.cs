using Microsoft.Extensions.Logging;

namespace DistillGuard.Storage;

/// <summary>Log lines of the storage library; event ids 3100–3199 belong to Storage.</summary>
/// <remarks>No line carries prompt text or an API key: only counts, ids and key ids.</remarks>
internal static partial class StorageLog
{
    [LoggerMessage(3101, LogLevel.Information, "Applied schema migration {Version} ({Description}) to {Database}")]
    public static partial void MigrationApplied(ILogger logger, int version, string description, string database);

    [LoggerMessage(3102, LogLevel.Warning, "Appending {Count} usage events failed (attempt {Attempt}); keeping the batch and retrying in {Delay}")]
    public static partial void AppendFailed(ILogger logger, Exception exception, int count, int attempt, TimeSpan delay);

    [LoggerMessage(3103, LogLevel.Warning, "{Dropped} usage events were dropped since the last report because the usage log's channel (capacity {Capacity}) was full")]
    public static partial void EventsDropped(ILogger logger, long dropped, int capacity);

    [LoggerMessage(3104, LogLevel.Error, "The usage log stopped before its deadline could drain it: {Count} accepted events were not written")]
    public static partial void EventsAbandoned(ILogger logger, long count);

    [LoggerMessage(3105, LogLevel.Information, "Purged the prompt text of {Count} usage events older than {Cutoff}")]
    public static partial void PromptTextPurged(ILogger logger, int count, DateTimeOffset cutoff);

    [LoggerMessage(3106, LogLevel.Warning, "Purging prompt text older than {Cutoff} failed; retrying at the next purge interval")]
    public static partial void PromptPurgeFailed(ILogger logger, Exception exception, DateTimeOffset cutoff);

    [LoggerMessage(3107, LogLevel.Critical, "The usage log's writer loop failed; events are no longer written")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(3108, LogLevel.Warning, "The usage log's OnBatchWritten callback threw")]
    public static partial void CallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(3109, LogLevel.Information, "Loaded {Keys} API keys of {Accounts} accounts from {Database}")]
    public static partial void AccountsLoaded(ILogger logger, int keys, int accounts, string database);

    [LoggerMessage(3110, LogLevel.Information, "Created account {AccountId} with key {KeyId}")]
    public static partial void AccountCreated(ILogger logger, string accountId, string keyId);

    [LoggerMessage(3111, LogLevel.Information, "The usage log wrote all {Count} accepted events before stopping")]
    public static partial void Drained(ILogger logger, long count);

    [LoggerMessage(3112, LogLevel.Information, "Dropped {Count} day partitions of usage events before {KeepFrom} from {Database}")]
    public static partial void PartitionsDropped(ILogger logger, int count, DateOnly keepFrom, string database);
}
