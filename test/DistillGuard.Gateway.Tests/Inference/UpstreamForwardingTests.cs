using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace DistillGuard.Gateway.Tests.Inference;

/// <summary>Forwarding to an OpenAI-compatible upstream: relaying, streaming, faults, timeouts and disconnects.</summary>
public sealed class UpstreamForwardingTests : IAsyncLifetime
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
            ApiKey = "upstream-secret-key",
            Models = [.. FakeUpstream.Models],
            TimeoutSeconds = 1,
            StreamIdleTimeoutSeconds = 5,
        }));
        _key = await _gateway.CreateAccountAsync("carol");
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private ChatClient Chat(string model) => new(model, new ApiKeyCredential(_key), new OpenAIClientOptions { Endpoint = _gateway.V1, NetworkTimeout = TimeSpan.FromSeconds(20), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });

    [Fact]
    public async Task NonStreaming_IsForwardedWithTheUpstreamKey()
    {
        ChatCompletion completion = await Chat("up-ok").CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.Equal("Hello from upstream.", completion.Content[0].Text);
        Assert.Equal(4, completion.Usage.OutputTokenCount);
        Assert.Equal("Bearer upstream-secret-key", _upstream.LastAuthorization);
    }

    [Fact]
    public async Task Streaming_IsRelayedChunkByChunk_AndUsageCountedEvenWhenNotAsked()
    {
        var text = new StringBuilder();
        await foreach (var update in Chat("up-ok").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        Assert.Equal("Hello world", text.ToString());

        // A raw client that does not ask for usage must not see the usage-only chunk the gateway asked for.
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"up-ok","messages":[{"role":"user","content":"hi"}],"stream":true}""", _key));
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("\"usage\"", body, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        Assert.Contains("\"include_usage\":true", _upstream.LastBody, StringComparison.Ordinal);

        await _gateway.App.StopAsync();
        var events = await UsageLogReader.ReadAllAsync(_gateway.DataDirectory);
        Assert.All(events.Where(e => e.Stream), e => Assert.Equal(2, e.CompletionTokens));
    }

    [Fact]
    public async Task UpstreamServerError_Becomes502_WithoutLeakingItsBody()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"up-500","messages":[{"role":"user","content":"hi"}]}""", _key));
        await BadInputTests.AssertErrorAsync(response, 502, "upstream_error");
        Assert.DoesNotContain("secrets", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamRateLimit_IsPassedThroughWithRetryAfter()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"up-429","messages":[{"role":"user","content":"hi"}]}""", _key));
        await BadInputTests.AssertErrorAsync(response, 429, "rate_limit_exceeded");
        Assert.Equal("7", response.Headers.RetryAfter?.ToString());
    }

    [Fact]
    public async Task SlowUpstream_Becomes504()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"up-slow","messages":[{"role":"user","content":"hi"}]}""", _key));
        await BadInputTests.AssertErrorAsync(response, 504, "upstream_timeout");
    }

    [Fact]
    public async Task UnreachableUpstream_Becomes502()
    {
        await using var gateway = await TestGateway.StartAsync(o => o.Upstreams.Add(new UpstreamOptions
        {
            Name = "gone",
            BaseUrl = "http://127.0.0.1:1/v1",
            Models = ["gone-model"],
            ConnectTimeoutSeconds = 2,
        }));
        var key = await gateway.CreateAccountAsync("dave");
        using var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions",
            """{"model":"gone-model","messages":[{"role":"user","content":"hi"}]}""", key));
        await BadInputTests.AssertErrorAsync(response, 502, "upstream_unavailable");
    }

    [Fact]
    public async Task StreamBrokenMidway_EndsWithAnErrorEvent()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"up-break","messages":[{"role":"user","content":"hi"}],"stream":true}""", _key));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("Hello", body, StringComparison.Ordinal);
        var last = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[^1];
        using var error = JsonDocument.Parse(last["data: ".Length..]);
        Assert.Equal("upstream_error", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientDisconnect_CancelsTheUpstreamCall()
    {
        using var client = new HttpClient { BaseAddress = _gateway.BaseAddress };
        var request = _gateway.Post("v1/chat/completions", """{"model":"up-hang-stream","messages":[{"role":"user","content":"hi"}],"stream":true}""", _key);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[256];
        var read = await stream.ReadAsync(buffer);
        Assert.True(read > 0);

        // Walk away mid-stream.
        response.Dispose();
        client.Dispose();

        var finished = await Task.WhenAny(_upstream.UpstreamCancelled.Task, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(_upstream.UpstreamCancelled.Task, finished);
    }
}
