namespace DistillGuard.Storage.Usage;

/// <summary>Options of the <see cref="UsageLog"/>; defaults suit one gateway process.</summary>
public sealed class UsageLogOptions
{
    /// <summary>Events the channel holds before new ones are dropped; default 65,536.</summary>
    public int Capacity { get; set; } = 65_536;

    /// <summary>Most events appended in one transaction; default 512.</summary>
    public int BatchSize { get; set; } = 512;

    /// <summary>How long prompt text is kept before the loop purges it; default 30 days; null keeps it forever.</summary>
    public TimeSpan? PromptRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the loop purges expired prompt text; default 1 hour (the first purge runs at start).</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Wait after the first failed append; doubled after each further failure; default 100 ms.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between retries of a failed append; default 30 seconds.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Called on the writer loop after each committed batch (e.g. to update metrics); keep it fast.</summary>
    public Action<UsageBatchWritten>? OnBatchWritten { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Capacity < 1)
        {
            throw new ArgumentException($"UsageLogOptions.Capacity must be at least 1; got {Capacity}.", nameof(Capacity));
        }

        if (BatchSize is < 1 or > 100_000)
        {
            throw new ArgumentException($"UsageLogOptions.BatchSize must be between 1 and 100,000; got {BatchSize}.", nameof(BatchSize));
        }

        if (PromptRetention is { } retention && retention < TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"UsageLogOptions.PromptRetention must be zero or positive (or null to keep prompts); got {retention}.", nameof(PromptRetention));
        }

        if (PurgeInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"UsageLogOptions.PurgeInterval must be positive; got {PurgeInterval}.", nameof(PurgeInterval));
        }

        if (RetryInitialDelay <= TimeSpan.Zero)
        {
            throw new ArgumentException(
                $"UsageLogOptions.RetryInitialDelay must be positive; got {RetryInitialDelay}.", nameof(RetryInitialDelay));
        }

        if (RetryMaxDelay < RetryInitialDelay)
        {
            throw new ArgumentException(
                $"UsageLogOptions.RetryMaxDelay ({RetryMaxDelay}) must not be shorter than RetryInitialDelay ({RetryInitialDelay}).",
                nameof(RetryMaxDelay));
        }
    }
}

/// <summary>What the usage log reports after a batch is committed.</summary>
/// <param name="Count">Events in the batch.</param>
/// <param name="Attempts">Append attempts it took (1 when the first succeeded).</param>
/// <param name="Elapsed">Time from the first attempt to the commit, retries included.</param>
public readonly record struct UsageBatchWritten(int Count, int Attempts, TimeSpan Elapsed);
