using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // The Responses client is marked experimental in the SDK.

namespace DistillGuard.Gateway.Tests.OpenAI;

/// <summary>The OpenAI Responses API of the real gateway, driven by the official OpenAI .NET client and by raw HTTP.</summary>
public sealed class ResponsesApiTests : IAsyncLifetime
{
    private TestGateway _gateway = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _gateway = await TestGateway.StartAsync();
        _key = await _gateway.CreateAccountAsync("agent");
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private ResponsesClient Client() => new(new ApiKeyCredential(_key), new ResponsesClientOptions { Endpoint = _gateway.V1 });

    private static CreateResponseOptions Options(string text, int maxTokens, bool stream = false) => new()
    {
        StreamingEnabled = stream,
        Model = "dg-teacher",
        MaxOutputTokenCount = maxTokens,
        Instructions = "You answer questions about counties.",
        InputItems = { ResponseItem.CreateUserMessageItem(text) },
        StoredOutputEnabled = false,
    };

    [Fact]
    public async Task Create_OfficialClient_AnswersWithOutputTextAndUsage()
    {
        ResponseResult response = await Client().CreateResponseAsync(Options("Tell me about the history of the county.", 40));

        Assert.False(string.IsNullOrWhiteSpace(response.GetOutputText()));
        Assert.StartsWith("resp_", response.Id, StringComparison.Ordinal);
        Assert.Equal("dg-teacher", response.Model);
        Assert.InRange(response.Usage.OutputTokenCount, 1, 40);
        Assert.True(response.Usage.InputTokenCount > 5);

        await _gateway.App.StopAsync();
        var logged = Assert.Single(await UsageLogReader.ReadAllAsync(_gateway.DataDirectory));
        Assert.Equal(("responses", "chat.completions", 200, "agent"), (logged.Api, logged.Endpoint, logged.Status, logged.AccountId));
        Assert.Equal(40, logged.MaxTokens);
        Assert.Contains("history of the county", logged.PromptText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateStreaming_OfficialClient_StreamsTypedEvents()
    {
        var kinds = new List<string>();
        var text = new StringBuilder();
        ResponseResult? completed = null;
        await foreach (var update in await Client().CreateResponseStreamingAsync(Options("The river and the mill", 30, stream: true)))
        {
            kinds.Add(update.GetType().Name);
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta:
                    text.Append(delta.Delta);
                    break;
                case StreamingResponseCompletedUpdate done:
                    completed = done.Response;
                    break;
                case StreamingResponseIncompleteUpdate incomplete:
                    completed = incomplete.Response;
                    break;
            }
        }

        Assert.Equal(nameof(StreamingResponseCreatedUpdate), kinds[0]);
        Assert.Equal(nameof(StreamingResponseInProgressUpdate), kinds[1]);
        Assert.Contains(nameof(StreamingResponseOutputItemAddedUpdate), kinds);
        Assert.Contains(nameof(StreamingResponseContentPartAddedUpdate), kinds);
        Assert.Contains(nameof(StreamingResponseOutputTextDoneUpdate), kinds);
        Assert.Contains(nameof(StreamingResponseContentPartDoneUpdate), kinds);
        Assert.Contains(nameof(StreamingResponseOutputItemDoneUpdate), kinds);
        Assert.NotNull(completed);
        Assert.Equal(text.ToString(), completed!.GetOutputText());
        Assert.False(string.IsNullOrWhiteSpace(text.ToString()));
        Assert.InRange(completed.Usage.OutputTokenCount, 1, 30);
    }

    [Fact]
    public async Task StringInput_RawHttp_IsAResponseObject()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/responses", """{"model":"dg-teacher","input":"The county","max_output_tokens":8,"store":false}""", _key));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(body);
        Assert.Equal("response", document.RootElement.GetProperty("object").GetString());
        Assert.False(document.RootElement.GetProperty("store").GetBoolean());
        var message = document.RootElement.GetProperty("output")[0];
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("output_text", message.GetProperty("content")[0].GetProperty("type").GetString());
    }

    public static TheoryData<string, int, string> BadBodies => new()
    {
        { """{"model":"dg-teacher","input":"hi","store":true}""", 400, "unsupported_parameter" },
        { """{"model":"dg-teacher","input":"hi","previous_response_id":"resp_123"}""", 400, "unsupported_parameter" },
        { """{"model":"dg-teacher"}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]}""", 400, "unsupported_content_part" },
        { """{"model":"dg-teacher","input":[{"type":"function_call_output","call_id":"c","output":"x"}]}""", 400, "unsupported_input_item" },
        { """{"model":"dg-teacher","input":"hi","max_output_tokens":0}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":"hi","reasoning":{"effort":"extreme"}}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":"hi","include":["file_search_call.results"]}""", 400, "unsupported_parameter" },
        { """{"model":"dg-teacher","input":"hi","messages":[]}""", 400, "unknown_parameter" },
        { """{"model":"no-such-model","input":"hi"}""", 404, "model_not_found" },
        { """{"input":"hi"}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":5}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":[]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":[5]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":[{"role":"tool","content":"x"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":[{"role":"user","content":[{"type":"input_text","text":5}]}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":[{"role":"user","content":"hi"},{"type":"reasoning","summary":[],"encrypted_content":5},{"role":"assistant","content":"ok"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":[{"role":"user","content":"hi"},{"type":"reasoning","summary":[],"encrypted_content":"Zm9yZ2VkIHJlYXNvbmluZyBibG9iIG9mIHNvbWUgbGVuZ3RoIDEyMzQ1Njc4OTA="},{"role":"assistant","content":"ok"},{"role":"user","content":"go on"}]}""", 400, "invalid_encrypted_content" },
        { """{"model":"dg-teacher","input":"hi","reasoning":"high"}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":"hi","reasoning":{"effort":5}}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":"hi","include":"reasoning.encrypted_content"}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":"hi","tools":[{"type":"function","name":"f"}]}""", 400, "unsupported_parameter" },
        { """{"model":"dg-teacher","input":"hi","instructions":5}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":"hi","temperature":3}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":"hi","max_output_tokens":"many"}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":"hi","stream":"yes"}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","input":"hi","background":true}""", 400, "unsupported_parameter" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task BadBody_GetsOpenAIErrorShape(string body, int status, string code)
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/responses", body, _key));
        await Inference.BadInputTests.AssertErrorAsync(response, status, code);
    }

    [Fact]
    public async Task BadRequests_EachRecordedWithItsStatusAndApi()
    {
        foreach (var row in BadBodies)
        {
            using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/responses", (string)row[0], _key));
            Assert.Equal((int)row[1], (int)response.StatusCode);
        }

        await _gateway.App.StopAsync();
        var events = await UsageLogReader.ReadAllAsync(_gateway.DataDirectory);
        Assert.Equal(BadBodies.Select(row => (int)row[1]), events.Select(e => e.Status));
        Assert.All(events, e => Assert.Equal(("responses", "agent"), (e.Api, e.AccountId)));
    }
}
