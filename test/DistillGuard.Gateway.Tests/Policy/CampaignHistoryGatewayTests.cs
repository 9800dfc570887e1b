using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Storage.Usage;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;

namespace DistillGuard.Gateway.Tests.Policy;

/// <summary>
/// A fleet that finished its burst before the linker ran is still scored on that burst (its members' stored history is
/// pooled when the campaign forms); a student cohort behind one NAT with one assignment prompt is not flagged.
/// </summary>
public sealed class CampaignHistoryGatewayTests
{
    private const int Fleet = 30;

    // Nine requests per member: under the ten an account needs to be scored alone, so only the pool can flag it.
    private const int PerMember = 9;
    private const int Students = 30;

    [Fact]
    public async Task FleetThatBurstBeforeItWasLinked_IsFlaggedOnItsStoredHistory_StudentCohortIsNot()
    {
        // The worker never runs on its own here: the test makes the passes, one before and one after the burst.
        await using var gateway = await TestGateway.StartAsync(policy: new PolicyHostOptions { Interval = TimeSpan.FromHours(1), DecisionInterval = TimeSpan.FromHours(1) });
        var worker = gateway.App.Services.GetRequiredService<PolicyWorker>();
        await worker.EvaluateAsync(DateTimeOffset.UtcNow, CancellationToken.None);

        var fleet = new ChatClient[Fleet];
        for (var i = 0; i < Fleet; i++)
        {
            fleet[i] = Client(gateway, await CreateAsync(gateway, new { id = $"fleet-{i}", org = $"shell-co-{i}", tier = "free", paymentFingerprint = "card-4111-fleet" }));
        }

        var students = new ChatClient[Students];
        for (var i = 0; i < Students; i++)
        {
            students[i] = Client(gateway, await CreateAsync(gateway, new { id = $"student-{i}", org = "univ-042", tier = "edu", paymentFingerprint = $"card-student-{i}" }));
        }

        // The burst, account after account, all from this host's /24 and with one template each population.
        var harvest = new ChatCompletionOptions { MaxOutputTokenCount = 4, IncludeLogProbabilities = true, TopLogProbabilityCount = 5 };
        for (var i = 0; i < Fleet; i++)
        {
            for (var r = 0; r < PerMember; r++)
            {
                ChatCompletion answer = await fleet[i].CompleteChatAsync([new UserChatMessage(HarvestPrompts.Prompt((i * PerMember) + r))], harvest);
                Assert.NotEmpty(answer.Content);
            }
        }

        string[] topics = ["osmosis", "mitosis", "enzymes", "the Krebs cycle", "meiosis", "ribosomes", "homeostasis", "alleles", "diffusion"];
        var assignment = new ChatCompletionOptions { MaxOutputTokenCount = 4 };
        for (var i = 0; i < Students; i++)
        {
            for (var r = 0; r < PerMember; r++)
            {
                var prompt = string.Format(CultureInfo.InvariantCulture, "For my Biology 204 assignment: explain {0} step by step and give one example. Max 300 words.", topics[(i + r) % topics.Length]);
                ChatCompletion answer = await students[i].CompleteChatAsync([new UserChatMessage(prompt)], assignment);
                Assert.NotEmpty(answer.Content);
            }
        }

        // Every request is in the usage log before the linker runs.
        var store = gateway.App.Services.GetRequiredService<IUsageEventStore>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await store.CountAsync(CancellationToken.None) < (Fleet + Students) * PerMember && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await worker.EvaluateAsync(DateTimeOffset.UtcNow, CancellationToken.None);

        var list = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/campaigns");
        var campaign = Assert.Single(list.GetProperty("data").EnumerateArray(), c => c.GetProperty("members").EnumerateArray().Any(m => m.GetString() == "fleet-0"));
        var campaignId = campaign.GetProperty("id").GetString()!;
        Assert.Equal(Fleet, campaign.GetProperty("memberCount").GetInt32());

        // The pool holds the whole burst, sent before there was any campaign to pool it into.
        Assert.Equal(Fleet * PerMember, campaign.GetProperty("pooledRequestsWeek").GetInt32());
        Assert.Contains(campaign.GetProperty("level").GetString(), new[] { "review", "friction" });
        Assert.NotEmpty(campaign.GetProperty("reasons").EnumerateArray());

        // Each member is raised by its campaign at this pass, and says so.
        var member = await gateway.Admin.GetFromJsonAsync<JsonElement>("admin/v1/accounts/fleet-3/policy");
        Assert.NotEqual("none", member.GetProperty("band").GetString());
        Assert.Contains($"via campaign {campaignId}", member.GetProperty("explanation").GetString(), StringComparison.Ordinal);

        // The students share a NAT, a client and an assignment prompt, but declare one university: not a campaign, not flagged.
        Assert.DoesNotContain(list.GetProperty("data").EnumerateArray(), c => c.GetProperty("members").EnumerateArray().Any(m => m.GetString()!.StartsWith("student-", StringComparison.Ordinal)));
        for (var i = 0; i < Students; i += 6)
        {
            var student = await gateway.Admin.GetFromJsonAsync<JsonElement>($"admin/v1/accounts/student-{i}/policy");
            Assert.Equal("none", student.GetProperty("band").GetString());
        }
    }

    private static ChatClient Client(TestGateway gateway, string key) =>
        new("dg-teacher", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = gateway.V1, RetryPolicy = new ClientRetryPolicy(0) });

    private static async Task<string> CreateAsync(TestGateway gateway, object account)
    {
        using var created = await gateway.Admin.PostAsJsonAsync("admin/v1/accounts", account);
        created.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("apiKey").GetString()!;
    }
}
