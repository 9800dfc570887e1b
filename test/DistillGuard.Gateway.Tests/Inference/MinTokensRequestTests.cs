using System.Text.Json.Nodes;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Policy.Configuration;

namespace DistillGuard.Gateway.Tests.Inference;

/// <summary><c>min_tokens</c> as the request model reads it, and what the ladder's length cap does to it.</summary>
public sealed class MinTokensRequestTests
{
    private static InferenceRequest Parse(string json) => InferenceRequest.Parse(InferenceKind.Chat, JsonNode.Parse(json), new LimitOptions());

    [Fact]
    public void Parse_MinTokens_DefaultsToZero_AndIsBoundedByTheLimit()
    {
        Assert.Equal(0, Parse("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""").MinTokens);
        Assert.Equal(300, Parse("""{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":4096,"min_tokens":300}""").MinTokens);
        // Without max_tokens the bound is the gateway's completion limit.
        Assert.Equal(4096, Parse("""{"model":"m","messages":[{"role":"user","content":"hi"}],"min_tokens":4096}""").MinTokens);
        var error = Assert.Throws<OpenAIErrorException>(() => Parse("""{"model":"m","messages":[{"role":"user","content":"hi"}],"min_tokens":4097}"""));
        Assert.Contains("min_tokens", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reduce_LengthCapBelowTheFloor_LowersTheFloorInTheForwardedBody()
    {
        var request = Parse("""{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":4096,"min_tokens":1300}""");

        var reduced = request.Reduce(new ReductionRule { MaxTokens = 512 });

        Assert.Equal(512, reduced.MaxTokens);
        Assert.Equal(512, reduced.MinTokens);
        Assert.Equal(512, reduced.Body["min_tokens"]!.GetValue<int>());
        Assert.Equal(512, reduced.Body["max_tokens"]!.GetValue<int>());

        var under = Parse("""{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":4096,"min_tokens":100}""").Reduce(new ReductionRule { MaxTokens = 512 });
        Assert.Equal(100, under.MinTokens);
        Assert.Equal(100, under.Body["min_tokens"]!.GetValue<int>());
    }
}
