using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.Anthropic;

/// <summary>The Anthropic Messages API of the real gateway, driven by the official Anthropic .NET client and by raw HTTP.</summary>
public sealed class MessagesApiTests : IAsyncLifetime
{
    private TestGateway _gateway = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _gateway = await TestGateway.StartAsync();
        _key = await _gateway.CreateAccountAsync("claude-user");
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    // ResponseValidation checks every field of every answer against the SDK's model of the API, not only those read.
    private AnthropicClient Client() => new() { ApiKey = _key, BaseUrl = _gateway.BaseAddress.ToString().TrimEnd('/'), MaxRetries = 0, ResponseValidation = true };

    [Fact]
    public async Task Create_OfficialClient_AnswersWithATextBlockUsageAndStopReason()
    {
        var message = await Client().Messages.Create(new MessageCreateParams
        {
            Model = "dg-teacher",
            MaxTokens = 40,
            System = "You answer questions about counties.",
            Messages = [new UserMessageParam("Tell me about the history of the county.")],
        });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.False(string.IsNullOrWhiteSpace(text!.Text));
        Assert.Equal("dg-teacher", message.Model.Raw());
        Assert.InRange(message.Usage.OutputTokens, 1, 40);
        Assert.True(message.Usage.InputTokens > 5);
        Assert.StartsWith("msg_", message.ID, StringComparison.Ordinal);

        await _gateway.App.StopAsync();
        var logged = Assert.Single(await UsageLogReader.ReadAllAsync(_gateway.DataDirectory));
        Assert.Equal(("messages", "chat.completions", 200, "claude-user"), (logged.Api, logged.Endpoint, logged.Status, logged.AccountId));
        Assert.Equal(40, logged.MaxTokens);
        Assert.Contains("history of the county", logged.PromptText, StringComparison.Ordinal);
        Assert.Equal(message.Usage.OutputTokens, logged.CompletionTokens);
    }

