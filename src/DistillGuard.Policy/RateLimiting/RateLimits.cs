namespace DistillGuard.Policy.RateLimiting;

/// <summary>Static limits for one API key: requests and tokens per minute and per day (null: no limit).</summary>
public sealed record RateLimits
{
    public long? RequestsPerMinute { get; init; }
    public long? TokensPerMinute { get; init; }
    public long? RequestsPerDay { get; init; }
    public long? TokensPerDay { get; init; }

    /// <summary>Most requests of one key in flight at once (enforced by the shared admission store).</summary>
    public int? ConcurrentRequests { get; init; }

    /// <summary>No limit at all.</summary>
    public static RateLimits Unlimited { get; } = new();

    /// <summary>True when no limit is set.</summary>
    public bool IsUnlimited => RequestsPerMinute is null && TokensPerMinute is null && RequestsPerDay is null && TokensPerDay is null && ConcurrentRequests is null;

    /// <summary>The problems with these limits, as (field, reason).</summary>
    public IEnumerable<(string Field, string Reason)> Validate()
    {
        foreach (var (name, value) in new[] { ("requestsPerMinute", RequestsPerMinute), ("tokensPerMinute", TokensPerMinute), ("requestsPerDay", RequestsPerDay), ("tokensPerDay", TokensPerDay) })
        {
            if (value is < 1)
            {
                yield return (name, $"must be at least 1 (leave it out for no limit), not {value}");
            }
        }

        if (ConcurrentRequests is < 1)
        {
            yield return ("concurrentRequests", $"must be at least 1 (leave it out for no limit), not {ConcurrentRequests}");
        }

        if (RequestsPerMinute is { } rpm && RequestsPerDay is { } rpd && rpd < rpm)
        {
            yield return ("requestsPerDay", $"is below requestsPerMinute ({rpd} < {rpm}); the daily limit could never allow a full minute");
        }

        if (TokensPerMinute is { } tpm && TokensPerDay is { } tpd && tpd < tpm)
        {
            yield return ("tokensPerDay", $"is below tokensPerMinute ({tpd} < {tpm}); the daily limit could never allow a full minute");
        }
    }
}

/// <summary>Which limit refused a request.</summary>
public enum RateLimitKind
{
    None,
    RequestsPerMinute,
    TokensPerMinute,
    RequestsPerDay,
    TokensPerDay,

    /// <summary>All of the key's in-flight places are taken.</summary>
    ConcurrentRequests,

    /// <summary>The shared store could not be reached and the policy fails closed.</summary>
    StoreUnavailable,
}

/// <summary>Where a key stands against one resource (requests or tokens), for <c>x-ratelimit-*</c> headers.</summary>
/// <param name="Limit">The tightest applicable limit (0 when unlimited).</param>
/// <param name="Remaining">What is left of it now (never negative).</param>
/// <param name="Reset">Time until it is full again.</param>
public readonly record struct RateLimitStatus(long Limit, long Remaining, TimeSpan Reset)
{
    public bool IsLimited => Limit > 0;
}

/// <summary>The outcome of asking to admit one request.</summary>
public readonly record struct RateLimitDecision(bool Admitted, RateLimitKind LimitedBy, TimeSpan RetryAfter, RateLimitStatus Requests, RateLimitStatus Tokens);

/// <summary>Counts requests and tokens per key against <see cref="RateLimits"/>.</summary>
/// <remarks>
/// Implementations are thread-safe. This one-node implementation is exact; a shared store (Redis protocol)
/// can implement the same contract for a fleet of gateways.
/// </remarks>
public interface IRateLimiter
{
    /// <summary>Admits one request (debiting it) unless a request limit is exhausted or the key is in token debt.</summary>
    RateLimitDecision TryAcquire(string key, RateLimits limits, DateTimeOffset now);

    /// <summary>Debits tokens as they flow (prompt tokens, then each streamed token); the balance may go into debt.</summary>
    void ConsumeTokens(string key, RateLimits limits, long tokens, DateTimeOffset now);
}
