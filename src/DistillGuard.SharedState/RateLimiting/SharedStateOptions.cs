namespace DistillGuard.SharedState.RateLimiting;

/// <summary>How the shared admission store behaves around its server.</summary>
public sealed class SharedAdmissionOptions
{
    /// <summary>Prefix of every key the store writes.</summary>
    public string KeyPrefix { get; init; } = "dg:rl:";

    /// <summary>
    /// Longest time a refusal of a token limit is answered from the local cache without asking the server. A refused
    /// request limit is cached for its whole retry-after (nothing refunds requests); a token balance can be refilled
    /// early by another request's settlement, so its refusal is cached only this long. Zero turns the cache off.
    /// </summary>
    public TimeSpan TokenRefusalCache { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Most keys the local over-limit cache holds; past it, expired entries are dropped.</summary>
    public int CacheCapacity { get; init; } = 100_000;
}
