using CsCheck;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Tests.Fuzz;

/// <summary>
/// A real upstream on loopback answers with mutated SSE streams and JSON bodies; the real gateway relays them through
/// each wire API. Whatever the upstream sends, the client gets a stream that ends with <c>[DONE]</c> or an error
/// event, or an error body, never a 500; every request lands in the usage log once; nothing is logged at Error.
/// </summary>
public sealed class RelayFuzzTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private TestGateway _gateway = null!;
    private string _key = null!;

    private static readonly (string Path, string Body)[] s_streamed =
    [
        ("v1/chat/completions", """{"model":"up-scripted","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"max_tokens":8}"""),
        ("v1/messages", """{"model":"up-scripted","stream":true,"max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"""),
        ("v1/responses", """{"model":"up-scripted","stream":true,"max_output_tokens":8,"input":"hi"}"""),
    ];

    private static readonly (string Path, string Body)[] s_whole =
    [
        ("v1/chat/completions", """{"model":"up-scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":8}"""),
        ("v1/messages", """{"model":"up-scripted","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"""),
        ("v1/responses", """{"model":"up-scripted","max_output_tokens":8,"input":"hi"}"""),
    ];

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _gateway = await TestGateway.StartAsync(o =>
        {
            o.RateLimits.Enabled = false;
            o.Upstreams.Add(new UpstreamOptions { Name = "fake", BaseUrl = _upstream.BaseUrl.ToString(), Models = [.. FakeUpstream.Models] });
        });
        _key = await _gateway.CreateAccountAsync("fuzz");
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Stream_MutatedUpstreamEvents_EndWithDoneOrAnErrorEvent_OnEveryApi()
    {
        await SampleRelayAsync(s_streamed, "sse", 120, (status, text, _) =>
        {
            if (status == 200)
            {
                var ended = text.TrimEnd().EndsWith("data: [DONE]", StringComparison.Ordinal)
                    || text.Contains("\"error\"", StringComparison.Ordinal)
                    || text.Contains("event: message_stop", StringComparison.Ordinal)
                    || text.Contains("event: response.completed", StringComparison.Ordinal)
                    || text.Contains("event: response.incomplete", StringComparison.Ordinal);
                Assert.True(ended, text);
            }
        });
    }

    [Fact]
    public async Task NonStreaming_MutatedUpstreamBodies_AreRelayedOrBecome502() =>
        await SampleRelayAsync(s_whole, "upstream-json", 100, (_, _, mediaType) => Assert.Equal("application/json", mediaType));

    /// <summary>
    /// Sends one request per mutated upstream answer through a random one of <paramref name="endpoints"/>: each gets a
    /// 200 or a 502, passes <paramref name="check"/> (status, body, media type), and is recorded once.
    /// </summary>
    private async Task SampleRelayAsync((string Path, string Body)[] endpoints, string corpus, long iterations, Action<int, string, string?> check)
    {
        var sent = 0;
        await Gen.Select(Gen.Int[0, endpoints.Length - 1], FuzzCorpus.Mutants(FuzzCorpus.Seeds(corpus))).SampleAsync(async (api, script) =>
        {
            _upstream.Script = script;
            var (path, body) = endpoints[api];
            using var response = await SendAsync(path, body);
            sent++;
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            Assert.True(status is 200 or 502, $"{status}: {text}");
            check(status, text, response.Content.Headers.ContentType?.MediaType);
        }, iter: FuzzCorpus.Iterations(iterations), threads: 1, print: t => $"{endpoints[t.Item1].Path} {FuzzCorpus.Print(t.Item2)}");

        Assert.Equal("ok", await _gateway.Http.GetStringAsync("healthz"));
        await _gateway.App.StopAsync();
        Assert.Equal(sent, (await UsageLogReader.ReadAllAsync(_gateway.DataDirectory)).Count);
        Assert.DoesNotContain(_gateway.Logs.Entries, e => e.Level >= LogLevel.Error);
    }

    // Found by the stream property: a translated API (Messages, Responses) threw on an upstream event that was not a
    // JSON object, or on a choice that was not one, and the client's connection was cut mid-stream.
    [Theory]
    [InlineData(1, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: not json\n\ndata: [DONE]\n\n")]
    [InlineData(2, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: 1\n\ndata: [DONE]\n\n")]
    [InlineData(1, "data: {\"choices\":[1,{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n")]
    [InlineData(1, "data: {\"choices\":[{\"index\":0,\"d\\ud800elta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n")]
    public async Task Stream_UpstreamEventNotAnObject_EndsTheTranslatedStreamWithAnErrorEvent(int api, string script)
    {
        _upstream.Script = System.Text.Encoding.UTF8.GetBytes(script);
        var (path, body) = s_streamed[api];
        using var response = await SendAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(text.Contains("error", StringComparison.Ordinal) || text.Contains("Hi", StringComparison.Ordinal), text);
        Assert.Equal("ok", await _gateway.Http.GetStringAsync("healthz"));
    }

    // Found by the body property: a body with invalid UTF-8 inside a string, or a choice that is not an object, passed
    // the JSON parse and threw where it was read (a translation, the usage reader): a 500.
    [Theory]
    [InlineData(1, 502, new byte[] { 0x7b, 0x22, 0x63, 0x68, 0x6f, 0x69, 0x63, 0x65, 0x73, 0x22, 0x3a, 0x5b, 0x7b, 0x22, 0x6d, 0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x22, 0x3a, 0x7b, 0x22, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x22, 0x3a, 0x22, 0xf8, 0x22, 0x7d, 0x7d, 0x5d, 0x7d })]
    [InlineData(0, 200, new byte[] { 0x7b, 0x22, 0x63, 0x68, 0x6f, 0x69, 0x63, 0x65, 0x73, 0x22, 0x3a, 0x5b, 0x31, 0x5d, 0x7d })]
    [InlineData(2, 502, new byte[] { 0x5b, 0x31, 0x5d })]
    [InlineData(1, 502, new byte[] { 0x7b, 0x22, 0x63, 0x68, 0x6f, 0x69, 0x63, 0x65, 0x73, 0x22, 0x3a, 0x5b, 0x7b, 0x22, 0x6d, 0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x22, 0x3a, 0x7b, 0x22, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x22, 0x3a, 0x22, 0x78, 0x22, 0x2c, 0x22, 0x72, 0x65, 0x61, 0x73, 0x6f, 0x6e, 0x69, 0x6e, 0x67, 0x5f, 0x63, 0x6f, 0x6e, 0x74, 0x5c, 0x75, 0x64, 0x38, 0x30, 0x30, 0x65, 0x6e, 0x74, 0x22, 0x3a, 0x22, 0x79, 0x22, 0x7d, 0x7d, 0x5d, 0x7d })]
    public async Task NonStreaming_UpstreamBodyOddOrUnreadable_IsRelayedOrBecomes502(int api, int status, byte[] script)
    {
        _upstream.Script = script;
        var (path, body) = s_whole[api];
        using var response = await SendAsync(path, body);
        Assert.Equal(status, (int)response.StatusCode);
    }

    private async Task<HttpResponseMessage> SendAsync(string path, string body)
    {
        var request = _gateway.Post(path, body, _key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return await _gateway.Http.SendAsync(request);
    }
}
