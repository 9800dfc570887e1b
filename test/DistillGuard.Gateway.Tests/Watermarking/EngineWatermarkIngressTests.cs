using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Gateway.Usage;
using DistillGuard.Gateway.Watermarking;
using DistillGuard.Policy.Ladder;
using DistillGuard.Storage.Accounts;
using DistillGuard.Storage.Policy;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Gateway.Tests.Watermarking;

/// <summary>The ingress rule: <c>"watermarking": false</c> forwarded, stripped or refused by tier, audited, and stripped whenever the ladder's watermark step applies.</summary>
public sealed class EngineWatermarkIngressTests
{
    private static Task<TestGateway> StartAsync(FakeUpstream upstream) => TestGateway.StartAsync(o =>
    {
        o.Watermark.EngineOptOut = new EngineOptOutOptions
        {
            Default = EngineOptOutRule.Strip,
            Tiers = { ["internal"] = EngineOptOutRule.Allow, ["free"] = EngineOptOutRule.Refuse },
        };
        o.Upstreams.Add(new UpstreamOptions { Name = "fake", BaseUrl = upstream.BaseUrl.ToString(), Models = [.. FakeUpstream.Models] });
    });

    private static string Chat(string watermarking, bool stream = false) =>
        $$"""{"model":"up-ok","stream":{{(stream ? "true" : "false")}},"watermarking":{{watermarking}},"messages":[{"role":"user","content":"secret prompt text"}]}""";

    private static JsonObject Received(FakeUpstream upstream) => JsonNode.Parse(upstream.LastBody!)!.AsObject();

    private static async Task<JsonElement[]> AuditAsync(TestGateway gateway, string account)
    {
        var audit = await gateway.Admin.GetFromJsonAsync<JsonElement>($"admin/v1/audit?account={account}");
        return [.. audit.GetProperty("data").EnumerateArray().Where(a => a.GetProperty("action").GetString()!.StartsWith("watermark:", StringComparison.Ordinal))];
    }

    [Fact]
    public async Task OptOut_DefaultTier_IsStrippedBeforeTheUpstream_AndAudited()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream);
        var key = await gateway.CreateAccountAsync("std-user");

        foreach (var stream in new[] { false, true })
        {
            using var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", Chat("false", stream), key));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(Received(upstream).ContainsKey("watermarking"), upstream.LastBody);
            Assert.Equal("secret prompt text", Received(upstream)["messages"]![0]!["content"]!.GetValue<string>());
        }

        var audit = await AuditAsync(gateway, "std-user");
        Assert.Equal(2, audit.Length);
        Assert.All(audit, a => Assert.Equal("watermark:opt-out-stripped", a.GetProperty("action").GetString()));
        Assert.Contains("tier 'standard'", audit[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("secret prompt text", audit[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OptOut_AllowedTier_IsForwarded_TrueIsForwardedForAnyone()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream);
        var trusted = await gateway.CreateAccountAsync("trusted", tier: "internal");
        var free = await gateway.CreateAccountAsync("free-user", tier: "free");

        using (var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", Chat("false"), trusted)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(Received(upstream)["watermarking"]!.GetValue<bool>());
        }

        using (var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", Chat("true"), free)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(Received(upstream)["watermarking"]!.GetValue<bool>());
        }

        Assert.Empty(await AuditAsync(gateway, "trusted"));
    }

    [Fact]
    public async Task OptOut_RefusedTier_Is400_NeverReachesTheUpstream_AndAudited()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream);
        var free = await gateway.CreateAccountAsync("free-user", tier: "free");

        using var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", Chat("false"), free));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("watermarking_not_allowed", error.GetProperty("code").GetString());
        Assert.Equal("watermarking", error.GetProperty("param").GetString());
        Assert.Null(upstream.LastBody);
        Assert.Equal("watermark:opt-out-refused", Assert.Single(await AuditAsync(gateway, "free-user")).GetProperty("action").GetString());
    }

    [Theory]
    [InlineData("\"no\"")]
    [InlineData("0")]
    [InlineData("null")]
    public async Task Watermarking_NotABoolean_Is400(string value)
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream);
        var key = await gateway.CreateAccountAsync("std-user");

        using var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", Chat(value), key));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("must be a boolean", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(upstream.LastBody);
    }

    [Fact]
    public async Task LadderWatermarkStep_StripsTheOptOut_EvenForAnAllowedTier()
    {
        var directory = Directory.CreateTempSubdirectory("dg-ingress-");
        try
        {
            var options = new WatermarkOptions { EngineOptOut = new EngineOptOutOptions { Tiers = { ["internal"] = EngineOptOutRule.Allow } } };
            await using var store = SqlitePolicyStore.Open(directory.FullName, TimeProvider.System, NullLogger.Instance);
            var ingress = new EngineWatermarkIngress(options, store, TimeProvider.System);
            var account = new Account { Id = "boosted", Tier = "internal", CreatedAt = DateTimeOffset.UnixEpoch };
            var usage = new RequestUsage
            {
                RequestId = "r1",
                StartedAt = DateTimeOffset.UnixEpoch,
                StartTimestamp = 0,
                Endpoint = "/v1/chat/completions",
                Api = "openai",
                Caller = new AuthenticatedAccount(account, "k1"),
                Decision = new PolicyDecision("boosted", RiskBand.Review, new HashSet<LadderAction> { LadderAction.WatermarkBoost }, new HashSet<LadderAction>(), null, "test"),
            };
            var request = InferenceRequest.Parse(InferenceKind.Chat, JsonNode.Parse(Chat("false")), new LimitOptions());

            await ingress.ApplyAsync(request, usage, CancellationToken.None);

            Assert.False(request.Body.ContainsKey("watermarking"));
            var record = Assert.Single(await store.ListAuditAsync("boosted", 10, CancellationToken.None));
            Assert.Equal("watermark:opt-out-stripped", record.Action);
            Assert.Contains("watermark step", record.Reason, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
