using System.Text.Json.Nodes;
using System.Text.Unicode;
using CsCheck;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Inference;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Policy;

namespace DistillGuard.Gateway.Tests.Fuzz;

/// <summary>
/// Mutated request bodies, config files and policy files: each is accepted within the caps or refused with the
/// parser's own error, never with any other exception (which the gateway would answer with a 500 or a crash at start).
/// </summary>
public sealed class ParserFuzzTests
{
    private static readonly LimitOptions s_limits = new();

    [Theory]
    [InlineData("chat")]
    [InlineData("completions")]
    [InlineData("messages")]
    [InlineData("responses")]
    public void RequestBody_Mutated_IsAcceptedWithinTheCapsOrRefusedWith400(string endpoint)
    {
        var (kind, api) = Endpoint(endpoint);
        FuzzCorpus.Mutants(FuzzCorpus.Seeds("requests")).Sample(body => ParseLikeTheGateway(body, kind, api),
            iter: FuzzCorpus.Iterations(3_000), threads: 1, print: FuzzCorpus.Print);
    }

    [Fact]
    public void RequestCorpus_EverySeed_IsAcceptedByItsEndpoint()
    {
        foreach (var (name, body) in FuzzCorpus.Seeds("requests"))
        {
            var (kind, api) = Endpoint(name.Split('-')[0]);
            var request = InferenceHandler.ParseRequest(InferenceEndpoints.ParseJson(body), body, kind, api, s_limits);
            Assert.False(string.IsNullOrEmpty(request.Model), name);
        }
    }

    [Fact]
    public void ConfigFile_Mutated_ParsesOrNamesTheLine()
    {
        // The documented file names the environment variable that holds an engine's watermark key.
        Environment.SetEnvironmentVariable("VLLM_A_WATERMARK_KEY", "1234567");
        var seeds = FuzzCorpus.Seeds("config");
        Assert.NotNull(GatewayConfigFile.Parse(seeds[0].Bytes, "gateway.json"));
        FuzzCorpus.Mutants(seeds).Sample(file =>
        {
            try
            {
                _ = GatewayConfigFile.Parse(file, "gateway.json");
            }
            catch (Exception e) when (e is JsonConfigException or GatewayConfigException)
            {
                Assert.StartsWith("gateway.json:", e.Message, StringComparison.Ordinal);
            }
        }, iter: FuzzCorpus.Iterations(1_500), threads: 1, print: FuzzCorpus.Print);
    }

    [Fact]
    public void PolicyFile_Mutated_ParsesOrNamesTheLine()
    {
        var seeds = FuzzCorpus.Seeds("policy");
        Assert.NotNull(PolicyFile.Parse(seeds[0].Bytes, "policy.json"));
        FuzzCorpus.Mutants(seeds).Sample(file =>
        {
            try
            {
                _ = PolicyFile.Parse(file, "policy.json");
            }
            catch (JsonConfigException e)
            {
                Assert.StartsWith("policy.json:", e.Message, StringComparison.Ordinal);
            }
        }, iter: FuzzCorpus.Iterations(1_500), threads: 1, print: FuzzCorpus.Print);
    }

    private static (InferenceKind Kind, WireApi Api) Endpoint(string name) => name switch
    {
        "completions" => (InferenceKind.Completion, WireApi.OpenAI),
        "messages" => (InferenceKind.Chat, WireApi.Messages),
        "responses" => (InferenceKind.Chat, WireApi.Responses),
        _ => (InferenceKind.Chat, WireApi.OpenAI),
    };

    /// <summary>What the handler does with a body: UTF-8 check, JSON parse, translation, validation.</summary>
    private static void ParseLikeTheGateway(byte[] body, InferenceKind kind, WireApi api)
    {
        if (!Utf8.IsValid(body))
        {
            return; // Refused with a 400 before any parsing (InferenceEndpoints.ReadBodyAsync).
        }

        InferenceRequest request;
        try
        {
            request = InferenceHandler.ParseRequest(InferenceEndpoints.ParseJson(body), body, kind, api, s_limits);
        }
        catch (OpenAIErrorException e)
        {
            Assert.Equal(400, e.Status);
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            return;
        }

        // Accepted: within every cap, and nothing goes upstream that the gateway did not decide to forward.
        Assert.InRange(request.N, 1, s_limits.MaxChoices);
        Assert.InRange(request.BestOf, 1, s_limits.MaxChoices);
        Assert.True(request.MaxTokens is null || request.MaxTokens <= s_limits.MaxCompletionTokens, $"max_tokens {request.MaxTokens}");
        foreach (var alias in new[] { "max_tokens", "max_completion_tokens" })
        {
            Assert.True(request.Body[alias] is not JsonValue v || !v.TryGetValue<long>(out var length) || length <= s_limits.MaxCompletionTokens, alias);
        }

        var forwarded = InferenceRequest.ForwardedFields(request.Kind).ToHashSet(StringComparer.Ordinal);
        Assert.All(request.Body, field => Assert.Contains(field.Key, forwarded));
        _ = request.PromptText;
    }
}
