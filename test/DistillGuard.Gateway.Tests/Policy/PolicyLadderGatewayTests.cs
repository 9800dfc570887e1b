using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Inference;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.Policy;

/// <summary>
/// The ladder end to end: a harvester climbs it visibly, a casual user and a heavy legitimate user (a catalogue
/// translation job as large as the harvest, in the same run) are untouched, an analyst undoes it.
/// </summary>
public sealed class PolicyLadderGatewayTests
{
    [Fact]
    public async Task Harvester_ClimbsTheLadder_LegitimateUsersAreUntouched_AnalystSuspendsThenRestores()
    {
        await using var gateway = await TestGateway.StartAsync();
        var harvesterKey = await gateway.CreateAccountAsync("harvester");
        var casualKey = await gateway.CreateAccountAsync("casual");
        // A batch customer of this size is on an enterprise contract, as in the simulator's population.
        var heavyKey = await gateway.CreateAccountAsync("catalogue", tier: "enterprise");

        var harvesting = true;
        for (var i = 0; i < HarvestPrompts.Count; i++)
        {
            if (harvesting)
            {
                using var response = await SendAsync(gateway, harvesterKey, HarvestPrompts.Prompt(i), logprobs: true);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    // The ladder reached the friction band mid-run and asked for verification: the harvest stops here.
                    await BadInputTests.AssertErrorAsync(response, 403, "verification_required");
                    harvesting = false;
                }
            }

            // The heavy legitimate user keeps going, request for request, and is served every time.
            using var translation = await SendAsync(gateway, heavyKey, CataloguePrompt(i), logprobs: false);
            Assert.Equal(HttpStatusCode.OK, translation.StatusCode);
            Assert.False(translation.Headers.Contains("x-distillguard-policy"));
        }

        using (var casualBefore = await SendAsync(gateway, casualKey, "Any tips for a job interview tomorrow?", logprobs: true))
        {
            Assert.Equal(HttpStatusCode.OK, casualBefore.StatusCode);
        }

        // The detector and the ladder run off the request path: wait for the decision.
        var policy = await gateway.PollAdminAsync("admin/v1/accounts/harvester/policy", p => p.GetProperty("band").GetString() != "none");
        var band = policy.GetProperty("band").GetString();
        Assert.Contains(band, new[] { "review", "friction" });
        var applied = policy.GetProperty("applied").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.Contains("watermark_boost", applied);
        Assert.Contains("reduce_distillability", applied);
        Assert.DoesNotContain("suspend", applied);

        // Visible to the harvester: a header and reduced answers (review), or a request for verification (friction).
        using (var next = await SendAsync(gateway, harvesterKey, "Explain entropy step by step.", logprobs: true))
        {
            Assert.StartsWith(band + "; actions=", next.Headers.GetValues("x-distillguard-policy").Single(), StringComparison.Ordinal);
            if (band == "review")
            {
                // The review band caps length and strips reasoning; logprobs are kept until the friction band (docs/policy.md).
                Assert.Equal(HttpStatusCode.OK, next.StatusCode);
            }
            else
            {
                await BadInputTests.AssertErrorAsync(next, 403, "verification_required");
            }
        }

        // The heavy legitimate user, assessed after the same volume as the harvest: no band, nothing applied.
        var heavyPolicy = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/catalogue/policy");
        Assert.Equal("none", heavyPolicy.GetProperty("band").GetString());
        Assert.DoesNotContain(heavyPolicy.GetProperty("applied").EnumerateArray(), a => a.GetString() != "monitor");
        var heavyAccount = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/catalogue");
        Assert.True(heavyAccount.GetProperty("riskLevel").GetString() == "low", heavyAccount.ToString());
        Assert.False(heavyAccount.GetProperty("flagged").GetBoolean());

