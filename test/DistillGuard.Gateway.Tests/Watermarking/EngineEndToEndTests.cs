using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Gateway.Watermarking;

namespace DistillGuard.Gateway.Tests.Watermarking;

/// <summary>The engine marks, the gateway relays (whole and streamed) and enforces the opt-out rule, <c>detect</c> finds the mark; unmarked output is not flagged.</summary>
public sealed class EngineEndToEndTests : IAsyncLifetime
{
    private const ulong Key = 987_654_321;
    private readonly string _keyVariable = "DG_TEST_ENGINE_KEY_" + Guid.NewGuid().ToString("N");
    private FakeVllmEngine _engine = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(_keyVariable, Key.ToString(CultureInfo.InvariantCulture));
        _engine = await FakeVllmEngine.StartAsync(Key);
        _gateway = await TestGateway.StartAsync(o =>
        {
            o.Watermark.EngineOptOut = new EngineOptOutOptions { Tiers = { ["internal"] = EngineOptOutRule.Allow } };
            o.Upstreams.Add(new UpstreamOptions
            {
                Name = "engine",
                BaseUrl = _engine.BaseUrl.ToString(),
                Models = [FakeVllmEngine.Model],
                Watermark = new EngineWatermarkOptions { KeyEnvironmentVariable = _keyVariable, Tokenizer = FakeVllmEngine.Tokenizer },
            });
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _engine.DisposeAsync();
        Environment.SetEnvironmentVariable(_keyVariable, null);
    }

    private async Task<string> AskAsync(string apiKey, int tokens, int seed, bool stream, bool? watermarking = null)
    {
        var optOut = watermarking is { } w ? $""","watermarking":{(w ? "true" : "false")}""" : "";
        var body = $$"""{"model":"{{FakeVllmEngine.Model}}","max_tokens":{{tokens}},"seed":{{seed}},"stream":{{(stream ? "true" : "false")}}{{optOut}},"messages":[{"role":"user","content":"Write something."}]}""";
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/chat/completions", body, apiKey));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        if (!stream)
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        }

        var streamed = new StringBuilder();
        foreach (var line in text.Split('\n'))
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

        return streamed.ToString();
    }

    private async Task<JsonElement> DetectAsync(string text)
    {
        using var response = await _gateway.Admin.PostAsJsonAsync("admin/v1/watermark/detect", new { text, model = FakeVllmEngine.Model });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Theory]
    [InlineData(100, false)]
    [InlineData(200, false)]
    [InlineData(200, true)]
    public async Task EngineAnswers_RelayedWholeOrStreamed_AreDetected(int tokens, bool stream)
    {
        var key = await _gateway.CreateAccountAsync("reader");
        var text = await AskAsync(key, tokens, seed: tokens, stream);

        var result = await DetectAsync(text);
        Assert.True(result.GetProperty("watermarked").GetBoolean(), result.ToString());
        Assert.True(result.GetProperty("log10PValue").GetDouble() < -5, result.ToString());
        Assert.Equal("vllm-gumbel", result.GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task OptOut_StrippedForAStandardAccount_TheAnswerIsStillMarked()
    {
        var key = await _gateway.CreateAccountAsync("harvester");
        var text = await AskAsync(key, 200, seed: 7, stream: true, watermarking: false);

        Assert.DoesNotContain("watermarking", _engine.LastBody!, StringComparison.Ordinal);
        Assert.True((await DetectAsync(text)).GetProperty("watermarked").GetBoolean());
    }

    [Fact]
    public async Task OptOut_AllowedTier_UnmarkedAnswers_AreNotFlagged()
    {
        var key = await _gateway.CreateAccountAsync("trusted", tier: "internal");
        var flagged = 0;
        var logs = new List<double>();
        for (var seed = 0; seed < 40; seed++)
        {
            var text = await AskAsync(key, 200, seed, stream: seed % 2 == 0, watermarking: false);
            Assert.Contains("\"watermarking\":false", _engine.LastBody!, StringComparison.Ordinal);
            var result = await DetectAsync(text);
            flagged += result.GetProperty("watermarked").GetBoolean() ? 1 : 0;
            logs.Add(result.GetProperty("log10PValue").GetDouble());
        }

        // 40 unmarked answers at a threshold of 1e-3: 0.04 flagged expected, 3 or more has probability ≈ 1e-5.
        Assert.True(flagged <= 2, $"{flagged} of 40 unmarked answers flagged; log10 p {string.Join(", ", logs.Select(l => l.ToString("F1", CultureInfo.InvariantCulture)))}");
    }
}
