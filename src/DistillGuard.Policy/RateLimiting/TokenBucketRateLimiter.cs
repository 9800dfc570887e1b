using System.Collections.Concurrent;

namespace DistillGuard.Policy.RateLimiting;

/// <summary>An exact, in-memory <see cref="IRateLimiter"/>: four continuously refilled token buckets per key.</summary>
/// <remarks>
/// A bucket of capacity C refills at C per window, so a key may burst its full minute and then proceed at the
/// steady rate. Requests need one whole unit; tokens are admitted while the balance is positive and may go into
/// debt as a stream flows, which later requests then wait out. Each key has its own lock, so keys never contend.
/// </remarks>
public sealed class TokenBucketRateLimiter : IRateLimiter, IAdmissionStore
{
    private static readonly TimeSpan s_minute = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan s_day = TimeSpan.FromDays(1);

    // A full set of in-flight places frees up when one of them ends, which no bucket arithmetic predicts.
    private static readonly TimeSpan s_concurrencyRetry = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, KeyState> _keys = new(StringComparer.Ordinal);
    private long _operations;
    private int _sweeping;

    /// <summary>Number of keys with state (idle keys whose buckets are full are swept away).</summary>
    public int TrackedKeys => _keys.Count;

    public RateLimitDecision TryAcquire(string key, RateLimits limits, DateTimeOffset now)
    {
        if (limits.IsUnlimited)
        {
            return new RateLimitDecision(true, RateLimitKind.None, TimeSpan.Zero, default, default);
        }

        var decision = Admit(new Admission(key, limits, 1, 0, null, now));
        MaybeSweep(now);
        return decision;
    }

    public ValueTask<RateLimitDecision> TryAdmitAsync(Admission admission, CancellationToken cancellationToken = default)
    {
        var decision = admission.Limits.IsUnlimited
            ? new RateLimitDecision(true, RateLimitKind.None, TimeSpan.Zero, default, default)
            : Admit(admission);
        MaybeSweep(admission.Now);
        return ValueTask.FromResult(decision);
    }

    public void Settle(Settlement settlement)
    {
        var (key, limits, reserved, used, leaseId, now) = settlement;
        if (!_keys.TryGetValue(key, out var state))
        {
            return;
        }

        lock (state)
        {
            if (leaseId is not null)
            {
                state.Leases?.Remove(leaseId);
            }

            var difference = used - reserved;
            if (difference == 0 || (limits.TokensPerMinute is null && limits.TokensPerDay is null))
            {
                return;
            }

            // Refill first: the refund lands on today's balance and is capped at the capacity like any refill.
            state.Refill(limits, now);
            Adjust(state.TokensPerMinute, limits.TokensPerMinute, difference);
            Adjust(state.TokensPerDay, limits.TokensPerDay, difference);
        }

        static void Adjust(Bucket bucket, long? capacity, long debit)
        {
            if (capacity is { } c)
            {
                bucket.Level = Math.Min(c, bucket.Level - debit);
            }
        }
    }

    public ValueTask<int> InFlightAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        if (!_keys.TryGetValue(key, out var state))
        {
            return ValueTask.FromResult(0);
        }