        // The casual user in the same run: no header, logprobs as asked.
        using (var casual = await SendAsync(gateway, casualKey, "Can you help me write a note to my landlord?", logprobs: true))
        {
            Assert.Equal(HttpStatusCode.OK, casual.StatusCode);
            Assert.False(casual.Headers.Contains("x-distillguard-policy"));
            using var answer = JsonDocument.Parse(await casual.Content.ReadAsStringAsync());
            Assert.Equal(JsonValueKind.Object, answer.RootElement.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        }

        // Audit and review queue: the automatic step is recorded with its evidence, and queued for a human.
        var audit = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/audit?account=harvester");
        var ladder = audit.GetProperty("data").EnumerateArray().First(a => a.GetProperty("action").GetString()!.StartsWith("ladder:", StringComparison.Ordinal));
        Assert.Equal("system", ladder.GetProperty("actor").GetString());
        Assert.Contains("reasons", ladder.GetProperty("evidenceJson").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("expert data analyst", audit.ToString(), StringComparison.Ordinal);

        var queue = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/review?status=open");
        var item = queue.GetProperty("data").EnumerateArray().Single(i => i.GetProperty("accountId").GetString() == "harvester");
        var itemId = item.GetProperty("id").GetInt64();

        // A decision needs a reason; then the analyst approves the suspension.
        using (var noReason = await gateway.Admin.PostAsJsonAsync($"admin/v1/review/{itemId}", new { decision = "approve" }))
        {
            await BadInputTests.AssertErrorAsync(noReason, 400, "invalid_request_error");
        }

        using (var approve = await gateway.Admin.PostAsJsonAsync($"admin/v1/review/{itemId}", new { decision = "approve", reason = "templated reasoning harvest", actor = "ana" }))
        {
            Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        }

        using (var suspended = await SendAsync(gateway, harvesterKey, "hello", logprobs: false))
        {
            await BadInputTests.AssertErrorAsync(suspended, 403, "account_suspended");
        }

        // Undo: clearing the account restores it fully (and keeps the ladder off it for the grace period).
        using (var clear = await gateway.Admin.PostAsJsonAsync("admin/v1/accounts/harvester/actions", new { action = "clear", reason = "customer showed a research licence", actor = "ben" }))
        {
            Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
            using var view = JsonDocument.Parse(await clear.Content.ReadAsStringAsync());
            Assert.Equal(["monitor"], view.RootElement.GetProperty("applied").EnumerateArray().Select(a => a.GetString()));
        }

        using (var restored = await SendAsync(gateway, harvesterKey, "hello again", logprobs: true))
        {
            Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
            Assert.False(restored.Headers.Contains("x-distillguard-policy"));
            using var answer = JsonDocument.Parse(await restored.Content.ReadAsStringAsync());
            Assert.Equal(JsonValueKind.Object, answer.RootElement.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        }

        var trail = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/audit?account=harvester");
        var actions = trail.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("action").GetString()).ToList();
        Assert.Contains("review:approve", actions);
        Assert.Contains("account:suspend", actions);
        Assert.Contains("account:clear", actions);
        Assert.Contains(trail.GetProperty("data").EnumerateArray(), a => a.GetProperty("actor").GetString() == "ben");
    }

    [Fact]
    public async Task AccountActions_RefuseUnknownActionsAndMissingAccounts()
    {
        await using var gateway = await TestGateway.StartAsync();
        await gateway.CreateAccountAsync("nina");
        using var unknown = await gateway.Admin.PostAsJsonAsync("admin/v1/accounts/nina/actions", new { action = "obliterate", reason = "x" });
        await BadInputTests.AssertErrorAsync(unknown, 400, "invalid_request_error");
        using var missing = await gateway.Admin.PostAsJsonAsync("admin/v1/accounts/nobody/actions", new { action = "block", reason = "x" });
        await BadInputTests.AssertErrorAsync(missing, 404, "account_not_found");
        using var noItem = await gateway.Admin.PostAsJsonAsync("admin/v1/review/12345", new { decision = "approve", reason = "x" });
        await BadInputTests.AssertErrorAsync(noItem, 404, "review_not_found");

        using var block = await gateway.Admin.PostAsJsonAsync("admin/v1/accounts/nina/actions", new { action = "block", reason = "payment fraud" });
        Assert.Equal(HttpStatusCode.OK, block.StatusCode);
        var key = await gateway.CreateAccountAsync("nina-2");
        _ = key;
        var policy = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/nina/policy");
        Assert.Equal("suspended", policy.GetProperty("override").GetString());
        Assert.Contains("suspend", policy.GetProperty("applied").EnumerateArray().Select(a => a.GetString()));
    }

    private static readonly string[] s_products = ["wool scarf", "oak desk", "steel kettle", "linen shirt", "leather wallet", "glass vase", "cotton towel", "ceramic mug", "bamboo tray", "canvas bag", "brass lamp", "silk tie"];
    private static readonly string[] s_features = ["hand-finished edges", "a two-year warranty", "free returns within 30 days", "recycled packaging", "a matte finish", "machine-washable fabric", "a gift box", "three colour options"];

    /// <summary>A catalogue translation job: one instruction, a different product record each time.</summary>
    private static string CataloguePrompt(int i) =>
        $"Translate this product description into French for our online shop: Our {s_products[i % s_products.Length]} (item {1000 + (i * 37 % 900)}) comes with {s_features[i / s_products.Length % s_features.Length]}.";

    private static async Task<HttpResponseMessage> SendAsync(TestGateway gateway, string apiKey, string prompt, bool logprobs)
    {
        var body = JsonSerializer.Serialize(new { model = "dg-teacher", max_tokens = 4, logprobs, messages = new[] { new { role = "user", content = prompt } } });
        return await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", body, apiKey));
    }
}
