using System.Text.Json.Nodes;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Inference;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Policy.Configuration;

namespace DistillGuard.Gateway.Tests.OpenAI;

/// <summary>What reaches an upstream is decided by the gateway: every alias of a capped field is checked, unknown fields are refused.</summary>
public sealed class RequestFieldTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private TestGateway _gateway = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _gateway = await TestGateway.StartAsync(o => o.Upstreams.Add(new UpstreamOptions
        {
            Name = "fake",
            BaseUrl = _upstream.BaseUrl.ToString(),
            Models = [.. FakeUpstream.Models],
        }));
        _key = await _gateway.CreateAccountAsync("dora");
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    public static TheoryData<string, string, string> Refused => new()
    {
        // Both aliases of the length: the one checked first used to hide the other, which went upstream uncapped.
        { "v1/chat/completions", """{"model":"up-ok","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":5,"max_tokens":1000000}""", "max_tokens" },
        { "v1/chat/completions", """{"model":"up-ok","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":5,"max_tokens":6}""", "max_tokens" },
        { "v1/chat/completions", """{"model":"up-ok","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":1000000,"max_tokens":5}""", "max_completion_tokens" },
        { "v1/completions", """{"model":"up-ok","prompt":"hi","best_of":100}""", "best_of" },
        { "v1/completions", """{"model":"up-ok","prompt":"hi","n":3,"best_of":2}""", "best_of" },
        { "v1/completions", """{"model":"up-ok","prompt":"hi","prompt_logprobs":20}""", "prompt_logprobs" },
        { "v1/chat/completions", """{"model":"up-ok","messages":[{"role":"user","content":"hi"}],"prompt_logprobs":21}""", "prompt_logprobs" },
        { "v1/chat/completions", """{"model":"up-ok","messages":[{"role":"user","content":"hi"}],"guided_json":{"type":"object"}}""", "guided_json" },
        { "v1/chat/completions", """{"model":"up-ok","messages":[{"role":"user","content":"hi"}],"best_of":4}""", "best_of" },
        { "v1/completions", """{"model":"up-ok","prompt":"hi","top_logprobs":5}""", "top_logprobs" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Post_UncheckedOrOverCapField_Gets400NamingIt_AndNothingReachesTheUpstream(string path, string body, string param)
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post(path, body, _key));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 400, text);
        Assert.Equal(param, (string?)JsonNode.Parse(text)!["error"]!["param"]);
        Assert.Null(_upstream.LastBody);
    }

    [Fact]
    public async Task Chat_BothAliasesEqual_IsForwarded()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"up-ok","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":5,"max_tokens":5,"presence_penalty":0.5}""", _key));
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("\"presence_penalty\":0.5", _upstream.LastBody, StringComparison.Ordinal);
    }

    [Fact]
    public void ForwardedFields_ListTheCheckedExtensions_PerEndpoint()
    {
        var chat = InferenceRequest.ForwardedFields(InferenceKind.Chat).ToList();
        var completion = InferenceRequest.ForwardedFields(InferenceKind.Completion).ToList();
        Assert.Contains("prompt_logprobs", chat);
        Assert.Contains("best_of", completion);
        Assert.DoesNotContain("best_of", chat);
        Assert.DoesNotContain("echo", chat);
    }

    [Fact]
    public void Reduce_DropsPromptLogprobs_AndCapsBestOfAndBothLengthAliases()
    {
        var limits = new LimitOptions();
        var completion = InferenceRequest.Parse(InferenceKind.Completion,
            JsonNode.Parse("""{"model":"m","prompt":"hi","prompt_logprobs":5,"logprobs":2,"n":2,"best_of":6,"max_tokens":2000,"max_completion_tokens":2000}"""), limits);
        var reduced = completion.Reduce(new ReductionRule { DropLogprobs = true, MaxChoices = 1, MaxTokens = 100 });

        Assert.False(reduced.Body.ContainsKey("prompt_logprobs"));
        Assert.False(reduced.Body.ContainsKey("logprobs"));
        Assert.Null(reduced.PromptLogprobs);
        Assert.Equal(1, (int)reduced.Body["best_of"]!);
        Assert.Equal(1, reduced.BestOf);
        Assert.Equal(100, (int)reduced.Body["max_tokens"]!);
        Assert.Equal(100, (int)reduced.Body["max_completion_tokens"]!);
    }
}
