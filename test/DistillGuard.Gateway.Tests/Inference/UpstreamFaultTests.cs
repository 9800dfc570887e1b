using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Tests.Infrastructure;

namespace DistillGuard.Gateway.Tests.Inference;

/// <summary>An upstream that misbehaves on loopback: what the client gets and what the usage log records.</summary>
public sealed class UpstreamFaultTests : IAsyncLifetime
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
            MaxResponseBytes = 256 * 1024,
            MaxEventBytes = 64 * 1024,
        }));
        _key = await _gateway.CreateAccountAsync("ivy");
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task NonStreaming_BodyOverMaxResponseBytes_Gets502_AndIsNotHeldWhole()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", """{"model":"up-huge","messages":[{"role":"user","content":"hi"}]}""", _key));
        await BadInputTests.AssertErrorAsync(response, 502, "upstream_error");
        Assert.True(FakeUpstream.HugeBytes > 4 * _gateway.Options.Upstreams[0].MaxResponseBytes);

        await _gateway.App.StopAsync();
        Assert.Equal(502, Assert.Single(await UsageLogReader.ReadAllAsync(_gateway.DataDirectory)).Status);
    }

    [Fact]
    public async Task Streaming_EventOverMaxEventBytes_EndsWithAnErrorEvent_AndIsRecorded502()
    {
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", """{"model":"up-huge","stream":true,"messages":[{"role":"user","content":"hi"}]}""", _key));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("larger than 65536 bytes", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        Assert.True(text.Length < 8 * 1024, "nothing of the oversized event reaches the client");

        await _gateway.App.StopAsync();
        var recorded = Assert.Single(await UsageLogReader.ReadAllAsync(_gateway.DataDirectory));
        Assert.Equal(502, recorded.Status);
        Assert.Equal("upstream_error", recorded.ErrorCode);
    }

    [Fact]
    public async Task Healthz_AfterOversizedAnswers_StillAnswers()
    {
        for (var i = 0; i < 3; i++)
        {
            using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", """{"model":"up-huge","stream":true,"messages":[{"role":"user","content":"hi"}]}""", _key));
            _ = await response.Content.ReadAsStringAsync();
        }

        Assert.Equal("ok", await _gateway.Http.GetStringAsync("healthz"));
        using var ok = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", """{"model":"up-ok","messages":[{"role":"user","content":"hi"}]}""", _key));
        Assert.Equal(200, (int)ok.StatusCode);
    }
}
