using System.ClientModel;
using System.Net;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.
#pragma warning disable SCME0001 // JsonPatch (how the official client sends n) is marked experimental.

namespace DistillGuard.Gateway.Tests.Detection;

/// <summary>
/// Harvests whose answers are short, through the real gateway and the official OpenAI client: soft labels and a prober
/// with four settings are flagged on what they take away, an evaluation harness with logprobs on graded answers is not.
/// </summary>
public sealed class HarvestValueGatewayTests
{
    private static readonly string[] Subjects =
    [
        "photosynthesis", "binary search", "plate tectonics", "compound interest", "the immune system", "quicksort",
        "supply and demand", "the water cycle", "general relativity", "protein folding", "the senate", "entropy",
    ];

    [Fact]
    public async Task Detect_ShortAnswerLogprobHarvestAndFourSettingProber_AreFlagged_EvalHarnessIsNot()
    {
        await using var gateway = await TestGateway.StartAsync();
        var harvest = Chat(gateway, await gateway.CreateAccountAsync("soft-labels"));
        var prober = Chat(gateway, await gateway.CreateAccountAsync("prober"));
        var harness = Chat(gateway, await gateway.CreateAccountAsync("eval-harness"));

        // The cheapest useful harvest: a templated reasoning-elicitation prompt, 12 tokens of answer, the top-5
        // distribution of each token.
        var soft = new ChatCompletionOptions { MaxOutputTokenCount = 12, IncludeLogProbabilities = true, TopLogProbabilityCount = 5 };
        for (var i = 0; i < HarvestPrompts.Count; i++)
        {
            await SendAsync(harvest, HarvestPrompts.Prompt(i), soft);
        }

        // Four temperatures on each prompt, n = 4 samples and the top-20 distribution: four settings in all.
        float[] temperatures = [0.2f, 0.6f, 1.0f, 1.4f];
        for (var i = 0; i < 60; i++)
        {
            foreach (var temperature in temperatures)
            {
                var options = new ChatCompletionOptions { MaxOutputTokenCount = 8, IncludeLogProbabilities = true, TopLogProbabilityCount = 20, Temperature = temperature };
                options.Patch.Set("$.n"u8, 4);
                await SendAsync(prober, $"Continue the sentence: the committee of {Subjects[i % Subjects.Length]} decided on item {i}", options);
            }
        }

        // An evaluation harness: a multiple-choice benchmark scored greedily from the answer letter's top-5 logprobs, then
        // re-run after a harness fix (the same items, the same settings).
        for (var run = 0; run < 2; run++)
        {
            for (var i = 0; i < 120; i++)
            {
                var item = $"Which term matches the definition of item {i}: {Subjects[i % Subjects.Length]}?\nA) first\nB) second\nC) third\nD) fourth\nAnswer:";
                await SendAsync(harness, item, new ChatCompletionOptions { MaxOutputTokenCount = 1, IncludeLogProbabilities = true, TopLogProbabilityCount = 5, Temperature = 0, Seed = 1234 });
            }
        }

        // Read the engine's state once the detection worker has folded in every request (one usage event each).
        await gateway.DetectionObservedAsync(HarvestPrompts.Count + (60 * 4) + (2 * 120));
        var softAccount = await GetAccountAsync(gateway, "soft-labels");
        var proberAccount = await GetAccountAsync(gateway, "prober");
        var harnessAccount = await GetAccountAsync(gateway, "eval-harness");
        Assert.True(softAccount.GetProperty("flagged").GetBoolean(), softAccount.ToString());
        Assert.True(proberAccount.GetProperty("flagged").GetBoolean(), proberAccount.ToString());
        AssertReadableReasons(softAccount, "soft_label_harvest_share");
        AssertReadableReasons(proberAccount, "logprob_entries");
        Assert.Contains(Codes(proberAccount), c => c is "prompt_setting_sweep" or "sampled_logprob_share");
        Assert.False(harnessAccount.GetProperty("flagged").GetBoolean(), harnessAccount.ToString());
    }

    private static async Task<JsonElement> GetAccountAsync(TestGateway gateway, string id)
    {
        using var response = await gateway.Admin.GetAsync($"admin/v1/accounts/{id}");
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private static ChatClient Chat(TestGateway gateway, string key) => new("dg-teacher", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = gateway.V1 });

    private static async Task SendAsync(ChatClient client, string prompt, ChatCompletionOptions options)
    {
        try
        {
            ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage(prompt)], options);
            Assert.NotEmpty(completion.Content);
        }
        catch (ClientResultException e) when (e.Status is (int)HttpStatusCode.Forbidden or (int)HttpStatusCode.TooManyRequests)
        {
            // Once flagged, the response ladder may ask for verification or throttle; detection keeps scoring either way.
        }
    }

    private static IEnumerable<string> Codes(JsonElement account) =>
        account.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("code").GetString()!);

    private static void AssertReadableReasons(JsonElement account, string expected)
    {
        Assert.Contains(account.GetProperty("riskLevel").GetString(), new[] { "review", "friction" });
        var reasons = account.GetProperty("reasons").EnumerateArray().ToList();
        Assert.Contains(reasons, r => r.GetProperty("code").GetString() == expected);
        Assert.All(reasons, r => Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("detail").GetString()), account.ToString()));
    }
}
