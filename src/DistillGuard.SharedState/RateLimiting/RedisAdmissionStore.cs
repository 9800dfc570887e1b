using System.Collections.Concurrent;
using DistillGuard.Policy.RateLimiting;
using StackExchange.Redis;

namespace DistillGuard.SharedState.RateLimiting;

/// <summary>
/// Exact rate limits shared by every gateway that talks to one Redis-protocol server (Redis, Garnet, Valkey): the
/// <see cref="TokenBucketRateLimiter"/> contract with the state on the server and each step one Lua script.
/// </summary>
/// <remarks>
/// Thread-safe. A key's buckets and leases live under one hash tag: a key that names its own tag (<c>{acct}:key_1</c>)
/// keeps it, so all of an account's keys land on one cluster slot; any other key is wrapped whole. Refusals are
/// remembered locally (<see cref="SharedAdmissionOptions.TokenRefusalCache"/>), so a client hammering past its limit
/// costs the server one call per retry-after, not one per request. When the server cannot be reached the decision
/// is a refusal of kind <see cref="RateLimitKind.StoreUnavailable"/> and the caller's policy chooses to fail open or
/// closed; settlements and metered tokens are sent without waiting, and lost while the server is away.
/// </remarks>
public sealed class RedisAdmissionStore : IAdmissionStore, IRateLimiter
{
    private static readonly RateLimitDecision s_unlimited = new(true, RateLimitKind.None, TimeSpan.Zero, default, default);
    private static readonly RateLimitDecision s_unavailable = new(false, RateLimitKind.StoreUnavailable, TimeSpan.FromSeconds(1), default, default);

    private readonly IDatabase _database;
    private readonly SharedAdmissionOptions _options;
    private readonly ConcurrentDictionary<string, CachedRefusal> _refusals = new(StringComparer.Ordinal);
    private long _serverCalls;
    private long _cacheHits;
    private long _unreachable;

    public RedisAdmissionStore(IConnectionMultiplexer connection, SharedAdmissionOptions? options = null)
    {
        _database = connection.GetDatabase();
        _options = options ?? new SharedAdmissionOptions();
    }

    /// <summary>Admissions that asked the server.</summary>
    public long ServerCalls => Interlocked.Read(ref _serverCalls);

    /// <summary>Admissions refused from the local over-limit cache, without asking the server.</summary>
    public long CacheHits => Interlocked.Read(ref _cacheHits);

    /// <summary>Calls that failed because the server could not be reached (or did not answer in time).</summary>
    public long Unreachable => Interlocked.Read(ref _unreachable);

    public async ValueTask<RateLimitDecision> TryAdmitAsync(Admission admission, CancellationToken cancellationToken = default)
    {
        if (admission.Limits.IsUnlimited)
        {
            return s_unlimited;
        }

        if (CachedRefusalFor(admission.Key, admission.Now) is { } cached)
        {
            return cached;
        }

        RedisResult result;
        try
        {
            Interlocked.Increment(ref _serverCalls);
            result = await _database.ScriptEvaluateAsync(AdmissionScripts.Admit, Keys(admission.Key), AdmitArguments(admission));
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            Interlocked.Increment(ref _unreachable);
            return s_unavailable;
        }

        return Remember(admission, Decision(result));
    }

    public RateLimitDecision TryAcquire(string key, RateLimits limits, DateTimeOffset now)
    {
        if (limits.IsUnlimited)
        {
            return s_unlimited;
        }

        var admission = new Admission(key, limits, 1, 0, null, now);
        if (CachedRefusalFor(key, now) is { } cached)
        {
            return cached;
        }

        try
        {
            Interlocked.Increment(ref _serverCalls);
            return Remember(admission, Decision(_database.ScriptEvaluate(AdmissionScripts.Admit, Keys(key), AdmitArguments(admission))));
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            Interlocked.Increment(ref _unreachable);
            return s_unavailable;
        }
    }

    public void Settle(Settlement settlement)
    {
        var debit = settlement.Used - settlement.Reserved;
        var hasTokenLimit = settlement.Limits.TokensPerMinute is not null || settlement.Limits.TokensPerDay is not null;
        if (settlement.LeaseId is null && (debit == 0 || !hasTokenLimit))
        {
            return;
        }

        if (debit < 0)
        {
            // A refund can end a cached token refusal early; forget it so the next request asks the server.
            _refusals.TryRemove(settlement.Key, out _);
        }

        Send(settlement.Key, settlement.Limits, settlement.Now, hasTokenLimit ? debit : 0, settlement.LeaseId);
    }

    public void ConsumeTokens(string key, RateLimits limits, long tokens, DateTimeOffset now)
    {
        if (tokens > 0 && (limits.TokensPerMinute is not null || limits.TokensPerDay is not null))
        {
            Send(key, limits, now, tokens, null);
        }
    }

