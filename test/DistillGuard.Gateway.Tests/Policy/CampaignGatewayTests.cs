using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Inference;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.Policy;

/// <summary>Campaign action end to end: a fleet of thin accounts paying with one card is linked, flagged as one, reviewed as one.</summary>
public sealed class CampaignGatewayTests
{
    private const int Fleet = 30;

    // Each member sends nine requests: under the ten an account needs to be scored alone, so only the pool can flag it.
    private const int PerMember = 8;

    [Fact]
    public async Task HydraFleet_IsLinkedAndFlaggedAsOneCampaign_AnalystSuspendsItAsOne_CasualIsUntouched()
    {
        await using var gateway = await TestGateway.StartAsync();
        var keys = await gateway.CreateFleetAsync(Fleet, "card-4111-fleet");

        var casualKey = await gateway.CreateAccountAsync("casual");
        for (var i = 0; i < Fleet; i++)
        {
            using var first = await SendAsync(gateway, keys[i], HarvestPrompts.Prompt(i), harvest: true);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // Linked by the shared card at the next tick; from then on the members' traffic is pooled.
        var list = await gateway.PollAdminAsync("admin/v1/campaigns", c => c.GetProperty("data").EnumerateArray().Any(m => m.GetProperty("memberCount").GetInt32() == Fleet));
        var campaign = list.GetProperty("data")[0];
        var campaignId = campaign.GetProperty("id").GetString()!;
        Assert.Equal(Fleet, campaign.GetProperty("memberCount").GetInt32());
        Assert.Contains(campaign.GetProperty("links").EnumerateArray(), l => l.GetProperty("code").GetString() == "shared_payment");
        Assert.DoesNotContain("card-4111-fleet", list.ToString(), StringComparison.Ordinal);

        for (var round = 0; round < PerMember; round++)
        {
            for (var i = 0; i < Fleet; i++)
            {
                using var response = await SendAsync(gateway, keys[i], HarvestPrompts.Prompt(Fleet + (round * Fleet) + i), harvest: true);
                Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Forbidden });
            }
        }

        var flagged = await gateway.PollAdminAsync($"admin/v1/campaigns/{campaignId}", c => c.GetProperty("level").GetString() is "review" or "friction");
        Assert.NotEmpty(flagged.GetProperty("reasons").EnumerateArray());
        Assert.Equal(Fleet, flagged.GetProperty("members").GetArrayLength());

        // Each member is raised by its campaign (it is too thin to be flagged alone), and says so.
        var member = await gateway.PollAdminAsync("admin/v1/accounts/fleet-7/policy", p => p.GetProperty("band").GetString() != "none");
        Assert.Contains($"via campaign {campaignId}", member.GetProperty("explanation").GetString(), StringComparison.Ordinal);
        var account = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/fleet-7");
        Assert.Equal(campaignId, account.GetProperty("campaignId").GetString());

        // One review entry for the campaign, none per member.
        var queue = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/review?status=open");
        var entries = queue.GetProperty("data").EnumerateArray().ToList();
        var item = entries.Single(e => e.GetProperty("accountId").GetString() == "campaign:" + campaignId);
        Assert.DoesNotContain(entries, e => e.GetProperty("accountId").GetString()!.StartsWith("fleet-", StringComparison.Ordinal));

        using (var approve = await gateway.Admin.PostAsJsonAsync($"admin/v1/review/{item.GetProperty("id").GetInt64()}", new { decision = "approve", reason = "one card behind 30 shell accounts, templated harvest", actor = "ana" }))
        {
            Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        }

        for (var i = 0; i < Fleet; i += 7)
        {
            using var suspended = await SendAsync(gateway, keys[i], "hello");
            await BadInputTests.AssertErrorAsync(suspended, 403, "account_suspended");
        }

        using (var casual = await SendAsync(gateway, casualKey, "Any tips for a job interview tomorrow?"))
        {
            Assert.Equal(HttpStatusCode.OK, casual.StatusCode);
            Assert.False(casual.Headers.Contains("x-distillguard-policy"));
        }

        // Every member's suspension is its own audited override, so one wrongly linked account can be restored alone.
        using (var clear = await gateway.Admin.PostAsJsonAsync("admin/v1/accounts/fleet-14/actions", new { action = "clear", reason = "a real customer who shared a card", actor = "ben" }))
        {
            Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        }

        using (var restored = await SendAsync(gateway, keys[14], "hello again"))
        {
            Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
        }

        var trail = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/audit?account=fleet-0");
        Assert.Contains(trail.GetProperty("data").EnumerateArray(), a => a.GetProperty("action").GetString() == "account:suspend"
            && a.GetProperty("reason").GetString()!.Contains(campaignId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Campaigns_UnknownId_Is404()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var missing = await gateway.Admin.GetAsync("admin/v1/campaigns/cmp-000000000000");
        await BadInputTests.AssertErrorAsync(missing, 404, "campaign_not_found");
        var empty = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/campaigns");
        Assert.Equal(0, empty.GetProperty("data").GetArrayLength());
    }

    // The fleet harvests as distillers do, with the answer's logprobs (soft labels); short answers keep the test fast. Without
    // them the pooled evidence of 270 templated reasoning requests sits at the review threshold (23.16 against 23.18 in
    // one CI run), and whether the campaign is flagged comes down to timing.
    private static async Task<HttpResponseMessage> SendAsync(TestGateway gateway, string apiKey, string prompt, bool harvest = false)
    {
        var body = harvest
            ? JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = 4, logprobs = true, top_logprobs = 5, messages = new[] { new { role = "user", content = prompt } } })
            : JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = 4, messages = new[] { new { role = "user", content = prompt } } });
        return await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, apiKey));
    }
}
