using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.LanguageModels.Corpus;
using OpenAI;
using OpenAI.Chat;

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.

namespace DistillGuard.Gateway.Tests.Watermarking;

/// <summary>dg-teacher's answers carry the watermark, found through the admin detect endpoint; other text does not.</summary>
public sealed class WatermarkDetectEndpointTests : IAsyncLifetime
{
    private TestGateway _gateway = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _gateway = await TestGateway.StartAsync();
        _key = await _gateway.CreateAccountAsync("wm-alice");
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private async Task<string> AnswersAsync(int minimumTokens, float? temperature = null)
    {
        var chat = new ChatClient("dg-teacher", new ApiKeyCredential(_key), new OpenAIClientOptions { Endpoint = _gateway.V1 });
        var text = new StringBuilder();
        var tokens = 0;
        for (var seed = 1; tokens < minimumTokens && seed < 50; seed++)
        {
            ChatCompletion completion = await chat.CompleteChatAsync(
                [new UserChatMessage("Tell me about the history of the county.")],
                new ChatCompletionOptions { MaxOutputTokenCount = 200, Seed = seed, Temperature = temperature });
            text.Append(completion.Content[0].Text).Append(' ');
            tokens += completion.Usage.OutputTokenCount;
        }

        return text.ToString();
    }

    private async Task<JsonElement> DetectAsync(object body)
    {
        using var response = await _gateway.Admin.PostAsJsonAsync("admin/v1/watermark/detect", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task Detect_TeacherAnswersOf200Tokens_WatermarkedBelow1e5()
    {
        var result = await DetectAsync(new { text = await AnswersAsync(200) });

        Assert.True(result.GetProperty("watermarked").GetBoolean());
        Assert.True(result.GetProperty("pValue").GetDouble() < 1e-5, result.ToString());
        Assert.True(result.GetProperty("scoredTokens").GetInt32() >= 100);
        Assert.True(result.GetProperty("greenFraction").GetDouble() > 0.4);
        Assert.True(result.GetProperty("zScore").GetDouble() > 4);
        Assert.Equal("green-list", result.GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task Detect_GreedyAnswers_AreLeftUnmarked()
    {
        var result = await DetectAsync(new { text = await AnswersAsync(200, temperature: 0) });

        Assert.False(result.GetProperty("watermarked").GetBoolean());
    }

    [Fact]
    public async Task Detect_HumanText_NotWatermarked()
    {
        var human = string.Join(' ', CorpusSplits.HeldOutBrown().Take(6));

        var result = await DetectAsync(new { text = human, tokens = true });

        Assert.False(result.GetProperty("watermarked").GetBoolean());
        Assert.Equal("not watermarked", result.GetProperty("verdict").GetString());
        Assert.True(result.GetProperty("pValue").GetDouble() > 1e-3);
        Assert.True(result.GetProperty("tokens").GetArrayLength() > 100);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Hi.")]
    public async Task Detect_ShortText_SaysNotEnoughTokens(string text)
    {
        var result = await DetectAsync(new { text });

        Assert.False(result.GetProperty("watermarked").GetBoolean());
        Assert.Equal("not enough tokens to decide", result.GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task Detect_TextInAnotherScript_NotWatermarked()
    {
        var result = await DetectAsync(new { text = "Привет, как дела? Это текст на другом языке, и он довольно длинный. 你好，世界。" });

        Assert.False(result.GetProperty("watermarked").GetBoolean());
        Assert.True(result.GetProperty("scoredTokens").GetInt32() > 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("{\"text\": 42}")]
    [InlineData("{\"text\": \"a\", \"unknown\": 1}")]
    [InlineData("[1,2]")]
    [InlineData("{\"text\": ")]
    public async Task Detect_BadBody_Returns400WithOpenAIError(string body)
    {
        using var response = await _gateway.Admin.PostAsync("admin/v1/watermark/detect", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", document.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Detect_WithoutAdminToken_Returns401()
    {
        using var response = await _gateway.Http.PostAsJsonAsync("admin/v1/watermark/detect", new { text = "hello" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task WatermarkKey_IsCreatedInDataDirectory_AndNeverLoggedOrReturned()
    {
        var answers = await AnswersAsync(50);
        using var response = await _gateway.Admin.PostAsJsonAsync("admin/v1/watermark/detect", new { text = answers, tokens = true, windowed = true });
        var body = await response.Content.ReadAsStringAsync();
        var key = (await File.ReadAllTextAsync(Path.Combine(_gateway.DataDirectory, "watermark-key"))).Trim();

        Assert.Equal(64, key.Length);
        Assert.DoesNotContain(key, body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(_gateway.Logs.Entries, e => e.Message.Contains(key, StringComparison.OrdinalIgnoreCase));
    }
}
