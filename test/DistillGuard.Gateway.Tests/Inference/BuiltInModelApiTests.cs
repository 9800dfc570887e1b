using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.

namespace DistillGuard.Gateway.Tests.Inference;

/// <summary>The built-in model through the real gateway, driven by the official OpenAI .NET client.</summary>
public sealed class BuiltInModelApiTests : IAsyncLifetime
{
    private TestGateway _gateway = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _gateway = await TestGateway.StartAsync();
        _key = await _gateway.CreateAccountAsync("alice");
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private ChatClient Chat() => new("dg-teacher", new ApiKeyCredential(_key), new OpenAIClientOptions { Endpoint = _gateway.V1 });

    [Fact]
    public async Task Chat_NonStreaming_ReturnsTextUsageAndFinishReason()
    {
        ChatCompletion completion = await Chat().CompleteChatAsync(
            [new UserChatMessage("Tell me about the history of the county.")],
            new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0.8f, Seed = 7 });

        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 24);
        Assert.True(completion.Usage.InputTokenCount > 5);
        Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        Assert.Equal("dg-teacher", completion.Model);
    }

    [Fact]
    public async Task Chat_ReasoningRequest_LongAnswerEndingAtASentence_YesNoQuestion_Short()
    {
        ChatCompletion reasoning = await Chat().CompleteChatAsync(
            [new UserChatMessage("Explain step by step how a county court decides a case, and show your reasoning.")],
            new ChatCompletionOptions { MaxOutputTokenCount = 1000, Seed = 21 });
        ChatCompletion yesNo = await Chat().CompleteChatAsync(
            [new UserChatMessage("Is the court open on Sunday?")],
            new ChatCompletionOptions { MaxOutputTokenCount = 1000, Seed = 21 });

        Assert.InRange(reasoning.Usage.OutputTokenCount, 300, 1000);
        // The gateway's watermark key differs per test gateway, so the text (and where it ends) varies from run to run;
        // the sentence-boundary ending is checked on fixed seeds in PlannedGenerationTests.
        Assert.Equal(ChatFinishReason.Stop, reasoning.FinishReason);
        Assert.Contains("\n\n", reasoning.Content[0].Text, StringComparison.Ordinal);
        Assert.InRange(yesNo.Usage.OutputTokenCount, 1, 24);
    }

    [Fact]
    public async Task Chat_Streaming_RelaysChunksAndUsage()
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var updates = 0;
        await foreach (var update in Chat().CompleteChatStreamingAsync(
            [new UserChatMessage("The jury said that the election")],
            new ChatCompletionOptions { MaxOutputTokenCount = 30, Seed = 3 }))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.True(updates > 3, $"expected chunk by chunk, got {updates} updates");
        Assert.False(string.IsNullOrWhiteSpace(text.ToString()));
        Assert.NotNull(usage);
        Assert.InRange(usage!.OutputTokenCount, 1, 30);
        Assert.NotNull(finish);
    }

    [Fact]
    public async Task Chat_SameSeed_SameAnswer_DifferentSeed_DifferentAnswer()
    {
        var messages = new ChatMessage[] { new UserChatMessage("In the morning the city") };
        string Ask(long seed) => Chat().CompleteChat(messages, new ChatCompletionOptions { MaxOutputTokenCount = 40, Seed = seed, Temperature = 1f }).Value.Content[0].Text;

        Assert.Equal(Ask(11), Ask(11));
        Assert.NotEqual(Ask(11), Ask(12));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Chat_Logprobs_ReturnsTopAlternatives()
    {
        ChatCompletion completion = await Chat().CompleteChatAsync(
            [new UserChatMessage("The president of the")],
            new ChatCompletionOptions { MaxOutputTokenCount = 8, IncludeLogProbabilities = true, TopLogProbabilityCount = 3, Seed = 1 });

        Assert.NotEmpty(completion.ContentTokenLogProbabilities);
        foreach (var token in completion.ContentTokenLogProbabilities)
        {
            Assert.True(token.LogProbability <= 0);
            Assert.Equal(3, token.TopLogProbabilities.Count);
            Assert.True(token.TopLogProbabilities[0].LogProbability >= token.TopLogProbabilities[2].LogProbability);
        }
    }

    [Fact]
    public async Task Chat_StopSequence_IsNotEmitted()
    {
        ChatCompletion completion = await Chat().CompleteChatAsync(
            [new UserChatMessage("He said that the")],
            new ChatCompletionOptions { MaxOutputTokenCount = 200, StopSequences = { " the" }, Seed = 5 });

        Assert.DoesNotContain(" the", completion.Content[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_MaxTokens_FinishesWithLength()
    {
        ChatCompletion completion = await Chat().CompleteChatAsync(
            [new UserChatMessage("Once upon a time")],
            new ChatCompletionOptions { MaxOutputTokenCount = 5, Seed = 9 });

        if (completion.FinishReason == ChatFinishReason.Length)
        {
            Assert.Equal(5, completion.Usage.OutputTokenCount);
        }
        else
        {
            Assert.True(completion.Usage.OutputTokenCount <= 5);
        }
    }

    [Fact]
    public async Task Chat_MinTokens_AnswersAtLeastThatLong_AndBadValuesAreRefused()
    {
        // min_tokens is not in the OpenAI client's options; it travels as an extra body field, as for vLLM.
        for (var seed = 0; seed < 5; seed++)
        {
            var options = new ChatCompletionOptions { MaxOutputTokenCount = 120, Temperature = 0.9f, Seed = seed };
#pragma warning disable SCME0001 // JsonPatch is experimental in System.ClientModel.
            options.Patch.Set("$.min_tokens"u8, 100);
#pragma warning restore SCME0001
            ChatCompletion completion = await Chat().CompleteChatAsync([new UserChatMessage("Explain photosynthesis step by step.")], options);
            Assert.InRange(completion.Usage.OutputTokenCount, 100, 120);
        }

        foreach (var (body, message) in new[]
        {
            ("{\"model\":\"dg-teacher\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":10,\"min_tokens\":11}", "'min_tokens' must be between 0 and 10"),
            ("{\"model\":\"dg-teacher\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"min_tokens\":-1}", "'min_tokens' must be between 0 and"),
            ("{\"model\":\"dg-teacher\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"min_tokens\":\"many\"}", "min_tokens"),
        })
        {
            using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", body, _key));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Contains(message, error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal("min_tokens", error.RootElement.GetProperty("error").GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task Chat_NChoices_ReturnsEachChoice()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"dg-teacher","messages":[{"role":"user","content":"The weather"}],"n":3,"max_tokens":10,"seed":4}""", _key));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choices = document.RootElement.GetProperty("choices");
        Assert.Equal(3, choices.GetArrayLength());
        Assert.Equal([0, 1, 2], choices.EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
    }

    [Fact]
    public async Task Completions_NonStreamingAndStreaming_Work()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/completions",
            """{"model":"dg-teacher","prompt":"The committee","max_tokens":12,"seed":2,"logprobs":2}""", _key));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("text_completion", document.RootElement.GetProperty("object").GetString());
        var choice = document.RootElement.GetProperty("choices")[0];
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("text").GetString()));
        Assert.Equal(
            choice.GetProperty("logprobs").GetProperty("tokens").GetArrayLength(),
            document.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        using var stream = await _gateway.Http.SendAsync(_gateway.Post("v1/completions",
            """{"model":"dg-teacher","prompt":"The committee","max_tokens":12,"seed":2,"stream":true}""", _key), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType!.MediaType);
        var body = await stream.Content.ReadAsStringAsync();
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        var streamed = string.Concat(body.Split("\n\n").Where(e => e.StartsWith("data: {", StringComparison.Ordinal))
            .Select(e => JsonDocument.Parse(e[6..]).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal(choice.GetProperty("text").GetString(), streamed);
    }

    [Fact]
    public async Task Models_ListsTheBuiltInModel()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential(_key), new OpenAIClientOptions { Endpoint = _gateway.V1 });
        OpenAIModelCollection models = await client.GetModelsAsync();
        Assert.Contains(models, m => m.Id == "dg-teacher");
    }
}
