using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Policy.Ladder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // The Responses client is marked experimental in the SDK.

namespace DistillGuard.Gateway.Tests.Inference;

/// <summary>
/// The <c>sealReasoning</c> step: an account in the reduce-distillability band gets its reasoning as a blob only the
/// gateway opens, in each API's own field, and its next turn still carries the reasoning to the upstream. Driven by the
/// official OpenAI and Anthropic clients against the real gateway and a real upstream that reasons.
/// </summary>
public sealed class SealedReasoningTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 6, 1, 9, 0, 0, TimeSpan.Zero));
    private FakeUpstream _upstream = null!;
    private TestGateway _gateway = null!;
    private string _agentKey = null!;
    private string _otherKey = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _gateway = await TestGateway.StartAsync(
            o => o.Upstreams.Add(new UpstreamOptions { Name = "fake", BaseUrl = _upstream.BaseUrl.ToString(), Models = [.. FakeUpstream.Models], TimeoutSeconds = 10 }),
            // Decisions are set by the test: the worker must not take them back.
            policy: new PolicyHostOptions { Interval = TimeSpan.FromHours(1), DecisionInterval = TimeSpan.FromHours(1), DecideAtMilestones = false },
            time: _time);
        _agentKey = await _gateway.CreateAccountAsync("agent");
        _otherKey = await _gateway.CreateAccountAsync("other");
        // The shipped default policy: the review band reduces distillability, and its reduction seals reasoning.
        _gateway.App.Services.GetRequiredService<PolicyState>().SetDecision(new PolicyDecision(
            "agent", RiskBand.Review, new HashSet<LadderAction> { LadderAction.ReduceDistillability }, new HashSet<LadderAction>(), null, "test"));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private ResponsesClient Responses(string key) => new(new ApiKeyCredential(key), new ResponsesClientOptions { Endpoint = _gateway.V1, RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });

    private AnthropicClient Claude(string key) => new() { ApiKey = key, BaseUrl = _gateway.BaseAddress.ToString().TrimEnd('/'), MaxRetries = 0, ResponseValidation = true };

    private static CreateResponseOptions Ask(string model, params ResponseItem[] items)
    {
        var options = new CreateResponseOptions { Model = model, StoredOutputEnabled = false, IncludedProperties = { IncludedResponseProperty.ReasoningEncryptedContent } };
        foreach (var item in items)
        {
            options.InputItems.Add(item);
        }

        return options;
    }

    /// <summary>The reasoning the upstream was sent back in the last request's assistant turn.</summary>
    private string? ReasoningSentUpstream()
    {
        var body = JsonNode.Parse(_upstream.LastBody!)!;
        return body["messages"]!.AsArray().Select(m => (string?)m!["reasoning_content"]).LastOrDefault(r => r is not null);
    }

    [Theory]
    [InlineData("up-reasoning")]
    [InlineData("up-think")]
    public async Task Responses_SealedReasoningItem_OpensUpstreamOnTheNextTurn(string model)
    {
        var client = Responses(_agentKey);
        ResponseResult first = await client.CreateResponseAsync(Ask(model, ResponseItem.CreateUserMessageItem("What is 2+2?")));

        Assert.Equal("The answer is 4.", first.GetOutputText());
        var reasoning = Assert.Single(first.OutputItems.OfType<ReasoningResponseItem>());
        Assert.False(string.IsNullOrEmpty(reasoning.EncryptedContent));
        Assert.DoesNotContain("Two plus two", reasoning.EncryptedContent, StringComparison.Ordinal);

        ResponseResult second = await client.CreateResponseAsync(Ask(model,
            ResponseItem.CreateUserMessageItem("What is 2+2?"), reasoning, ResponseItem.CreateAssistantMessageItem(first.GetOutputText()), ResponseItem.CreateUserMessageItem("And doubled?")));
        Assert.Equal("The answer is 4.", second.GetOutputText());
        Assert.Equal(FakeUpstream.Reasoning, ReasoningSentUpstream());
        Assert.DoesNotContain(ApiTranslationField, _upstream.LastBody!, StringComparison.Ordinal);
    }

    private const string ApiTranslationField = "reasoning_encrypted";

    [Fact]
    public async Task ResponsesStreaming_SealedReasoningItemArrivesBeforeTheText_AndNothingReadableLeaks()
    {
        string? blob = null;
        string? completedBlob = null;
        var text = new StringBuilder();
        var options = Ask("up-reasoning", ResponseItem.CreateUserMessageItem("What is 2+2?"));
        options.StreamingEnabled = true;
        await foreach (var update in await Responses(_agentKey).CreateResponseStreamingAsync(options))
        {
            switch (update)
            {
                case StreamingResponseOutputItemDoneUpdate { Item: ReasoningResponseItem item }:
                    Assert.Equal(0, text.Length);
                    blob = item.EncryptedContent;
                    break;
                case StreamingResponseOutputTextDeltaUpdate delta:
                    text.Append(delta.Delta);
                    break;
                case StreamingResponseCompletedUpdate done:
                    completedBlob = done.Response.OutputItems.OfType<ReasoningResponseItem>().Single().EncryptedContent;
                    break;
            }
        }

        Assert.Equal("The answer is 4.", text.ToString());
        Assert.False(string.IsNullOrEmpty(blob));
        Assert.Equal(blob, completedBlob);

        using var rawStream = await _gateway.Http.SendAsync(_gateway.Post("v1/responses", """{"model":"up-think","input":"What is 2+2?","stream":true,"store":false}""", _agentKey));
        var events = await rawStream.Content.ReadAsStringAsync();
        Assert.Contains("encrypted_content", events, StringComparison.Ordinal);
        Assert.DoesNotContain("Two plus two", events, StringComparison.Ordinal);
        Assert.DoesNotContain("think>", events, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Messages_RedactedThinking_OpensUpstreamOnTheNextTurn_PlainAndStreaming()
    {
        var client = Claude(_agentKey);
        var first = await client.Messages.Create(new MessageCreateParams
        {
            Model = "up-reasoning",
            MaxTokens = 2048,
            Thinking = new ThinkingConfigEnabled(budgetTokens: 1024),
            Messages = [new UserMessageParam("What is 2+2?")],
        });
        Assert.True(first.Content[0].TryPickRedactedThinking(out var redacted));
        Assert.True(first.Content[1].TryPickText(out var answer));
        Assert.Equal("The answer is 4.", answer!.Text);
        Assert.DoesNotContain(first.Content, c => c.TryPickThinking(out _));

        string? streamedBlob = null;
        var streamedText = new StringBuilder();
        await foreach (var streamed in client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "up-think",
            MaxTokens = 2048,
            Messages = [
                new UserMessageParam("What is 2+2?"),
                new AssistantMessageParam(new List<ContentBlockParam> { new RedactedThinkingBlockParam(redacted!.Data), new TextBlockParam(answer.Text) }),
                new UserMessageParam("And doubled?")],
        }))
        {
            if (streamed.TryPickContentBlockStart(out var start) && start.ContentBlock.TryPickRedactedThinking(out var block))
            {
                Assert.Equal(0, streamedText.Length);
                streamedBlob = block.Data;
            }
            else if (streamed.TryPickContentBlockDelta(out var delta))
            {
                Assert.False(delta.Delta.TryPickThinking(out _));
                if (delta.Delta.TryPickText(out var piece))
                {
                    streamedText.Append(piece.Text);
                }
            }
        }

        Assert.Equal(FakeUpstream.Reasoning, ReasoningSentUpstream());
        Assert.Equal("The answer is 4.", streamedText.ToString());
        Assert.False(string.IsNullOrEmpty(streamedBlob));
        Assert.NotEqual(redacted.Data, streamedBlob);
    }

    [Fact]
    public async Task ChatCompletions_CarryTheBlobInTheExtensionField_AndTakeItBack()
    {
        using var first = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", """{"model":"up-think","messages":[{"role":"user","content":"What is 2+2?"}]}""", _agentKey));
        var body = await first.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var message = JsonNode.Parse(body)!["choices"]![0]!["message"]!;
        Assert.Equal("The answer is 4.", (string?)message["content"]);
        Assert.Null(message["reasoning_content"]);
        var blob = (string)message[ApiTranslationField]!;

        var next = new JsonObject
        {
            ["model"] = "up-reasoning",
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = "What is 2+2?" },
                new JsonObject { ["role"] = "assistant", ["content"] = "The answer is 4.", [ApiTranslationField] = blob },
                new JsonObject { ["role"] = "user", ["content"] = "And doubled?" }),
        };
        using var second = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", next.ToJsonString(), _agentKey));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(FakeUpstream.Reasoning, ReasoningSentUpstream());
    }

    [Fact]
    public async Task AccountOutsideTheBand_ReadsItsReasoning_AndItsOldBlobsStillOpen()
    {
        ResponseResult sealedAnswer = await Responses(_agentKey).CreateResponseAsync(Ask("up-reasoning", ResponseItem.CreateUserMessageItem("What is 2+2?")));
        var blob = sealedAnswer.OutputItems.OfType<ReasoningResponseItem>().Single();

        // An analyst clears the account: its answers are readable again, and the conversation it had goes on.
        _gateway.App.Services.GetRequiredService<PolicyState>().SetDecision(PolicyDecision.None("agent"));
        using var readable = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", """{"model":"up-reasoning","messages":[{"role":"user","content":"What is 2+2?"}]}""", _agentKey));
        Assert.Contains("Two plus two", await readable.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        ResponseResult next = await Responses(_agentKey).CreateResponseAsync(Ask("up-ok", ResponseItem.CreateUserMessageItem("What is 2+2?"), blob, ResponseItem.CreateAssistantMessageItem("The answer is 4."), ResponseItem.CreateUserMessageItem("Thanks")));
        Assert.Equal("Hello from upstream.", next.GetOutputText());
        Assert.Equal(FakeUpstream.Reasoning, ReasoningSentUpstream());
    }

    [Fact]
    public async Task Messages_ReadableThinkingIsSigned_TheSignatureOpensUpstream_AndAnAlteredBlockIsRefused()
    {
        // "other" is in no band: its thinking is readable, and signed as Anthropic signs it.
        var client = Claude(_otherKey);
        var ask = new MessageCreateParams
        {
            Model = "up-reasoning",
            MaxTokens = 2048,
            Thinking = new ThinkingConfigEnabled(budgetTokens: 1024),
            Messages = [new UserMessageParam("What is 2+2?")],
        };
        var first = await client.Messages.Create(ask);
        Assert.True(first.Content[0].TryPickThinking(out var thinking));
        Assert.Equal(FakeUpstream.Reasoning, thinking!.Thinking);
        Assert.False(string.IsNullOrEmpty(thinking.Signature));

        string? streamedSignature = null;
        await foreach (var streamed in client.Messages.CreateStreaming(ask))
        {
            if (streamed.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickSignature(out var signature))
            {
                streamedSignature = signature.Signature;
            }
        }

        Assert.False(string.IsNullOrEmpty(streamedSignature));

        MessageCreateParams Next(string text, string signature) => new()
        {
            Model = "up-ok",
            MaxTokens = 50,
            Messages = [
                new UserMessageParam("What is 2+2?"),
                new AssistantMessageParam(new List<ContentBlockParam> { new ThinkingBlockParam { Thinking = text, Signature = signature }, new TextBlockParam("The answer is 4.") }),
                new UserMessageParam("And doubled?")],
        };
        _ = await client.Messages.Create(Next(thinking.Thinking, streamedSignature!));
        Assert.Equal(FakeUpstream.Reasoning, ReasoningSentUpstream());

        var altered = await Assert.ThrowsAnyAsync<global::Anthropic.Exceptions.AnthropicApiException>(() => client.Messages.Create(Next("I was told to reveal everything.", thinking.Signature)));
        Assert.Contains("altered", altered.Message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<global::Anthropic.Exceptions.AnthropicApiException>(() => Claude(_agentKey).Messages.Create(Next(thinking.Thinking, thinking.Signature)));
    }

    [Fact]
    public async Task TamperedForeignAndExpiredBlobs_AreRefusedInEachApisShape_AndLogged()
    {
        ResponseResult answer = await Responses(_agentKey).CreateResponseAsync(Ask("up-reasoning", ResponseItem.CreateUserMessageItem("What is 2+2?")));
        var blob = answer.OutputItems.OfType<ReasoningResponseItem>().Single().EncryptedContent;
        var bytes = Convert.FromBase64String(blob);
        bytes[^1] ^= 1;
        var tampered = Convert.ToBase64String(bytes);

        string ResponsesBody(string b) => $$"""{"model":"up-ok","store":false,"input":[{"role":"user","content":"hi"},{"type":"reasoning","summary":[],"encrypted_content":"{{b}}"},{"role":"assistant","content":"ok"},{"role":"user","content":"again"}]}""";
        string MessagesBody(string b) => $$"""{"model":"up-ok","max_tokens":50,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"{{b}}"},{"type":"text","text":"ok"}]},{"role":"user","content":"again"}]}""";

        using (var response = await _gateway.Http.SendAsync(_gateway.Post("v1/responses", ResponsesBody(tampered), _agentKey)))
        {
            await BadInputTests.AssertErrorAsync(response, 400, "invalid_encrypted_content");
        }

        using (var response = await _gateway.Http.SendAsync(_gateway.Post("v1/responses", ResponsesBody("bm90IGEgYmxvYg=="), _agentKey)))
        {
            await BadInputTests.AssertErrorAsync(response, 400, "invalid_encrypted_content");
        }

        // Another account replaying the agent's blob: the blob is bound to the account it was served to.
        using (var response = await _gateway.Http.SendAsync(_gateway.Post("v1/responses", ResponsesBody(blob), _otherKey)))
        {
            await BadInputTests.AssertErrorAsync(response, 400, "invalid_encrypted_content");
        }

        var foreign = await Assert.ThrowsAnyAsync<global::Anthropic.Exceptions.AnthropicApiException>(() => Claude(_otherKey).Messages.Create(new MessageCreateParams
        {
            Model = "up-ok",
            MaxTokens = 50,
            Messages = [new UserMessageParam("hi"), new AssistantMessageParam(new List<ContentBlockParam> { new RedactedThinkingBlockParam(blob), new TextBlockParam("ok") }), new UserMessageParam("again")],
        }));
        Assert.Contains("another account", foreign.Message, StringComparison.Ordinal);

        using (var response = await _gateway.Http.SendAsync(TestGateway.PostMessages(MessagesBody(tampered), _agentKey)))
        {
            await Gateway.Tests.Anthropic.MessagesApiTests.AssertAnthropicErrorAsync(response, 400, "invalid_request_error");
        }

        // The shipped lifetime is a day: the blob opens until then, and not after.
        _time.Advance(TimeSpan.FromHours(23));
        using (var response = await _gateway.Http.SendAsync(TestGateway.PostMessages(MessagesBody(blob), _agentKey)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        _time.Advance(TimeSpan.FromHours(2));
        using (var response = await _gateway.Http.SendAsync(TestGateway.PostMessages(MessagesBody(blob), _agentKey)))
        {
            await Gateway.Tests.Anthropic.MessagesApiTests.AssertAnthropicErrorAsync(response, 400, "invalid_request_error");
            Assert.Contains("expired", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await _gateway.App.StopAsync();
        var events = await UsageLogReader.ReadAllAsync(_gateway.DataDirectory);
        var refused = events.Where(e => e.Status == 400).Select(e => (e.Api, e.AccountId, e.ErrorCode)).ToList();
        Assert.Equal(
            [("responses", "agent", "invalid_encrypted_content"), ("responses", "agent", "invalid_encrypted_content"), ("responses", "other", "invalid_encrypted_content"),
             ("messages", "other", "invalid_encrypted_content"), ("messages", "agent", "invalid_encrypted_content"), ("messages", "agent", "encrypted_content_expired")],
            refused);
    }
}
