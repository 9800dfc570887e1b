using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Gateway.Tests.Policy;

/// <summary>
/// A campaign in review stays in its band while its review is open, as an account does: its pooled evidence fading
/// (the review band's reductions, or the burst leaving the windows) does not release a fleet nobody has looked at.
/// </summary>
public sealed class CampaignReviewHoldGatewayTests
{
    private const int Fleet = 30;

    // Under the ten requests an account needs to be scored alone: only the pool can flag a member.
    private const int PerMember = 9;

    [Fact]
    public async Task ACampaignInReview_StaysInItsBand_WhenItsPooledEvidenceFades_UntilAnAnalystDecides()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero));
        await using var gateway = await TestGateway.StartAsync(time: time);
        var keys = await gateway.CreateFleetAsync(Fleet, "card-4111-fleet");
        for (var r = 0; r < PerMember; r++)
        {
            for (var i = 0; i < Fleet; i++)
            {
                var body = JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = 4, logprobs = true, top_logprobs = 5, messages = new[] { new { role = "user", content = HarvestPrompts.Prompt((r * Fleet) + i) } } });
                using var request = gateway.Post("v1/chat/completions", body, keys[i]);
                using var response = await gateway.Http.SendAsync(request);
                Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Forbidden });
                time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        await gateway.DetectionObservedAsync(Fleet * PerMember);
        time.Advance(TimeSpan.FromSeconds(1));
        await gateway.PolicyPassAsync();
        var list = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/campaigns");
        var campaignId = Assert.Single(list.GetProperty("data").EnumerateArray(), c => c.GetProperty("memberCount").GetInt32() == Fleet).GetProperty("id").GetString()!;
        var entered = await BandAsync(gateway, "fleet-3");
        Assert.Contains(entered, new[] { "review", "friction" });
        Assert.True((await gateway.GetAccountAsync("fleet-3")).GetProperty("flagged").GetBoolean());

        // Seven and a half days later the burst has left every window (the linker and the engine still know the
        // accounts): on its pooled evidence alone the campaign would be let go.
        time.Advance(TimeSpan.FromDays(7.5));
        await gateway.PolicyPassAsync();
        var campaign = await gateway.Admin.GetFromJsonAsync<JsonElement>($"admin/v1/campaigns/{campaignId}");
        Assert.DoesNotContain(campaign.GetProperty("level").GetString(), new[] { "review", "friction" });
        Assert.Equal(entered, await BandAsync(gateway, "fleet-3"));
        Assert.True((await gateway.GetAccountAsync("fleet-3")).GetProperty("flagged").GetBoolean());

        // The analyst rejects the campaign's review: the hold ends and no member is raised by it any more.
        var queue = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/review?status=open");
        var item = queue.GetProperty("data").EnumerateArray().First(r => r.GetProperty("accountId").GetString() == "campaign:" + campaignId).GetProperty("id").GetInt64();
        using (var reject = await gateway.Admin.PostAsJsonAsync($"admin/v1/review/{item}", new { decision = "reject", reason = "one reseller's customers, contract on file", actor = "ana" }))
        {
            reject.EnsureSuccessStatusCode();
        }

        time.Advance(TimeSpan.FromHours(1));
        await gateway.PolicyPassAsync();
        Assert.Equal("none", await BandAsync(gateway, "fleet-3"));
        Assert.False((await gateway.GetAccountAsync("fleet-3")).GetProperty("flagged").GetBoolean());
    }

    private static async Task<string> BandAsync(TestGateway gateway, string account) =>
        (await gateway.Admin.GetFromJsonAsync<JsonElement>($"admin/v1/accounts/{account}/policy")).GetProperty("band").GetString()!;
}
