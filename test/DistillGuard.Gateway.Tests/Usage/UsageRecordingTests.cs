using System.Net.Http.Headers;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Observability;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Gateway.Usage;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Tests.Usage;

/// <summary>The usage log and the request counter record what the client actually got: 500s, aborts and cut streams included.</summary>
public sealed class UsageRecordingTests
{
    private sealed class CapturingObserver : IUsageObserver
    {
        public List<UsageEvent> Events { get; } = [];

        public void Observe(UsageEvent usageEvent) => Events.Add(usageEvent);
    }

    [Fact]
    public async Task Invoke_HandlerThrows_RecordsThe500TheExceptionHandlerSends()
    {
        await using var log = new UsageLog(new MemoryUsageEventStore(), new UsageLogOptions(), TimeProvider.System);
        var metrics = new GatewayMetrics(log);
        var observer = new CapturingObserver();
        var middleware = new UsageRecordingMiddleware(_ => throw new InvalidOperationException("boom"), log, metrics, TimeProvider.System, [observer]);
        var context = new DefaultHttpContext();
        context.Request.Path = "/v1/chat/completions";

        await Assert.ThrowsAsync<InvalidOperationException>(() => middleware.InvokeAsync(context));

        var recorded = Assert.Single(observer.Events);
        Assert.Equal(500, recorded.Status);
        Assert.Equal("internal_error", recorded.ErrorCode);
        using var exposition = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(exposition);
        var text = System.Text.Encoding.UTF8.GetString(exposition.ToArray());
        Assert.Contains("status=\"500\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("status=\"200\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_ClientAbortsMidway_IsRecorded499_AndGenerationStops()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = await gateway.CreateAccountAsync("fay");
        using var request = gateway.Post("v1/chat/completions",
            """{"model":"dg-teacher","stream":true,"n":8,"max_tokens":4096,"messages":[{"role":"user","content":"tell me everything"}]}""", key);
        // No draining on dispose (HttpClient would read up to 1 MB to reuse the connection): the client really leaves.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = gateway.BaseAddress };
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(200, (int)response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync();
            using var reader = new StreamReader(body);
            Assert.StartsWith("data: ", await reader.ReadLineAsync(), StringComparison.Ordinal);
        }

        await gateway.App.StopAsync();
        var recorded = Assert.Single(await UsageLogReader.ReadAllAsync(gateway.DataDirectory));
        Assert.Equal(499, recorded.Status);
        Assert.True(recorded.CompletionTokens < 8 * 4096, $"generated {recorded.CompletionTokens} tokens for a client that had gone");
    }

    [Fact]
    public async Task Body_ClientLeavesBeforeSendingItAll_IsRecorded499_NotA400()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = await gateway.CreateAccountAsync("gil");
        using (var socket = new System.Net.Sockets.TcpClient())
        {
            await socket.ConnectAsync(gateway.BaseAddress.Host, gateway.BaseAddress.Port);
            var stream = socket.GetStream();
            var head = $"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n" +
                "Content-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n";
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));

            // Kestrel answers 100 Continue when the handler starts reading the body: the request is in flight.
            var buffer = new byte[256];
            var read = await stream.ReadAsync(buffer);
            Assert.StartsWith("HTTP/1.1 100", System.Text.Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
            await stream.WriteAsync("{\"model\":"u8.ToArray());
        }

        await gateway.App.StopAsync();
        var recorded = Assert.Single(await UsageLogReader.ReadAllAsync(gateway.DataDirectory));
        Assert.Equal(499, recorded.Status);
        Assert.Equal("gil", recorded.AccountId);
    }

    [Fact]
    public async Task Metrics_UnknownModelNames_ShareOneBoundedLabel()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = await gateway.CreateAccountAsync("gus");
        var names = Enumerable.Range(0, 20).Select(i => $"no-such-model-{Guid.NewGuid():N}").ToList();
        foreach (var name in names)
        {
            using var response = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", $$"""{"model":"{{name}}","messages":[{"role":"user","content":"hi"}]}""", key));
            Assert.Equal(404, (int)response.StatusCode);
        }

        var metrics = await gateway.Http.GetStringAsync("metrics");
        Assert.DoesNotContain(names, n => metrics.Contains(n, StringComparison.Ordinal));
        Assert.Contains("model=\"unknown\",status=\"404\"", metrics, StringComparison.Ordinal);

        await gateway.App.StopAsync();
        var events = await UsageLogReader.ReadAllAsync(gateway.DataDirectory);
        Assert.Equal(names.Order(StringComparer.Ordinal), events.Select(e => e.Model!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task UpstreamStream_CutBeforeItsUsageChunk_RecordsEstimatedTokensAnd502()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(o => o.Upstreams.Add(new UpstreamOptions { Name = "fake", BaseUrl = upstream.BaseUrl.ToString(), Models = [.. FakeUpstream.Models] }));
        var key = await gateway.CreateAccountAsync("hal");
        using var request = gateway.Post("v1/chat/completions", """{"model":"up-break","stream":true,"messages":[{"role":"user","content":"four words of prompt"}]}""", key);
        using (var response = await gateway.Http.SendAsync(request))
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.Contains("upstream_error", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        }

        await gateway.App.StopAsync();
        var recorded = Assert.Single(await UsageLogReader.ReadAllAsync(gateway.DataDirectory));
        Assert.Equal(502, recorded.Status);
        Assert.True(recorded.CompletionTokens > 0);
        Assert.True(recorded.PromptTokens > 0);
    }
}
