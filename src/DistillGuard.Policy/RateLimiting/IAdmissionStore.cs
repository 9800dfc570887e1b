namespace DistillGuard.Policy.RateLimiting;

/// <summary>
/// Admission that reserves: a request's token ceiling is debited when it is admitted and settled when its answer ends,
/// and each key holds a bounded number of requests in flight.
/// </summary>
/// <remarks>
/// Metering tokens only as they flow let concurrent requests all pass the balance check before any of them had
/// spent anything, so eight requests overdrew a 40,000-token minute by 60 %. With the ceiling reserved up front the
/// balance already holds every admitted request's worst case. Implementations are thread-safe; the in-memory one is
/// exact for one gateway, and a shared store (Redis protocol: a Lua script per reserve and settle, INCR/DECR with a
/// TTL for the in-flight count) implements the same contract for a fleet.
/// </remarks>
public interface IAdmissionStore
{
    /// <summary>
    /// Reserves <paramref name="tokens"/> (the request's ceiling) against the key's token limits: debited now when the
    /// balance covers them, refused otherwise (nothing debited). Request counts are not touched.
    /// </summary>
    RateLimitDecision TryReserve(string key, RateLimits limits, long tokens, DateTimeOffset now);

    /// <summary>Settles a reservation once the answer ended: refunds what was reserved and not used, or debits the excess.</summary>
    void Settle(string key, RateLimits limits, long reserved, long used, DateTimeOffset now);

    /// <summary>Takes one of <paramref name="limit"/> in-flight places of <paramref name="key"/>; false when all are taken.</summary>
    bool TryEnter(string key, int limit);

    /// <summary>Gives back a place taken by <see cref="TryEnter"/>.</summary>
    void Leave(string key);

    /// <summary>Requests of <paramref name="key"/> in flight now.</summary>
    int InFlight(string key);
}
