using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Gateway.Watermarking;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.Watermarking.Engines;

namespace DistillGuard.Gateway.Tests.Watermarking;

/// <summary><c>detect</c> with <c>"model"</c>: the upstream's engine watermark (vLLM Gumbel/Philox), scored with that model's tokenizer.</summary>
public sealed class EngineWatermarkDetectTests : IAsyncLifetime
{
    private const ulong Key = 0x0123_4567_89AB_CDEF;
    private static readonly string TokenizerPath = FakeVllmEngine.Tokenizer;
    private readonly string _keyVariable = "DG_TEST_VLLM_KEY_" + Guid.NewGuid().ToString("N");
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(_keyVariable, Key.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _gateway = await TestGateway.StartAsync(o =>
        {
            // Never contacted: detection needs only the key, the tokenizer and the text.
            o.Upstreams.Add(new UpstreamOptions
            {
                Name = "vllm",
                BaseUrl = "http://127.0.0.1:9/v1",
                Models = ["qwen3-vllm", "qwen3-vllm-spec"],
                Watermark = new EngineWatermarkOptions { KeyEnvironmentVariable = _keyVariable, Tokenizer = TokenizerPath },
            });
            o.Upstreams.Add(new UpstreamOptions { Name = "plain", BaseUrl = "http://127.0.0.1:9/v1", Models = ["plain-model"] });
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        Environment.SetEnvironmentVariable(_keyVariable, null);
    }

    /// <summary>Text the way a vLLM engine with the key writes it (<see cref="FakeVllmEngine.Generate"/>), decoded.</summary>
    private static string EngineText(ulong key, int tokens, int seed) => FakeVllmEngine.Qwen3.Decode(FakeVllmEngine.Generate(new VllmPhiloxPrf(key), tokens, seed));

    private async Task<(HttpStatusCode Status, JsonElement Body)> DetectAsync(object body)
    {
        using var response = await _gateway.Admin.PostAsJsonAsync("admin/v1/watermark/detect", body);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task Detect_EngineMarkedText_WithItsModel_IsWatermarked_OtherSchemesAndKeysAreNot()
    {
        var text = EngineText(Key, 200, seed: 1);

        var (status, result) = await DetectAsync(new { text, model = "qwen3-vllm" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("vllm-gumbel", result.GetProperty("scheme").GetString());
        Assert.True(result.GetProperty("watermarked").GetBoolean(), result.ToString());
        Assert.True(result.GetProperty("log10PValue").GetDouble() < -10, result.ToString());
        Assert.InRange(result.GetProperty("scoredTokens").GetInt32(), 190, 200);
        Assert.True(result.GetProperty("score").GetDouble() > 200);

        // Our own scheme (no model) does not see the engine's mark, nor does the engine's detector see another key's.
        var (_, ours) = await DetectAsync(new { text });
        Assert.False(ours.GetProperty("watermarked").GetBoolean());
        var (_, otherKey) = await DetectAsync(new { text = EngineText(Key + 1, 200, seed: 1), model = "qwen3-vllm" });
        Assert.False(otherKey.GetProperty("watermarked").GetBoolean());
    }

    [Fact]
    public async Task Detect_HumanText_WithEngineModel_IsNotWatermarked()
    {
        var human = string.Join(' ', CorpusSplits.HeldOutBrown().Take(4));
        var (status, result) = await DetectAsync(new { text = human, model = "qwen3-vllm" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(result.GetProperty("watermarked").GetBoolean(), result.ToString());
        Assert.True(result.GetProperty("scoredTokens").GetInt32() > 100);
    }

    [Theory]
    [InlineData("plain-model", "upstream 'plain', which has no engine watermark")]
    [InlineData("no-such-model", "not served by this gateway")]
    public async Task Detect_ModelWithoutEngineWatermark_Is400(string model, string reason)
    {
        var (status, result) = await DetectAsync(new { text = "some text", model });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, result.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("model", result.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Detect_WindowedWithEngineModel_Is400()
    {
        var (status, _) = await DetectAsync(new { text = "some text", model = "qwen3-vllm", windowed = true });
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    private static string UpstreamConfig(string watermark) => $$"""
        { "upstreams": [ { "name": "v", "baseUrl": "http://127.0.0.1:9/v1", "models": ["m"], "watermark": {{watermark}} } ] }
        """;

    [Theory]
    [InlineData("\"algorithm\": \"sbw\"", "$.upstreams[0].watermark.algorithm", "must be gumbel or dual_key_gumbel")]
    [InlineData("\"alpha\": 1.5", "$.upstreams[0].watermark.alpha", "between 0 and 1")]
    [InlineData("\"contextWidth\": 0", "$.upstreams[0].watermark.contextWidth", "between 1 and 64")]
    [InlineData("\"prf\": \"siphash\"", "$.upstreams[0].watermark.prf", "must be philox")]
    [InlineData("\"tokenizer\": \"/nonexistent/tokenizer.json\"", "$.upstreams[0].watermark.tokenizer", "not a readable file")]
    public void Config_EngineWatermark_BadField_NamesItsPath(string field, string path, string reason)
    {
        var json = UpstreamConfig($$"""{ "keyEnvironmentVariable": "{{_keyVariable}}", {{field}} }""");
        var error = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), "test.json"));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_EngineWatermark_KeyVariableMissingOrBad_NamesThePathNotTheValue()
    {
        var variable = "DG_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        var json = UpstreamConfig($$"""{ "keyEnvironmentVariable": "{{variable}}" }""");
        var missing = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), "test.json"));
        Assert.Contains("$.upstreams[0].watermark.keyEnvironmentVariable", missing.Message, StringComparison.Ordinal);
        Assert.Contains("not set", missing.Message, StringComparison.Ordinal);

        Environment.SetEnvironmentVariable(variable, "not-a-number-secret");
        try
        {
            var bad = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), "test.json"));
            Assert.Contains("does not hold a decimal integer", bad.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("not-a-number-secret", bad.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        var none = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Parse(System.Text.Encoding.UTF8.GetBytes(UpstreamConfig("{}")), "test.json"));
        Assert.Contains("must name the environment variable", none.Message, StringComparison.Ordinal);
    }
}