        lock (state)
        {
            state.ExpireLeases(now);
            return ValueTask.FromResult(state.Leases?.Count ?? 0);
        }
    }

    /// <summary>Counts the request, reserves its tokens and takes its lease under the key's lock, or refuses and changes nothing.</summary>
    private RateLimitDecision Admit(Admission admission)
    {
        var (key, limits, requests, tokens, lease, now) = admission;
        var state = _keys.GetOrAdd(key, static _ => new KeyState());
        lock (state)
        {
            state.Refill(limits, now);
            var refusal = RateLimitKind.None;
            var retryAfter = TimeSpan.Zero;
            if (requests > 0)
            {
                Check(state.RequestsPerMinute, limits.RequestsPerMinute, s_minute, requests, RateLimitKind.RequestsPerMinute, ref refusal, ref retryAfter);
                Check(state.RequestsPerDay, limits.RequestsPerDay, s_day, requests, RateLimitKind.RequestsPerDay, ref refusal, ref retryAfter);
            }

            // Tokens are admitted while the balance is positive and covers the ceiling; a ceiling above a bucket's
            // capacity could never be covered, so it needs the full bucket (this keeps the wait finite).
            var need = Math.Max(tokens, double.Epsilon);
            Check(state.TokensPerMinute, limits.TokensPerMinute, s_minute, Math.Min(need, limits.TokensPerMinute ?? need), RateLimitKind.TokensPerMinute, ref refusal, ref retryAfter);
            Check(state.TokensPerDay, limits.TokensPerDay, s_day, Math.Min(need, limits.TokensPerDay ?? need), RateLimitKind.TokensPerDay, ref refusal, ref retryAfter);
            if (refusal == RateLimitKind.None && lease is not null)
            {
                state.ExpireLeases(now);
                if ((state.Leases?.Count ?? 0) >= lease.Limit)
                {
                    refusal = RateLimitKind.ConcurrentRequests;
                    retryAfter = s_concurrencyRetry;
                }
            }

            if (refusal == RateLimitKind.None)
            {
                state.RequestsPerMinute.Level -= requests;
                state.RequestsPerDay.Level -= requests;
                state.TokensPerMinute.Level -= tokens;
                state.TokensPerDay.Level -= tokens;
                if (lease is not null)
                {
                    (state.Leases ??= new(StringComparer.Ordinal))[lease.Id] = now + lease.Expiry;
                }
            }

            return new RateLimitDecision(
                refusal == RateLimitKind.None,
                refusal,
                retryAfter,
                Status(state.RequestsPerMinute, limits.RequestsPerMinute, s_minute, state.RequestsPerDay, limits.RequestsPerDay, s_day),
                Status(state.TokensPerMinute, limits.TokensPerMinute, s_minute, state.TokensPerDay, limits.TokensPerDay, s_day));
        }
    }

    public void ConsumeTokens(string key, RateLimits limits, long tokens, DateTimeOffset now)
    {
        if (tokens <= 0 || (limits.TokensPerMinute is null && limits.TokensPerDay is null))
        {
            return;
        }

        var state = _keys.GetOrAdd(key, static _ => new KeyState());
        lock (state)
        {
            state.Refill(limits, now);
            state.TokensPerMinute.Level -= tokens;
            state.TokensPerDay.Level -= tokens;
        }
    }

    private static void Check(Bucket bucket, long? limit, TimeSpan window, double need, RateLimitKind kind, ref RateLimitKind refusal, ref TimeSpan retryAfter)
    {
        if (limit is not { } capacity || bucket.Level >= need)
        {
            return;
        }

        // Time for the bucket to refill to what this request needs (at least one whole unit for requests).
        var deficit = Math.Max(need, 1e-9) - bucket.Level;
        var wait = TimeSpan.FromTicks((long)Math.Ceiling(deficit / capacity * window.Ticks));
        if (wait > retryAfter)
        {
            retryAfter = wait;
            refusal = kind;
        }
    }

    private static RateLimitStatus Status(Bucket minute, long? minuteLimit, TimeSpan minuteWindow, Bucket day, long? dayLimit, TimeSpan dayWindow)
    {
        // Report the tighter of the two windows: the one with less left.
        var a = Status(minute, minuteLimit, minuteWindow);
        var b = Status(day, dayLimit, dayWindow);
        if (!a.IsLimited)
        {
            return b;
        }

        return !b.IsLimited || a.Remaining <= b.Remaining ? a : b;
    }

    private static RateLimitStatus Status(Bucket bucket, long? limit, TimeSpan window)
    {
        if (limit is not { } capacity)
        {
            return default;
        }

        var remaining = (long)Math.Max(0, Math.Floor(bucket.Level));
        var reset = TimeSpan.FromTicks((long)Math.Ceiling(Math.Max(0, capacity - bucket.Level) / capacity * window.Ticks));
        return new RateLimitStatus(capacity, remaining, reset);
    }

    private void MaybeSweep(DateTimeOffset now)
    {
        // Every 4,096 decisions, forget keys idle for a day (their buckets are full again, so nothing is lost). The
        // walk over every key runs on the thread pool, one at a time, so no request waits for it.
        if ((Interlocked.Increment(ref _operations) & 4095) != 0 || Interlocked.CompareExchange(ref _sweeping, 1, 0) != 0)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            var (limiter, now) = state;
            try
            {
                limiter.Sweep(now);
            }
            finally
            {
                Volatile.Write(ref limiter._sweeping, 0);
            }
        }, (this, now), preferLocal: false);
    }

    /// <summary>Removes keys idle for more than a day before <paramref name="now"/>.</summary>
    internal void Sweep(DateTimeOffset now)
    {
        foreach (var (key, state) in _keys)
        {
            bool idle;
            lock (state)
            {
                idle = now - state.LastSeen > s_day && state.Leases is not { Count: > 0 };
            }

            if (idle)
            {
                _keys.TryRemove(new KeyValuePair<string, KeyState>(key, state));
            }
        }
    }

    private sealed class Bucket
    {
        public double Level = double.NaN;
    }

    private sealed class KeyState
    {
        public readonly Bucket RequestsPerMinute = new();
        public readonly Bucket TokensPerMinute = new();
        public readonly Bucket RequestsPerDay = new();
        public readonly Bucket TokensPerDay = new();
        public DateTimeOffset LastSeen;

        /// <summary>In-flight leases by id, with their expiry; null until the key takes one.</summary>
        public Dictionary<string, DateTimeOffset>? Leases;

        public void ExpireLeases(DateTimeOffset now)
        {
            if (Leases is null)
            {
                return;
            }

            foreach (var (id, expiry) in Leases)
            {
                if (expiry <= now)
                {
                    Leases.Remove(id);
                }
            }
        }

        public void Refill(RateLimits limits, DateTimeOffset now)
        {
            var elapsed = LastSeen == default ? TimeSpan.Zero : now - LastSeen;
            if (elapsed < TimeSpan.Zero)
            {
                // A clock step backwards refills nothing rather than draining.
                elapsed = TimeSpan.Zero;
            }

            Refill(RequestsPerMinute, limits.RequestsPerMinute, s_minute, elapsed);
            Refill(TokensPerMinute, limits.TokensPerMinute, s_minute, elapsed);
            Refill(RequestsPerDay, limits.RequestsPerDay, s_day, elapsed);
            Refill(TokensPerDay, limits.TokensPerDay, s_day, elapsed);
            if (now > LastSeen)
            {
                LastSeen = now;
            }
        }

        private static void Refill(Bucket bucket, long? limit, TimeSpan window, TimeSpan elapsed)
        {
            if (limit is not { } capacity)
            {
                bucket.Level = double.NaN;
                return;
            }

            // A new bucket, or one whose limit was just set, starts full.
            bucket.Level = double.IsNaN(bucket.Level)
                ? capacity
                : Math.Min(capacity, bucket.Level + (capacity * (elapsed.Ticks / (double)window.Ticks)));
        }
    }
}
