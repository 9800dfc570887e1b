using DistillGuard.Policy.RateLimiting;

namespace DistillGuard.Policy.Tests.RateLimiting;

public sealed class TokenBucketRateLimiterTests
{
    private static readonly DateTimeOffset s_t0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TryAcquire_BurstsTheMinuteLimit_ThenRefusesWithRetryAfter()
    {
        var limiter = new TokenBucketRateLimiter();
        var limits = new RateLimits { RequestsPerMinute = 60 };
        for (var i = 0; i < 60; i++)
        {
            Assert.True(limiter.TryAcquire("k", limits, s_t0).Admitted);
        }

        var refused = limiter.TryAcquire("k", limits, s_t0);
        Assert.False(refused.Admitted);
        Assert.Equal(RateLimitKind.RequestsPerMinute, refused.LimitedBy);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);
        Assert.Equal(0, refused.Requests.Remaining);
        Assert.Equal(60, refused.Requests.Limit);

        // One second later exactly one more request fits.
        Assert.True(limiter.TryAcquire("k", limits, s_t0.AddSeconds(1)).Admitted);
        Assert.False(limiter.TryAcquire("k", limits, s_t0.AddSeconds(1)).Admitted);
    }

    [Fact]
    public void ConsumeTokens_IntoDebt_BlocksUntilRepaid()
    {
        var limiter = new TokenBucketRateLimiter();
        var limits = new RateLimits { TokensPerMinute = 600 };
        Assert.True(limiter.TryAcquire("k", limits, s_t0).Admitted);

        // A long stream overdraws the minute by 300 tokens.
        limiter.ConsumeTokens("k", limits, 900, s_t0);
        var refused = limiter.TryAcquire("k", limits, s_t0);
        Assert.False(refused.Admitted);
        Assert.Equal(RateLimitKind.TokensPerMinute, refused.LimitedBy);
        Assert.Equal(30, refused.RetryAfter.TotalSeconds, 3);

        Assert.False(limiter.TryAcquire("k", limits, s_t0.AddSeconds(29)).Admitted);
        Assert.True(limiter.TryAcquire("k", limits, s_t0.AddSeconds(31)).Admitted);
    }

    [Fact]
    public void DailyLimit_HoldsAcrossMinutes()
    {
        var limiter = new TokenBucketRateLimiter();
        var limits = new RateLimits { RequestsPerMinute = 10, RequestsPerDay = 25 };
        var admitted = 0;
        for (var minute = 0; minute < 5; minute++)
        {
            for (var i = 0; i < 10; i++)
            {
                admitted += limiter.TryAcquire("k", limits, s_t0.AddMinutes(minute)).Admitted ? 1 : 0;
            }
        }

        // 25 at once, plus what the day bucket refilled over four minutes (25 per day: well under one).
        Assert.Equal(25, admitted);
        var refused = limiter.TryAcquire("k", limits, s_t0.AddMinutes(5));
        Assert.Equal(RateLimitKind.RequestsPerDay, refused.LimitedBy);
        Assert.True(refused.RetryAfter > TimeSpan.FromMinutes(50));
        Assert.Equal(25, refused.Requests.Limit);
    }

    [Fact]
    public void ConcurrentCallers_AreAdmittedExactlyUpToTheLimit()
    {
        var limiter = new TokenBucketRateLimiter();
        var limits = new RateLimits { RequestsPerMinute = 1000 };
        var admitted = 0;
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 1000; i++)
            {
                if (limiter.TryAcquire("shared", limits, s_t0).Admitted)
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        });

        Assert.Equal(1000, admitted);
    }

    [Fact]
    public void Keys_AreIndependent_AndUnlimitedKeysKeepNoState()
    {
        var limiter = new TokenBucketRateLimiter();
        var limits = new RateLimits { RequestsPerMinute = 1 };
        Assert.True(limiter.TryAcquire("a", limits, s_t0).Admitted);
        Assert.True(limiter.TryAcquire("b", limits, s_t0).Admitted);
        Assert.False(limiter.TryAcquire("a", limits, s_t0).Admitted);

        Assert.True(limiter.TryAcquire("c", RateLimits.Unlimited, s_t0).Admitted);
        Assert.Equal(2, limiter.TrackedKeys);
    }

    [Fact]
    public void Sweep_ForgetsKeysIdleForADay_AndKeepsRecentOnes()
    {
        var limiter = new TokenBucketRateLimiter();
        var limits = new RateLimits { RequestsPerMinute = 1 };
        Assert.True(limiter.TryAcquire("old", limits, s_t0).Admitted);
        Assert.True(limiter.TryAcquire("recent", limits, s_t0.AddHours(23)).Admitted);

        limiter.Sweep(s_t0.AddHours(25));

        Assert.Equal(1, limiter.TrackedKeys);
        // The recent key kept its state (its minute bucket is still empty); the forgotten one starts full.
        Assert.False(limiter.TryAcquire("recent", limits, s_t0.AddHours(23)).Admitted);
        Assert.True(limiter.TryAcquire("old", limits, s_t0.AddHours(25)).Admitted);
    }

    [Fact]
    public void Status_ReportsTheTighterWindow()
    {
        var limiter = new TokenBucketRateLimiter();
        var limits = new RateLimits { RequestsPerMinute = 100, RequestsPerDay = 1000, TokensPerMinute = 1000 };
        var decision = limiter.TryAcquire("k", limits, s_t0);
        Assert.Equal(new RateLimitStatus(100, 99, TimeSpan.FromSeconds(0.6)), decision.Requests);
        Assert.Equal(1000, decision.Tokens.Limit);
        Assert.Equal(1000, decision.Tokens.Remaining);
    }

    [Fact]
    public void Validate_RefusesImpossibleLimits()
    {
        Assert.Contains(new RateLimits { RequestsPerMinute = 0 }.Validate(), p => p.Field == "requestsPerMinute");
        Assert.Contains(new RateLimits { TokensPerMinute = 100, TokensPerDay = 10 }.Validate(), p => p.Field == "tokensPerDay");
        Assert.Empty(new RateLimits { RequestsPerMinute = 10, RequestsPerDay = 1000 }.Validate());
    }
}
