using System.Net;
using System.Text.Json;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Gateway.Tests.Inference;

/// <summary>Legacy completions with <c>echo</c> and <c>logprobs</c> score the prompt itself (what the audit's reading mode reads).</summary>
public sealed class EchoLogprobsTests : IAsyncLifetime
{
    private const string Prompt = "The history of the county is the history of its people and of the river";

    private TestGateway _gateway = null!;
    private string _key = null!;

    public async Task InitializeAsync()
    {
        _gateway = await TestGateway.StartAsync();
        _key = await _gateway.CreateAccountAsync("reader");
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Completions_EchoWithLogprobsAndNoNewTokens_ScoresEveryPromptTokenWithTheModelsTopChoice()
    {
        var body = JsonSerializer.Serialize(new { model = "dg-teacher", prompt = Prompt, max_tokens = 0, echo = true, logprobs = 2 });
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/completions", body, _key));
        var json = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var document = JsonDocument.Parse(json);
        var choice = document.RootElement.GetProperty("choices")[0];
        var logprobs = choice.GetProperty("logprobs");
        var ids = TextTokenizer.Gpt2.Encode(Prompt);
        Assert.Equal(Prompt, choice.GetProperty("text").GetString());
        Assert.Equal(ids.Length, logprobs.GetProperty("tokens").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, logprobs.GetProperty("token_logprobs")[0].ValueKind);
        Assert.Equal(JsonValueKind.Null, logprobs.GetProperty("top_logprobs")[0].ValueKind);
        Assert.Equal(0, document.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // At every later position the first alternative is the model's own argmax after the boundary token and the prefix.
        var model = TestModel.Instance;
        var scores = new float[model.VocabularySize];
        for (var i = 1; i < ids.Length; i++)
        {
            int[] context = [TextTokenizer.EndOfText, .. ids[..i]];
            model.GetLogProbabilities(context.AsSpan(Math.Max(0, context.Length - (model.Order - 1))), scores);
            var argmax = Array.IndexOf(scores, scores.Max());
            var top = logprobs.GetProperty("top_logprobs")[i].EnumerateObject().First();
            Assert.Equal(TextTokenizer.Gpt2.GetTokenText(argmax), top.Name);
            Assert.Equal(scores[argmax], top.Value.GetSingle(), 3);
            Assert.Equal(scores[ids[i]], logprobs.GetProperty("token_logprobs")[i].GetSingle(), 3);
        }
    }

    [Fact]
    public async Task Completions_ZeroMaxTokensWithoutEcho_IsABadRequest()
    {
        var body = JsonSerializer.Serialize(new { model = "dg-teacher", prompt = Prompt, max_tokens = 0 });
        using var response = await _gateway.Http.SendAsync(_gateway.Post("v1/completions", body, _key));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("max_tokens", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
