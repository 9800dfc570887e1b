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

    private readonly ConcurrentDictionary<string, KeyState> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, InFlightCount> _inFlight = new(StringComparer.Ordinal);
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

        var state = _keys.GetOrAdd(key, static _ => new KeyState());
        RateLimitDecision decision;
        lock (state)
        {
            state.Refill(limits, now);
            var refusal = RateLimitKind.None;
            var retryAfter = TimeSpan.Zero;
            Check(state.RequestsPerMinute, limits.RequestsPerMinute, s_minute, 1, RateLimitKind.RequestsPerMinute, ref refusal, ref retryAfter);
            Check(state.RequestsPerDay, limits.RequestsPerDay, s_day, 1, RateLimitKind.RequestsPerDay, ref refusal, ref retryAfter);
            Check(state.TokensPerMinute, limits.TokensPerMinute, s_minute, double.Epsilon, RateLimitKind.TokensPerMinute, ref refusal, ref retryAfter);
            Check(state.TokensPerDay, limits.TokensPerDay, s_day, double.Epsilon, RateLimitKind.TokensPerDay, ref refusal, ref retryAfter);
            if (refusal == RateLimitKind.None)
            {
                state.RequestsPerMinute.Level -= 1;
                state.RequestsPerDay.Level -= 1;
            }

            decision = new RateLimitDecision(
                refusal == RateLimitKind.None,
                refusal,
                retryAfter,
                Status(state.RequestsPerMinute, limits.RequestsPerMinute, s_minute, state.RequestsPerDay, limits.RequestsPerDay, s_day),
                Status(state.TokensPerMinute, limits.TokensPerMinute, s_minute, state.TokensPerDay, limits.TokensPerDay, s_day));
        }

        MaybeSweep(now);
        return decision;
    }

    public RateLimitDecision TryReserve(string key, RateLimits limits, long tokens, DateTimeOffset now)
    {
        if (limits.TokensPerMinute is null && limits.TokensPerDay is null)
        {
            return new RateLimitDecision(true, RateLimitKind.None, TimeSpan.Zero, default, default);
        }

        var state = _keys.GetOrAdd(key, static _ => new KeyState());
        lock (state)
        {
            state.Refill(limits, now);
            var refusal = RateLimitKind.None;
            var retryAfter = TimeSpan.Zero;
            // A ceiling above a bucket's capacity could never be covered: it needs the full bucket (the caller refuses
            // such requests outright; this keeps the wait finite if one comes through).
            var need = Math.Max(tokens, double.Epsilon);
            Check(state.TokensPerMinute, limits.TokensPerMinute, s_minute, Math.Min(need, limits.TokensPerMinute ?? need), RateLimitKind.TokensPerMinute, ref refusal, ref retryAfter);
            Check(state.TokensPerDay, limits.TokensPerDay, s_day, Math.Min(need, limits.TokensPerDay ?? need), RateLimitKind.TokensPerDay, ref refusal, ref retryAfter);
            if (refusal == RateLimitKind.None)
            {
                state.TokensPerMinute.Level -= tokens;
                state.TokensPerDay.Level -= tokens;
            }

            return new RateLimitDecision(
                refusal == RateLimitKind.None,
                refusal,
                retryAfter,
                default,
                Status(state.TokensPerMinute, limits.TokensPerMinute, s_minute, state.TokensPerDay, limits.TokensPerDay, s_day));
        }
    }

    public void Settle(string key, RateLimits limits, long reserved, long used, DateTimeOffset now)
    {
        var difference = used - reserved;
        if (difference == 0 || (limits.TokensPerMinute is null && limits.TokensPerDay is null))
        {
            return;
        }

        var state = _keys.GetOrAdd(key, static _ => new KeyState());
        lock (state)
        {
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

    public bool TryEnter(string key, int limit)
    {
        var count = _inFlight.GetOrAdd(key, static _ => new InFlightCount());
        lock (count)
        {
            if (count.Value >= limit)
            {
                return false;
            }

            count.Value++;
            return true;
        }
    }

    public void Leave(string key)
    {
        if (_inFlight.TryGetValue(key, out var count))
        {
            lock (count)
            {
                count.Value = Math.Max(0, count.Value - 1);
            }
        }
    }

    public int InFlight(string key)
    {
        if (!_inFlight.TryGetValue(key, out var count))
        {
            return 0;
        }

        lock (count)
        {
            return count.Value;
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
                idle = now - state.LastSeen > s_day;
            }

            if (idle)
            {
                _keys.TryRemove(new KeyValuePair<string, KeyState>(key, state));
            }
        }
    }

    private sealed class InFlightCount
    {
        public int Value;
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
