using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Inference;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Policy.RateLimiting;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using OpenAI.Chat;

namespace DistillGuard.Gateway.Tests.Policy;

/// <summary>Static per-key limits by tier, through the real gateway.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task RequestLimit_AdmitsTheTierLimit_ThenAnswers429WithRetryAfter()
    {
        await using var gateway = await TestGateway.StartAsync(o => o.RateLimits.Tiers["tiny"] = new RateLimits { RequestsPerMinute = 3 });
        var key = await CreateAsync(gateway, "kate", "tiny");
        const string body = """{"model":"dg-teacher","messages":[{"role":"user","content":"The town"}],"max_tokens":3}""";

        for (var i = 0; i < 3; i++)
        {
            using var ok = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, key));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("3", ok.Headers.GetValues("x-ratelimit-limit-requests").Single());
            Assert.Equal((2 - i).ToString(System.Globalization.CultureInfo.InvariantCulture), ok.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }

        using var limited = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, key));
        await BadInputTests.AssertErrorAsync(limited, 429, "rate_limit_exceeded");
        Assert.Equal(TimeSpan.FromSeconds(20), limited.Headers.RetryAfter?.Delta);

        // Another key of the same tier is not affected.
        var other = await CreateAsync(gateway, "liam", "tiny");
        using var otherOk = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, other));
        Assert.Equal(HttpStatusCode.OK, otherOk.StatusCode);

        // The official client sees a 429 too.
        var chat = new ChatClient("dg-teacher", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = gateway.V1, RetryPolicy = new ClientRetryPolicy(0) });
        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(429, error.Status);

        await gateway.App.StopAsync();
        var events = await UsageLogReader.ReadAllAsync(gateway.DataDirectory);
        Assert.Equal(2, events.Count(e => e.AccountId == "kate" && e.Status == 429));
        Assert.All(events.Where(e => e.Status == 429), e => Assert.Equal("rate_limit_exceeded", e.ErrorCode));

        // A refused request is recorded with what it asked for, as a served one is: what a caller keeps asking for while
        // refused is evidence too.
        var refused = events.First(e => e.AccountId == "kate" && e.Status == 429);
        Assert.Equal("dg-teacher", refused.Model);
        Assert.Equal(3, refused.MaxTokens);
    }

    [Fact]
    public async Task StreamedTokens_AreCountedAsTheyFlow_AndTheDebtBlocksTheNextRequest()
    {
        // The limiter reads the gateway's clock: a fake one that does not move, so the debt is exact.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
        await using var gateway = await TestGateway.StartAsync(o => o.RateLimits.Tiers["metered"] = new RateLimits { TokensPerMinute = 60 }, time: time);
        var key = await CreateAsync(gateway, "mia", "metered");

        // One stream of up to 200 tokens against a 60-token minute: admitted (the balance is positive), then overdrawn.
        using var stream = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions",
            """{"model":"dg-teacher","messages":[{"role":"user","content":"The history of"}],"max_tokens":200,"temperature":1.5,"stream":true,"stream_options":{"include_usage":true},"seed":1}""", key));
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var text = await stream.Content.ReadAsStringAsync();
        var usage = text.Split("\n\n").Where(e => e.Contains("\"usage\":{", StringComparison.Ordinal)).Single();
        using var usageJson = JsonDocument.Parse(usage["data: ".Length..]);
        var total = usageJson.RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt32();

        using var next = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions",
            """{"model":"dg-teacher","messages":[{"role":"user","content":"x"}],"max_tokens":2}""", key));
        Assert.True(total > 60, $"the stream used {total} tokens; the test needs one that overdraws the 60-token minute");
        await BadInputTests.AssertErrorAsync(next, 429, "rate_limit_exceeded");

        // The wait is the time to repay the debt at 60 tokens per minute (Retry-After rounds up to whole seconds).
        var expectedWait = (total - 60) / 60.0 * 60;
        Assert.InRange(next.Headers.RetryAfter!.Delta!.Value.TotalSeconds, expectedWait, Math.Ceiling(expectedWait) + 1);

        // Once the debt is repaid on the gateway's clock, the account is admitted again.
        time.Advance(TimeSpan.FromSeconds(Math.Ceiling(expectedWait) + 2));
        using var later = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions",
            """{"model":"dg-teacher","messages":[{"role":"user","content":"x"}],"max_tokens":2}""", key));
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    private static async Task<string> CreateAsync(TestGateway gateway, string id, string tier)
    {
        using var response = await gateway.Admin.PostAsJsonAsync("admin/v1/accounts", new { id, tier });
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("apiKey").GetString()!;
    }
}
