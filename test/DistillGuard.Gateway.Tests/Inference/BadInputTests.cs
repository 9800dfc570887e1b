using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.Inference;

/// <summary>Every kind of bad request gets a precise OpenAI-style error, never a 500, and still lands in the usage log once.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private TestGateway _gateway = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _gateway = await TestGateway.StartAsync(o => o.Limits.MaxRequestBodyBytes = 64 * 1024);
        _key = await _gateway.CreateAccountAsync("bob");
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    public static TheoryData<string, int, string> BadBodies => new()
    {
        { "{not json", 400, "invalid_json" },
        { "", 400, "invalid_json" },
        { "[1,2]", 400, "invalid_request_error" },
        { """{"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}""", 404, "model_not_found" },
        { """{"model":"dg-teacher","messages":[]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"wizard","content":"hi"}]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"n":0}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"n":1000}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"max_tokens":100000000}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":-3}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"temperature":7}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"top_p":"high"}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"top_logprobs":5}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}""", 400, "invalid_request_error" },
        { """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""", 400, "invalid_request_error" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Chat_BadBody_GetsPreciseError(string body, int status, string code)
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", body, _key));
        await AssertErrorAsync(response, status, code);
    }

    [Fact]
    public async Task Chat_InvalidUtf8_Gets400()
    {
        var bytes = "{\"model\":\"dg-teacher\",\"messages\":[{\"role\":\"user\",\"content\":\"caf"u8.ToArray()
            .Concat(new byte[] { 0xC3, 0x28, 0xFF })
            .Concat("\"}]}"u8.ToArray()).ToArray();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
        using var response = await _gateway.Http.SendAsync(request);
        await AssertErrorAsync(response, 400, "invalid_json");
    }

    [Fact]
    public async Task Chat_BodyOverLimit_Gets413()
    {
        var huge = new string('a', 200 * 1024);
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            $$"""{"model":"dg-teacher","messages":[{"role":"user","content":"{{huge}}"}]}""", _key));
        await AssertErrorAsync(response, 413, "request_too_large");
    }

    [Fact]
    public async Task Chat_BodyOverLimitWithoutContentLength_Gets413()
    {
        var huge = new string('a', 200 * 1024);
        var content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""{"model":"dg-teacher","messages":[{"role":"user","content":"{{huge}}"}]}""")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
        using var response = await _gateway.Http.SendAsync(request);
        await AssertErrorAsync(response, 413, "request_too_large");
    }

    [Theory]
    [InlineData(null, "invalid_api_key")]
    [InlineData("dg-this-key-does-not-exist-0000000000", "invalid_api_key")]
    public async Task Chat_MissingOrWrongKey_Gets401(string? key, string code)
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"dg-teacher","messages":[{"role":"user","content":"hi"}]}""", key));
        await AssertErrorAsync(response, 401, code);
    }

    [Fact]
    public async Task Models_WrongKey_Gets401_UnknownRoute_Gets404()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "dg-wrong-key-1234567890abcdef");
        using var unauthorized = await _gateway.Http.SendAsync(request);
        await AssertErrorAsync(unauthorized, 401, "invalid_api_key");

        using var missing = await _gateway.Http.GetAsync("v1/nothing-here");
        await AssertErrorAsync(missing, 404, "unknown_url");
    }

    [Fact]
    public async Task BadRequests_EachLandInTheUsageLogOnce_AndGoodOnesStillWork()
    {
        var bodies = BadBodies.Select(row => (string)row[0]).ToList();
        foreach (var body in bodies)
        {
            using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", body, _key));
            Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
        }

        using var good = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"dg-teacher","messages":[{"role":"user","content":"a good request"}],"max_tokens":5}""", _key));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);

        await _gateway.App.StopAsync();
        var events = await UsageLogReader.ReadAllAsync(_gateway.DataDirectory);
        Assert.Equal(bodies.Count + 1, events.Count);
        Assert.Equal(events.Count, events.Select(e => e.RequestId).Distinct().Count());
        Assert.Equal(1, events.Count(e => e.Status == 200));
        Assert.All(events, e => Assert.Equal("bob", e.AccountId));
    }

    [Fact]
    public async Task Head_LongRequestLineOrHugeHeaders_Gets414Or431WithAnOpenAIErrorBody()
    {
        // Kestrel used to answer both itself, before any middleware, with an empty body.
        using var longLine = await _gateway.Http.GetAsync("v1/models?q=" + new string('a', 9000));
        await AssertErrorAsync(longLine, 414, "request_line_too_long");

        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        for (var i = 0; i < 5; i++)
        {
            request.Headers.Add($"x-padding-{i}", new string('b', 7000));
        }

        using var hugeHeaders = await _gateway.Http.SendAsync(request);
        await AssertErrorAsync(hugeHeaders, 431, "request_headers_too_large");

        using var models = await _gateway.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", _key) } });
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }

    internal static async Task AssertErrorAsync(HttpResponseMessage response, int status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        var error = document.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()));
        var actualCode = error.GetProperty("code").GetString();
        Assert.True(actualCode == code || error.GetProperty("type").GetString() == code, $"expected code {code}, got {actualCode}: {body}");
    }
}
