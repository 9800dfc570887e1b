using System.Net;
using System.Text.Json;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Tests.Inference;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Policy.RateLimiting;
using DistillGuard.SharedState.Tests.Servers;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Gateway.Tests.SharedState;

/// <summary>One redis-server for the class.</summary>
public sealed class SharedRedisFixture : IDisposable
{
    public RedisServerProcess Server { get; } = RedisServerProcess.Start();

    public void Dispose() => Server.Dispose();
}

/// <summary>Two real gateway replicas sharing one redis-server: one account's limits hold across both.</summary>
public sealed class SharedRateLimitTests(SharedRedisFixture redis) : IClassFixture<SharedRedisFixture>
{
    private const string ApiKey = "dg-shared-limits-test-key-0123456789";

    [Fact]
    public async Task RequestLimit_SpreadOverTwoReplicas_IsEnforcedOnceAcrossBoth()
    {
        var account = NewAccount();
        await using var a = await ReplicaAsync(o => o.RateLimits.Tiers["tiny"] = new RateLimits { RequestsPerMinute = 5 });
        await using var b = await ReplicaAsync(o => o.RateLimits.Tiers["tiny"] = new RateLimits { RequestsPerMinute = 5 });
        var key = await CreateOnBothAsync(account, "tiny", a, b);
        const string body = """{"model":"dg-teacher","messages":[{"role":"user","content":"The town"}],"max_tokens":3}""";

        var statuses = new List<HttpStatusCode>();
        var remaining = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var replica = i % 2 == 0 ? a : b;
            using var response = await replica.Http.SendAsync(replica.Post("v1/chat/completions", body, key));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                remaining.Add(response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
            }
            else
            {
                await BadInputTests.AssertErrorAsync(response, 429, "rate_limit_exceeded");
            }
        }

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.All(statuses.Skip(5), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        // Each replica's answer counts down the one shared balance.
        Assert.Equal(["4", "3", "2", "1", "0"], remaining);
    }

    [Fact]
    public async Task TokenLimit_ConcurrentRequestsOverTwoReplicas_NeverUseMoreThanTheLimit()
    {
        // The clock stands still, so nothing refills: whatever is served must fit in the one minute's 400 tokens.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
        var account = NewAccount();
        void Configure(GatewayOptions o) => o.RateLimits.Tiers["metered"] = new RateLimits { TokensPerMinute = 400 };
        await using var a = await ReplicaAsync(Configure, time);
        await using var b = await ReplicaAsync(Configure, time);
        var key = await CreateOnBothAsync(account, "metered", a, b);
        const string body = """{"model":"dg-teacher","messages":[{"role":"user","content":"The history of the county"}],"max_tokens":40,"min_tokens":40}""";

        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(async i =>
        {
            var replica = i % 2 == 0 ? a : b;
            using var response = await replica.Http.SendAsync(replica.Post("v1/chat/completions", body, key));
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, Text: text);
        }));

        var served = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToArray();
        var used = served.Sum(r => JsonDocument.Parse(r.Text).RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.NotEmpty(served);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, r.Text));
        Assert.InRange(used, 1, 400);
    }

    [Fact]
    public async Task StoreUnreachable_FailsOpenByDefault_AndClosedForTheTiersThatSaySo()
    {
        var dead = $"127.0.0.1:{RedisServerProcess.FreePort()},connectTimeout=200,connectRetry=0";
        await using var gateway = await TestGateway.StartAsync(o =>
        {
            o.SharedState.Redis = dead;
            o.SharedState.OnUnreachableByTier["free"] = "closed";
        });
        var open = await gateway.CreateAccountAsync(NewAccount(), tier: "standard");
        var closed = await gateway.CreateAccountAsync(NewAccount(), tier: "free");
        const string body = """{"model":"dg-teacher","messages":[{"role":"user","content":"The town"}],"max_tokens":3}""";

        using var admitted = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, open));
        using var refused = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, closed));

        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        await BadInputTests.AssertErrorAsync(refused, 503, "rate_limit_store_unavailable");
        Assert.NotNull(refused.Headers.RetryAfter);
    }

    [Fact]
    public void Config_ConcurrentRequestsWithoutSharedStore_IsRejected()
    {
        var options = new GatewayOptions();
        options.RateLimits.Tiers["free"] = options.RateLimits.Tiers["free"] with { ConcurrentRequests = 2 };
        options.SharedState.OnUnreachable = "maybe";

        var problems = GatewayConfigFile.Validate(options).ToArray();

        Assert.Contains(problems, p => p.Path == "$.rateLimits.tiers.free.concurrentRequests");
        Assert.Contains(problems, p => p.Path == "$.sharedState.onUnreachable");
    }

    private static string NewAccount() => "acct-" + Guid.NewGuid().ToString("N")[..10];

    private Task<TestGateway> ReplicaAsync(Action<GatewayOptions> configure, TimeProvider? time = null) =>
        TestGateway.StartAsync(o =>
        {
            o.SharedState.Redis = redis.Server.Configuration;
            configure(o);
        }, time: time);

    private static async Task<string> CreateOnBothAsync(string account, string tier, TestGateway a, TestGateway b)
    {
        // Each replica has its own account store here; the same key makes the same key id on both.
        var key = ApiKey + account;
        await a.CreateAccountAsync(account, key, tier);
        await b.CreateAccountAsync(account, key, tier);
        return key;
    }
}
