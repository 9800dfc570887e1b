namespace DistillGuard.Semantics;

/// <summary>How prompts are sampled and read for the sentence-embedding features; defaults are the gateway's.</summary>
public sealed class SemanticOptions
{
    /// <summary>Every prompt up to this many per account per clock hour is embedded…</summary>
    public int FirstPerHour { get; set; } = 16;

    /// <summary>…and after that one in this many (the budget: 1,000 requests/s cannot all be embedded on two cores).</summary>
    public int EveryNth { get; set; } = 16;

    /// <summary>Characters from the end of the prompt text that are embedded: the latest turn ends the prompt, a shared system prompt opens it.</summary>
    public int TailCharacters { get; set; } = 320;

    /// <summary>Sampled prompts an account needs before its semantic features are reported.</summary>
    public int MinSamples { get; set; } = 8;

    /// <summary>Cosine at or above which two prompts are near-duplicates in meaning.</summary>
    /// <remarks>
    /// MiniLM's cosine is dominated by content: hand-written rewordings of one request sit at 0.56–0.77 (10th–90th
    /// percentile of pairs), unrelated everyday requests at a median of 0.07 and at most 0.31 (test prompt sets).
    /// </remarks>
    public double TemplateCosine { get; set; } = 0.6;

    /// <summary>Cosine to the nearest intent prototype at or above which a prompt asks for reasoning or worked solutions.</summary>
    /// <remarks>A prompt's topic dilutes its intent: reworded reasoning asks reach 0.25–0.6, unrelated requests at most 0.28 (test prompt sets).</remarks>
    public double IntentCosine { get; set; } = 0.35;

    /// <summary>Half-life of an account's semantic evidence: a half-week, like the engine's content window.</summary>
    public TimeSpan HalfLife { get; set; } = TimeSpan.FromHours(84);

    /// <summary>Size of the population sample accounts are compared with.</summary>
    public int CohortSize { get; set; } = 256;

    /// <summary>Prompts one account may put into the population sample, so that no heavy account defines "normal".</summary>
    public int CohortContributions { get; set; } = 4;

    /// <summary>Population vectors the MMD is computed against (a fixed subset of the sample, for cost).</summary>
    public int MmdReference { get; set; } = 128;

    /// <summary>Seed of the population sample's reservoir.</summary>
    public int Seed { get; set; } = 17;

    /// <summary>Prompts waiting for the embedding worker; beyond it they are dropped and counted.</summary>
    public int QueueCapacity { get; set; } = 4096;

    /// <summary>Prompts embedded in one model run.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Throws when a value is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(FirstPerHour, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(EveryNth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(TailCharacters, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(MinSamples, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(CohortSize, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(MmdReference, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(QueueCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1);
        if (HalfLife <= TimeSpan.Zero || TemplateCosine is <= 0 or > 1 || IntentCosine is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(HalfLife), "Half-life must be positive and cosines in (0, 1].");
        }
    }
}