    [Fact]
    public async Task CreateStreaming_OfficialClient_StreamsTheEventsOfTheMessagesApi()
    {
        var kinds = new List<string>();
        var text = new StringBuilder();
        long outputTokens = 0;
        await foreach (var streamed in Client().Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "dg-teacher",
            MaxTokens = 30,
            Messages = [new UserMessageParam("The river and the mill")],
            StopSequences = ["zzzz"],
        }))
        {
            streamed.Switch(
                start => kinds.Add("message_start"),
                delta =>
                {
                    kinds.Add("message_delta");
                    outputTokens = delta.Usage.OutputTokens;
                },
                stop => kinds.Add("message_stop"),
                blockStart => kinds.Add("content_block_start"),
                blockDelta =>
                {
                    kinds.Add("content_block_delta");
                    if (blockDelta.Delta.TryPickText(out var piece))
                    {
                        text.Append(piece.Text);
                    }
                },
                blockStop => kinds.Add("content_block_stop"));
        }

        Assert.Equal("message_start", kinds[0]);
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], kinds[^3..]);
        Assert.Contains("content_block_delta", kinds);
        Assert.False(string.IsNullOrWhiteSpace(text.ToString()));
        Assert.InRange(outputTokens, 1, 30);
    }

    [Fact]
    public async Task RawStream_HasNamedEventsAndAPing()
    {
        using var request = Post("""{"model":"dg-teacher","max_tokens":12,"stream":true,"messages":[{"role":"user","content":"The county"}]}""");
        using var response = await _gateway.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var names = body.Split('\n').Where(l => l.StartsWith("event: ", StringComparison.Ordinal)).Select(l => l[7..]).ToList();
        Assert.Equal(["message_start", "ping", "content_block_start"], names[..3]);
        Assert.Equal("message_stop", names[^1]);
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CountTokens_OfficialClient_CountsThePrompt()
    {
        var count = await Client().Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "dg-teacher",
            Messages = [new UserMessageParam("The history of the county")],
        });

        // "The history of the county" is five GPT-2 tokens.
        Assert.Equal(5, count.InputTokens);
    }

    [Fact]
    public async Task BearerKey_IsAcceptedLikeXApiKey()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages")
        {
            Content = new StringContent("""{"model":"dg-teacher","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await _gateway.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public static TheoryData<string, int, string> BadBodies => new()
    {
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[{"role":"user","content":[{"type":"hologram","text":"hi"}]}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":100},"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"temperature":1.5,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[{"role":"system","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"tools":[],"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"n":3,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}""", 400, "invalid_request_error" },
        { """{"model":"no-such-model","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", 404, "not_found_error" },
        { "{not json", 400, "invalid_request_error" },
        { "[]", 400, "invalid_request_error" },
        { """{"model":5,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":null,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":"ten","messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":null},"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":"many"},"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":2000,"stream":true,"thinking":{"type":"enabled","budget_tokens":4000},"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":2000,"thinking":"on","messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"Zm9yZ2VkIHJlYXNvbmluZyBibG9iIG9mIHNvbWUgbGVuZ3RoIDEyMzQ1Njc4OTA="},{"type":"text","text":"ok"}]},{"role":"user","content":"go on"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[{"role":"user","content":[{"type":"redacted_thinking","data":"abc"}]}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":5,"signature":""},{"type":"text","text":"ok"}]},{"role":"user","content":"go on"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[{"role":"user","content":5}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text"}]}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":5}]}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"messages":"hi"}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"system":[{"type":"image"}],"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"stop_sequences":"x","messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"top_k":-1,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"top_p":2,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"metadata":[],"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"stream":"yes","messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","max_tokens":10,"service_tier":"priority","messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task BadBody_GetsAnthropicErrorShape(string body, int status, string type)
    {
        using var response = await _gateway.Http.SendAsync(Post(body));
        await AssertAnthropicErrorAsync(response, status, type);
    }

    [Fact]
    public async Task MissingKey_Gets401AuthenticationError_MissingVersion_Gets400()
    {
        using var noKey = await _gateway.Http.SendAsync(Post("""{"model":"dg-teacher","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", key: null));
        await AssertAnthropicErrorAsync(noKey, 401, "authentication_error");

        using var noVersion = await _gateway.Http.SendAsync(Post("""{"model":"dg-teacher","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", version: null));
        await AssertAnthropicErrorAsync(noVersion, 400, "invalid_request_error");
    }

    [Fact]
    public async Task OfficialClient_BadRequest_SurfacesTheErrorTypeAndMessage()
    {
        var error = await Assert.ThrowsAnyAsync<global::Anthropic.Exceptions.AnthropicApiException>(() => Client().Messages.Create(new MessageCreateParams
        {
            Model = "dg-teacher",
            MaxTokens = 2000,
            Thinking = new ThinkingConfigEnabled(budgetTokens: 4000),
            Messages = [new UserMessageParam("hi")],
        }));
        Assert.Contains("budget_tokens", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadRequests_EachRecordedWithItsStatusAndApi()
    {
        foreach (var row in BadBodies)
        {
            using var response = await _gateway.Http.SendAsync(Post((string)row[0]));
            Assert.Equal((int)row[1], (int)response.StatusCode);
        }

        await _gateway.App.StopAsync();
        var events = await UsageLogReader.ReadAllAsync(_gateway.DataDirectory);
        Assert.Equal(BadBodies.Select(row => (int)row[1]), events.Select(e => e.Status));
        Assert.All(events, e => Assert.Equal(("messages", "claude-user"), (e.Api, e.AccountId)));
        Assert.Contains(events, e => e.ErrorCode == "unknown_content_block");
    }

    private HttpRequestMessage Post(string body, string? key = "", string? version = "2023-06-01")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key.Length == 0 ? _key : key);
        }

        if (version is not null)
        {
            request.Headers.Add("anthropic-version", version);
        }

        return request;
    }

    internal static async Task AssertAnthropicErrorAsync(HttpResponseMessage response, int status, string type)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        Assert.Equal("error", document.RootElement.GetProperty("type").GetString());
        var error = document.RootElement.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }
}
