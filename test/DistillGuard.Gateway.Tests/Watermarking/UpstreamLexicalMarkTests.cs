using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Gateway.Watermarking;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Lexical;

namespace DistillGuard.Gateway.Tests.Watermarking;

/// <summary>The post-hoc lexical mark on relayed upstream text: same words streamed or whole, and off by default.</summary>
public sealed class UpstreamLexicalMarkTests
{
    private static Task<TestGateway> StartAsync(FakeUpstream upstream, bool lexical) => TestGateway.StartAsync(o =>
    {
        o.Watermark.LexicalForUpstreams = lexical;
        o.Upstreams.Add(new UpstreamOptions { Name = "fake", BaseUrl = upstream.BaseUrl.ToString(), Models = [.. FakeUpstream.Models] });
    });

    private static async Task<(string Whole, string Streamed)> AskAsync(TestGateway gateway)
    {
        var key = await gateway.CreateAccountAsync("lex");
        using var whole = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", """{"model":"up-ok","messages":[{"role":"user","content":"hi"}]}""", key));
        using var document = JsonDocument.Parse(await whole.Content.ReadAsStringAsync());
        var text = document.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

        using var stream = await gateway.Http.SendAsync(gateway.Post("v1/chat/completions", """{"model":"up-ok","stream":true,"messages":[{"role":"user","content":"hi"}]}""", key));
        var streamed = new StringBuilder();
        foreach (var line in (await stream.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.StartsWith("data: {", StringComparison.Ordinal))
            {
                using var chunk = JsonDocument.Parse(line[6..]);
                foreach (var choice in chunk.RootElement.GetProperty("choices").EnumerateArray())
                {
                    if (choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    {
                        streamed.Append(content.GetString());
                    }
                }
            }
        }

        return (text, streamed.ToString());
    }

    [Fact]
    public async Task LexicalOn_MarksWholeAndStreamedTextAlike_WithTheDataDirectoryKey()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, lexical: true);

        var (whole, streamed) = await AskAsync(gateway);

        var keyring = new WatermarkKeyring(WatermarkKeyFile.LoadOrCreate(gateway.DataDirectory));
        var lexical = new LexicalWatermark([keyring.Current]);
        Assert.Equal(lexical.Mark("Hello from upstream."), whole);
        Assert.Equal(lexical.Mark(streamed), streamed);
        Assert.False(string.IsNullOrWhiteSpace(streamed));
    }

    [Fact]
    public async Task LexicalOff_RelaysTextUntouched()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await StartAsync(upstream, lexical: false);

        var (whole, _) = await AskAsync(gateway);

        Assert.Equal("Hello from upstream.", whole);
    }

    [Fact]
    public async Task Config_BadWatermarkSection_IsRejectedWithPathAndReason()
    {
        var problems = GatewayConfigFile.Validate(new GatewayOptions { Watermark = new WatermarkOptions { Scheme = "rainbow" } }).ToList();
        var gamma = GatewayConfigFile.Validate(new GatewayOptions { Watermark = new WatermarkOptions { Gamma = 1.5, DetectEpochs = 0 } }).ToList();

        Assert.Contains(problems, p => p.Path == "$.watermark.scheme");
        Assert.Contains(gamma, p => p.Path == "$.watermark.gamma");
        Assert.Contains(gamma, p => p.Path == "$.watermark.detectEpochs");
        await Task.CompletedTask;
    }
}