    public async ValueTask<int> InFlightAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var result = await _database.ScriptEvaluateAsync(AdmissionScripts.InFlight, [Keys(key)[1]], [now.ToUnixTimeMilliseconds()]);
        return (int)result;
    }

    /// <summary>The server-side key of <paramref name="key"/>'s buckets; its leases are the same with <c>:in-flight</c>.</summary>
    internal string BucketKey(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        var tagged = open >= 0 && key.IndexOf('}', open + 1) > open + 1;
        return tagged ? _options.KeyPrefix + key : _options.KeyPrefix + "{" + key + "}";
    }

    private RedisKey[] Keys(string key)
    {
        var bucket = BucketKey(key);
        return [bucket, bucket + ":in-flight"];
    }

    private void Send(string key, RateLimits limits, DateTimeOffset now, long debit, string? leaseId)
    {
        try
        {
            _database.ScriptEvaluate(AdmissionScripts.Settle, Keys(key),
                [now.ToUnixTimeMilliseconds(), Capacity(limits.RequestsPerMinute), Capacity(limits.TokensPerMinute), Capacity(limits.RequestsPerDay), Capacity(limits.TokensPerDay), debit, leaseId ?? ""],
                CommandFlags.FireAndForget);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            // Lost: the reservation stays debited (the safe side) and the lease expires on its own.
            Interlocked.Increment(ref _unreachable);
        }
    }

    private static RedisValue[] AdmitArguments(Admission a) =>
    [
        a.Now.ToUnixTimeMilliseconds(),
        Capacity(a.Limits.RequestsPerMinute),
        Capacity(a.Limits.TokensPerMinute),
        Capacity(a.Limits.RequestsPerDay),
        Capacity(a.Limits.TokensPerDay),
        a.Requests,
        a.Tokens,
        a.Lease?.Id ?? "",
        a.Lease?.Limit ?? 0,
        (long)(a.Lease?.Expiry.TotalMilliseconds ?? 0),
    ];

    private static long Capacity(long? limit) => limit ?? -1;

    private static RateLimitDecision Decision(RedisResult result)
    {
        var values = (long[])result!;
        return new RateLimitDecision(
            values[0] == 1,
            (RateLimitKind)values[1],
            TimeSpan.FromMilliseconds(values[2]),
            new RateLimitStatus(values[3], values[4], TimeSpan.FromMilliseconds(values[5])),
            new RateLimitStatus(values[6], values[7], TimeSpan.FromMilliseconds(values[8])));
    }

    // A connection torn down while a script is in flight surfaces as ObjectDisposedException ("Connection is being
    // finalized"): the server is gone all the same, so the policy's fail-open or fail-closed answer applies.
    private static bool IsUnreachable(Exception e) => e is RedisConnectionException or RedisTimeoutException or TimeoutException or ObjectDisposedException;

    private RateLimitDecision? CachedRefusalFor(string key, DateTimeOffset now)
    {
        if (!_refusals.TryGetValue(key, out var refusal))
        {
            return null;
        }

        if (now >= refusal.Until)
        {
            _refusals.TryRemove(new KeyValuePair<string, CachedRefusal>(key, refusal));
            return null;
        }

        Interlocked.Increment(ref _cacheHits);
        return refusal.Decision with { RetryAfter = refusal.Until - now };
    }

    private RateLimitDecision Remember(Admission admission, RateLimitDecision decision)
    {
        if (decision.Admitted)
        {
            return decision;
        }

        // Requests are never refunded, so a refused request limit stays refused for its whole retry-after. A token
        // balance at zero can come back early through another request's refund: cache that briefly. A leased place
        // frees whenever a request ends, and a reservation too large for the balance says nothing about a smaller one.
        var span = decision.LimitedBy switch
        {
            RateLimitKind.RequestsPerMinute or RateLimitKind.RequestsPerDay when admission.Requests > 0 => decision.RetryAfter,
            RateLimitKind.TokensPerMinute or RateLimitKind.TokensPerDay when decision.Tokens.Remaining == 0 =>
                decision.RetryAfter < _options.TokenRefusalCache ? decision.RetryAfter : _options.TokenRefusalCache,
            _ => TimeSpan.Zero,
        };
        if (span > TimeSpan.Zero)
        {
            if (_refusals.Count >= _options.CacheCapacity)
            {
                foreach (var (key, entry) in _refusals)
                {
                    if (entry.Until <= admission.Now)
                    {
                        _refusals.TryRemove(new KeyValuePair<string, CachedRefusal>(key, entry));
                    }
                }
            }

            if (_refusals.Count < _options.CacheCapacity)
            {
                _refusals[admission.Key] = new CachedRefusal(admission.Now + span, decision);
            }
        }

        return decision;
    }

    private sealed record CachedRefusal(DateTimeOffset Until, RateLimitDecision Decision);
}
