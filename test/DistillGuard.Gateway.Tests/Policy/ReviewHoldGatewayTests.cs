using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Gateway.Tests.Policy;

public sealed class ReviewHoldGatewayTests
{
    [Fact]
    public async Task AnAccountInReview_StaysInItsBand_WhenItsEvidenceFades_UntilAnAnalystDecides()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero));
        await using var gateway = await TestGateway.StartAsync(time: time);
        var key = await gateway.CreateAccountAsync("harvester");
        for (var i = 0; i < HarvestPrompts.Count; i++)
        {
            var body = JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = 4, logprobs = true, top_logprobs = 5, messages = new[] { new { role = "user", content = HarvestPrompts.Prompt(i) } } });
            using var request = gateway.Post("v1/chat/completions", body, key);
            using var response = await gateway.Http.SendAsync(request);
            time.Advance(TimeSpan.FromSeconds(2));
        }

        await gateway.DetectionObservedAsync(HarvestPrompts.Count);
        time.Advance(TimeSpan.FromSeconds(1));
        await gateway.PolicyPassAsync();
        var entered = await BandAsync(gateway);
        Assert.Contains(entered, new[] { "review", "friction" });

        // Nine days later nothing is left in the account's windows: on its own evidence it would be let go.
        time.Advance(TimeSpan.FromDays(9));
        await gateway.PolicyPassAsync();
        var now = await gateway.GetAccountAsync("harvester");
        Assert.False(now.TryGetProperty("riskLevel", out var level) && level.GetString() is "review" or "friction", now.ToString());
        Assert.Equal(entered, await BandAsync(gateway));
        Assert.True(now.GetProperty("flagged").GetBoolean(), now.ToString());

        // The analyst rejects the review: the hold ends and the account is cleared.
        var queue = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/review?status=open");
        var item = queue.GetProperty("data").EnumerateArray().First(r => r.GetProperty("accountId").GetString() == "harvester").GetProperty("id").GetInt64();
        using (var reject = await gateway.Admin.PostAsJsonAsync($"admin/v1/review/{item}", new { decision = "reject", reason = "a thesis project, confirmed by mail", actor = "ana" }))
        {
            reject.EnsureSuccessStatusCode();
        }

        time.Advance(TimeSpan.FromSeconds(1));
        await gateway.PolicyPassAsync();
        Assert.Equal("none", await BandAsync(gateway));
        Assert.False((await gateway.GetAccountAsync("harvester")).GetProperty("flagged").GetBoolean());
    }

    private static async Task<string> BandAsync(TestGateway gateway) =>
        (await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/harvester/policy")).GetProperty("band").GetString()!;
}
