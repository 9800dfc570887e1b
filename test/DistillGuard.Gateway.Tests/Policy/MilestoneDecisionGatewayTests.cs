using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.Tests.Inference;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.Policy;

/// <summary>
/// The policy worker acts on a harvester when its request count reaches a milestone (10, 14, 20, …), without waiting
/// for the next calibration tick — here a tick that never comes within the test (ten years apart).
/// </summary>
public sealed class MilestoneDecisionGatewayTests
{
    private static readonly TimeSpan NoTickDuringTheTest = TimeSpan.FromDays(3650);

    // Past HarvestPrompts.Count to the next milestone (320), so the last look comes after the evidence has built up.
    private const int Requests = 320;

    [Fact]
    public async Task Harvester_IsActedOnAtAMilestone_WithoutAnHourlyTick()
    {
        await using var gateway = await TestGateway.StartAsync(policy: new PolicyHostOptions { Interval = TimeSpan.FromMilliseconds(200), DecisionInterval = NoTickDuringTheTest });
        var key = await gateway.CreateAccountAsync("harvester");

        var served = await HarvestAsync(gateway, key);

        // Every request folded in, then one more pass: the last milestone's decision is in.
        await gateway.DetectionObservedAsync(served.Full + served.Reduced + served.Refused);
        await gateway.PolicyPassAsync();
        var policy = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/harvester/policy");
        Assert.Contains(policy.GetProperty("band").GetString(), new[] { "review", "friction" });
        // Acted on mid-harvest: later requests were reduced or refused rather than all served in full.
        Assert.True(served.Reduced > 0 || served.Refused > 0, $"served {served.Full} in full, {served.Reduced} reduced, {served.Refused} refused");
    }

    [Fact]
    public async Task WithoutMilestones_TheSameHarvesterWaitsForTheTick()
    {
        await using var gateway = await TestGateway.StartAsync(policy: new PolicyHostOptions { Interval = TimeSpan.FromMilliseconds(200), DecisionInterval = NoTickDuringTheTest, DecideAtMilestones = false });
        var key = await gateway.CreateAccountAsync("harvester");

        var served = await HarvestAsync(gateway, key);

        // The detector has flagged it, yet a pass takes no decision until the next tick.
        await gateway.DetectionObservedAsync(Requests);
        var account = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/harvester");
        Assert.True(account.GetProperty("flagged").GetBoolean(), account.ToString());
        await gateway.PolicyPassAsync();
        var policy = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/harvester/policy");
        Assert.Equal("none", policy.GetProperty("band").GetString());
        Assert.Equal(Requests, served.Full);
    }

    private static async Task<(int Full, int Reduced, int Refused)> HarvestAsync(TestGateway gateway, string key)
    {
        int full = 0, reduced = 0, refused = 0;
        for (var i = 0; i < Requests; i++)
        {
            var body = JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = 4, logprobs = true, messages = new[] { new { role = "user", content = HarvestPrompts.Prompt(i) } } });
            using var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, key));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                // The friction band asks for verification: the harvest stops here.
                await BadInputTests.AssertErrorAsync(response, 403, "verification_required");
                refused++;
                break;
            }

            if (response.Headers.Contains("x-distillguard-policy"))
            {
                reduced++;
            }
            else
            {
                full++;
            }
        }

        return (full, reduced, refused);
    }
}
