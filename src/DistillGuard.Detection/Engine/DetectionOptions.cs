namespace DistillGuard.Detection.Engine;

/// <summary>How the engine reads requests; defaults match the gateway's defaults.</summary>
public sealed class DetectionOptions
{
    /// <summary>The provider's ceiling on <c>max_tokens</c>; asking for at least 95 % of it counts as "at the ceiling".</summary>
    public int MaxTokensCeiling { get; set; } = 4096;

    /// <summary>Answers at least this long count as long outputs (as do answers cut at <c>max_tokens</c>).</summary>
    public int LongOutputTokens { get; set; } = 1000;

    /// <summary>A request that extends the previous prompt within this time is a follow-up turn.</summary>
    public TimeSpan FollowUpWindow { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>SimHash distance (bits of 64) at or under which two skeletons are near-duplicates.</summary>
    public int NearDuplicateBits { get; set; } = 6;

    /// <summary>
    /// Key of the request hash behind repeat detection. The default (0) keeps evaluations reproducible; a deployment
    /// should set a secret value so that nobody can craft new prompts that the 8-bit repeat memory takes for old ones.
    /// </summary>
    public ulong RequestHashSeed { get; set; }

    /// <summary>Accounts with fewer requests in the window are never flagged: the evidence is too thin.</summary>
    public int MinEvidence { get; set; } = 10;

    /// <summary>Accounts idle for longer than this are dropped from memory by <see cref="DetectionEngine.Prune"/>.</summary>
    public TimeSpan IdleEviction { get; set; } = TimeSpan.FromDays(8);

    /// <summary>Throws when a value is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTokensCeiling, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(LongOutputTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(NearDuplicateBits, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(NearDuplicateBits, 32);
        ArgumentOutOfRangeException.ThrowIfLessThan(MinEvidence, 1);
        if (FollowUpWindow <= TimeSpan.Zero || IdleEviction <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(FollowUpWindow), "Windows must be positive.");
        }
    }
}
