using System.ClientModel;
using System.ClientModel.Primitives;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Gateway.Semantics;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;

namespace DistillGuard.Gateway.Tests.Semantics;

public sealed class SemanticWiringTests
{
    [Fact]
    public async Task Serve_WithSemantics_EmbedsSampledPromptsIntoTheEngine()
    {
        await using var gateway = await TestGateway.StartAsync(o => o.Semantics.Enabled = true);
        var key = await gateway.CreateAccountAsync("semantic-account");
        var client = new ChatClient("dg-teacher", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = gateway.V1, RetryPolicy = new ClientRetryPolicy(0) });
        var worker = gateway.App.Services.GetRequiredService<SemanticWorker>();
        var engine = gateway.App.Services.GetRequiredService<DetectionEngine>();

        // The model loads in the background; requests before then are not sampled.
        for (var i = 0; i < 1200 && worker.Features is null; i++)
        {
            await Task.Delay(50);
        }

        Assert.NotNull(worker.Features);
        string[] prompts =
        [
            "How do plants turn sunlight into chemical energy?", "Explain how photosynthesis stores the sun's energy.",
            "What happens in a leaf when it makes sugar from light?", "Describe how green plants capture solar energy.",
            "How is light converted into chemical energy by plants?", "Walk me through how plants make food from sunlight.",
            "Why can plants live on light, and how do they store it?", "How does chlorophyll help a plant harvest light?",
            "Outline how leaves trap the energy in sunshine.", "In simple terms, how do plants use the sun to make food?",
        ];
        foreach (var prompt in prompts)
        {
            await client.CompleteChatAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { MaxOutputTokenCount = 8 });
        }

        for (var i = 0; i < 1200 && worker.Features.Embedded < prompts.Length; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(prompts.Length, worker.Features.Embedded);
        Assert.Same(worker.Features, engine.Extension);
        const string accountId = "semantic-account";
        var features = engine.Features(accountId, DateTimeOffset.UtcNow)!;
        Assert.InRange(features[DetectorKind.SemanticTemplate], 0.5, 1);
        Assert.InRange(engine.StateBytes(accountId), 1, 16 * 1024);
    }
}
