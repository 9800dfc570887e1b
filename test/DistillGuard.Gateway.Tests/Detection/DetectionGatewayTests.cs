using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Tests.Detection;

public sealed class DetectionGatewayTests
{
    [Fact]
    public async Task Detect_TemplatedReasoningHarvester_IsFlaggedWithReasons_CasualIsNot()
    {
        await using var gateway = await TestGateway.StartAsync();
        var harvesterKey = await gateway.CreateAccountAsync("harvester");
        var casualKey = await gateway.CreateAccountAsync("casual");

        for (var i = 0; i < HarvestPrompts.Count; i++)
        {
            var prompt = HarvestPrompts.Prompt(i);
            await SendAsync(gateway, harvesterKey, prompt, harvest: true);
        }

        foreach (var prompt in new[] { "What's a good recipe for pancakes?", "Can you help me write a note to my landlord?", "Any tips for a job interview tomorrow?" })
        {
            await SendAsync(gateway, casualKey, prompt);
        }

        // The engine is fed off the request path: wait until the worker has folded in every request.
        await gateway.DetectionObservedAsync(HarvestPrompts.Count + 3);
        var harvester = await gateway.GetAccountAsync("harvester");

        Assert.True(harvester.GetProperty("flagged").GetBoolean(), harvester.ToString());
        Assert.Contains(harvester.GetProperty("riskLevel").GetString(), new[] { "review", "friction" });
        var reasons = harvester.GetProperty("reasons").EnumerateArray().ToList();
        Assert.True(reasons.Count >= 3, harvester.ToString());
        Assert.Contains(reasons, r => r.GetProperty("code").GetString() == "elicitation_share");
        Assert.All(reasons, r => Assert.True(r.GetProperty("percentile").GetDouble() >= 90));

        var casual = await gateway.GetAccountAsync("casual");
        Assert.False(casual.GetProperty("flagged").GetBoolean());
        Assert.Equal("insufficient_evidence", casual.GetProperty("riskLevel").GetString());

        using var list = await gateway.Admin.GetAsync("admin/v1/accounts?flagged=true&sort=risk&limit=10");
        using var listed = JsonDocument.Parse(await list.Content.ReadAsStringAsync());
        var ids = listed.RootElement.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("id").GetString()).ToList();
        Assert.Contains("harvester", ids);
        Assert.DoesNotContain("casual", ids);

        // Detection logs name accounts and reason codes, never prompt text.
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Level > LogLevel.Trace && e.Message.Contains("expert data analyst", StringComparison.Ordinal));
    }

    // The harvester asks for the answer's logprobs (soft labels), as distillers do; short answers keep the test fast.
    // Without them its evidence (≈ 24.9) sat within 2 nats of the shipped review threshold (23.18).
    private static async Task SendAsync(TestGateway gateway, string apiKey, string prompt, bool harvest = false)
    {
        var body = harvest
            ? JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = 4, logprobs = true, top_logprobs = 5, messages = new[] { new { role = "user", content = prompt } } })
            : JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = 4, messages = new[] { new { role = "user", content = prompt } } });
        using var request = gateway.Post("v1/chat/completions", body, apiKey);
        using var response = await gateway.Http.SendAsync(request);

        // Once flagged, the response ladder may ask for verification or throttle; detection keeps scoring either way.
        Assert.Contains(response.StatusCode, new[] { System.Net.HttpStatusCode.OK, System.Net.HttpStatusCode.Forbidden, System.Net.HttpStatusCode.TooManyRequests });
    }
}
