namespace DistillGuard.Policy.RateLimiting;

/// <summary>
/// Admission that reserves: one request is counted, its token ceiling debited and, where the key's requests in flight
/// are bounded, an in-flight lease taken — all at once or not at all — and the reservation is settled when the answer
/// ends.
/// </summary>
/// <remarks>
/// Metering tokens only as they flow let concurrent requests all pass the balance check before any of them had
/// spent anything, so eight requests overdrew a 40,000-token minute by 60 %. With the ceiling reserved up front the
/// balance already holds every admitted request's worst case. Implementations are thread-safe; the in-memory one
/// (<see cref="TokenBucketRateLimiter"/>) is exact for one gateway, and the shared one (a Lua script per admission and
/// settlement on a Redis-protocol server) implements the same contract for a fleet.
/// </remarks>
public interface IAdmissionStore
{
    /// <summary>
    /// Admits <paramref name="admission"/> when every limit allows it: its request is counted, its tokens debited and its
    /// lease taken; refused, nothing changes.
    /// </summary>
    ValueTask<RateLimitDecision> TryAdmitAsync(Admission admission, CancellationToken cancellationToken = default);

    /// <summary>
    /// Settles an admitted request once its answer ended: refunds the tokens reserved and not used (or debits the excess)
    /// and gives its lease back. Never blocks the caller; a shared store sends it without waiting for the reply.
    /// </summary>
    void Settle(Settlement settlement);

    /// <summary>Requests of <paramref name="key"/> holding an unexpired lease at <paramref name="now"/>.</summary>
    ValueTask<int> InFlightAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default);
}

/// <summary>One request asking to be admitted.</summary>
/// <param name="Key">The limited key (an API key, an account, a campaign).</param>
/// <param name="Limits">The key's limits.</param>
/// <param name="Requests">Requests to count: 1, or 0 to reserve tokens only.</param>
/// <param name="Tokens">The request's token ceiling, reserved up front (0 admits while the balance is positive).</param>
/// <param name="Lease">The in-flight lease to take; null when requests in flight are not bounded.</param>
/// <param name="Now">The caller's clock.</param>
public readonly record struct Admission(string Key, RateLimits Limits, int Requests, long Tokens, InFlightLease? Lease, DateTimeOffset Now);

/// <summary>A place among a key's requests in flight, given back at settlement or, if the gateway holding it dies, at expiry.</summary>
/// <param name="Id">Unique per request.</param>
/// <param name="Limit">Most requests of the key in flight at once.</param>
/// <param name="Expiry">How long the place is held without a settlement.</param>
public sealed record InFlightLease(string Id, int Limit, TimeSpan Expiry);

/// <summary>What an admitted request used.</summary>
/// <param name="Key">The key it was admitted under.</param>
/// <param name="Limits">The same limits.</param>
/// <param name="Reserved">Tokens reserved at admission.</param>
/// <param name="Used">Tokens it used.</param>
/// <param name="LeaseId">Its lease, or null.</param>
/// <param name="Now">The caller's clock.</param>
public readonly record struct Settlement(string Key, RateLimits Limits, long Reserved, long Used, string? LeaseId, DateTimeOffset Now);
