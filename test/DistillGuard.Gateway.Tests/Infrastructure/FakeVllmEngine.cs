using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.Watermarking.Engines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Tests.Infrastructure;

/// <summary>
/// A vLLM-style engine on loopback (<c>/v1/chat/completions</c>, whole and streamed) that watermarks what it writes
/// the way <c>vllm serve --watermark-config '{"algorithm":"gumbel","key":K}'</c> does: each token is the Gumbel-max
/// choice (Philox PRF over the previous 4 ids) among 300 single-token Qwen 3 words, under next-token logits drawn from
/// the request's seed. <c>"watermarking": false</c> in the body samples the same logits without the mark, as vLLM's
/// opt-out does. It records the last body it received.
/// </summary>
internal sealed class FakeVllmEngine : IAsyncDisposable
{
    public const string Model = "qwen3-engine";

    private static readonly string TokenizerPath = Path.Combine(AppContext.BaseDirectory, "Watermarking", "qwen3-tokenizer.json.gz");
    private static readonly Lazy<HuggingFaceTokenizer> s_tokenizer = new(() => HuggingFaceTokenizer.Load(TokenizerPath));
    private static readonly Lazy<int[]> s_words = new(Words);

    private readonly WebApplication _app;
    private readonly VllmPhiloxPrf _prf;

    private FakeVllmEngine(WebApplication app, ulong key)
    {
        _app = app;
        _prf = new VllmPhiloxPrf(key);
    }

    /// <summary>The Qwen 3 tokenizer file the engine's model uses (configure the upstream's watermark with it).</summary>
    public static string Tokenizer => TokenizerPath;

    public static HuggingFaceTokenizer Qwen3 => s_tokenizer.Value;

    /// <summary>The last request body the engine received.</summary>
    public string? LastBody { get; private set; }

    public Uri BaseUrl => new(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First() + "/v1");

    public static async Task<FakeVllmEngine> StartAsync(ulong key)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var engine = new FakeVllmEngine(app, key);
        app.MapPost("/v1/chat/completions", engine.ChatAsync);
        await app.StartAsync();
        return engine;
    }

    /// <summary>The engine's token ids for <paramref name="length"/> tokens from <paramref name="seed"/>, marked with <paramref name="prf"/> or (null) unmarked.</summary>
    public static int[] Generate(VllmPhiloxPrf? prf, int length, int seed)
    {
        var words = s_words.Value;
        var random = new Random(seed);
        var logits = new double[words.Length];
        var text = new int[length];
        var context = new int[4];
        for (var t = 0; t < length; t++)
        {
            // A Zipf-like next-token distribution, reshuffled in strength at every step.
            for (var i = 0; i < logits.Length; i++)
            {
                logits[i] = -2.0 * random.NextDouble() * Math.Log(i + 1);
            }

            if (prf is null)
            {
                text[t] = words[SampleSoftmax(logits, random)];
                continue;
            }

            VllmGumbelSampling.Context(text, t, context);
            text[t] = words[VllmGumbelSampling.Choose(prf, context, words, logits)];
        }

        return text;
    }

    private static int SampleSoftmax(double[] logits, Random random)
    {
        var max = logits.Max();
        var total = logits.Sum(l => Math.Exp(l - max));
        var target = random.NextDouble() * total;
        for (var i = 0; i < logits.Length; i++)
        {
            target -= Math.Exp(logits[i] - max);
            if (target <= 0)
            {
                return i;
            }
        }

        return logits.Length - 1;
    }

    private static int[] Words() =>
        [.. CorpusSplits.HeldOutBrown().SelectMany(p => p.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(w => w.Length >= 3 && w.All(char.IsAsciiLetterLower))
            .Distinct()
            .Select(w => Qwen3.Encode(" " + w))
            .Where(ids => ids.Length == 1)
            .Select(ids => ids[0])
            .Take(300)];

    private async Task ChatAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        LastBody = await reader.ReadToEndAsync();
        var body = JsonNode.Parse(LastBody)!.AsObject();
        var marked = body["watermarking"]?.GetValue<bool>() ?? true;
        var length = body["max_tokens"]?.GetValue<int>() ?? body["max_completion_tokens"]?.GetValue<int>() ?? 200;
        var seed = body["seed"]?.GetValue<int>() ?? 0;
        var stream = body["stream"]?.GetValue<bool>() ?? false;
        var tokens = Generate(marked ? _prf : null, length, seed);
        var ct = context.RequestAborted;
        var usage = new JsonObject { ["prompt_tokens"] = 10, ["completion_tokens"] = length, ["total_tokens"] = 10 + length };
        if (!stream)
        {
            context.Response.ContentType = "application/json";
            var answer = new JsonObject
            {
                ["id"] = "chatcmpl-engine",
                ["object"] = "chat.completion",
                ["created"] = 1,
                ["model"] = Model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = Qwen3.Decode(tokens) },
                    ["finish_reason"] = "length",
                }),
                ["usage"] = usage,
            };
            await context.Response.WriteAsync(answer.ToJsonString(), ct);
            return;
        }

        // One event per token, as an engine streams.
        context.Response.ContentType = "text/event-stream";
        foreach (var token in tokens)
        {
            var chunk = new JsonObject
            {
                ["id"] = "chatcmpl-engine",
                ["object"] = "chat.completion.chunk",
                ["created"] = 1,
                ["model"] = Model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["content"] = Qwen3.Decode([token]) }, ["finish_reason"] = null }),
            };
            await context.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n", Encoding.UTF8, ct);
        }

        var last = new JsonObject { ["id"] = "chatcmpl-engine", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = Model, ["choices"] = new JsonArray(), ["usage"] = usage };
        await context.Response.WriteAsync("data: " + last.ToJsonString() + "\n\ndata: [DONE]\n\n", Encoding.UTF8, ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
