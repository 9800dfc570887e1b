using System.Net.Http.Headers;
using DistillGuard.Gateway.Tests.Inference;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.OpenAI;

/// <summary>JSON that parses but cannot be read as the gateway reads it (duplicate keys, lone surrogates) is a 400, not a 500.</summary>
public sealed class JsonBodyTests : IAsyncLifetime
{
    private TestGateway _gateway = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _gateway = await TestGateway.StartAsync();
        _key = await _gateway.CreateAccountAsync("erin");
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    public static TheoryData<string, string> Bodies => new()
    {
        { "v1/chat/completions", """{"model":"dg-teacher","model":"dg-teacher","messages":[{"role":"user","content":"hi"}]}""" },
        { "v1/chat/completions", """{"model":"dg-teacher","messages":[{"role":"user","role":"user","content":"hi"}]}""" },
        { "v1/chat/completions", """{"model":"dg-teacher","stream":true,"stream_options":{"include_usage":true,"include_usage":false},"messages":[{"role":"user","content":"hi"}]}""" },
        { "v1/chat/completions", """{"model":"dg-teacher","messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}""" },
        { "v1/chat/completions", """{"model":"dg-teacher","messages":[{"role":"user","content":"\ud800"}]}""" },
        { "v1/chat/completions", """{"model":"dg-teacher","messages":[{"role":"user","content":"x\udc00y"}]}""" },
        { "v1/completions", """{"model":"dg-teacher","prompt":"\ud800"}""" },
        { "v1/completions", """{"model":"dg-teacher","prompt":"hi","\ud800":1}""" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Post_DuplicateKeyOrLoneSurrogate_Gets400InvalidJson(string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
        using var response = await _gateway.Http.SendAsync(request);
        await BadInputTests.AssertErrorAsync(response, 400, "invalid_json");

        await _gateway.App.StopAsync();
        var recorded = Assert.Single(await UsageLogReader.ReadAllAsync(_gateway.DataDirectory));
        Assert.Equal(400, recorded.Status);
        Assert.DoesNotContain(_gateway.Logs.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task Post_EscapedButValidSurrogatePair_IsServed()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions",
            """{"model":"dg-teacher","max_tokens":3,"messages":[{"role":"user","content":"smile \ud83d\ude00"}]}""", _key));
        Assert.Equal(200, (int)response.StatusCode);
    }
}
