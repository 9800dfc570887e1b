using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
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
/// A real OpenAI-compatible HTTP server on loopback whose behaviour is chosen by the model name:
/// <c>up-ok</c> answers, <c>up-500</c> fails, <c>up-slow</c> stalls, <c>up-hang-stream</c> stalls mid-stream,
/// <c>up-break</c> cuts the connection mid-stream, <c>up-429</c> rate-limits, <c>up-huge</c> answers with
/// <see cref="HugeBytes"/> bytes (a body, or one stream event that long), <c>up-reasoning</c> answers with a
/// <c>reasoning_content</c> trace (<see cref="Reasoning"/>) before its text, <c>up-think</c> with a
/// <c>&lt;think&gt;</c> block inside its text, <c>up-plan</c> is an agent's reasoning model that continues a plan only
/// from the reasoning it is sent back (<see cref="PlanAsync"/>), <c>up-scripted</c> answers with the bytes of
/// <see cref="Script"/> as they are.
/// </summary>
internal sealed class FakeUpstream : IAsyncDisposable
{
    public static readonly string[] Models = ["up-ok", "up-500", "up-slow", "up-hang-stream", "up-break", "up-429", "up-huge", "up-reasoning", "up-think", "up-plan", "up-scripted"];

    /// <summary>The reasoning trace <c>up-reasoning</c> and <c>up-think</c> return.</summary>
    public const string Reasoning = "The user asks for a sum. Two plus two is four.";

    /// <summary>Size of <c>up-huge</c>'s answer.</summary>
    public const int HugeBytes = 4 << 20;

    private readonly WebApplication _app;

    private FakeUpstream(WebApplication app) => _app = app;

    /// <summary>Completes when a hanging stream's request was cancelled (the client of the gateway went away).</summary>
    public TaskCompletionSource UpstreamCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The last request body the upstream received.</summary>
    public string? LastBody { get; private set; }

    public string? LastAuthorization { get; private set; }

    /// <summary>What <c>up-scripted</c> answers with: an SSE body when the request streams, a JSON body otherwise.</summary>
    public byte[] Script { get; set; } = [];

    public Uri BaseUrl => new(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First() + "/v1");

    public static async Task<FakeUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var upstream = new FakeUpstream(app);
        app.MapPost("/v1/chat/completions", upstream.ChatAsync);
        await app.StartAsync();
        return upstream;
    }

    private async Task ChatAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        LastBody = await reader.ReadToEndAsync();
        LastAuthorization = context.Request.Headers.Authorization.ToString();
        using var document = JsonDocument.Parse(LastBody);
        var model = document.RootElement.GetProperty("model").GetString();
        var stream = document.RootElement.TryGetProperty("stream", out var s) && s.GetBoolean();
        var includeUsage = document.RootElement.TryGetProperty("stream_options", out var so) && so.TryGetProperty("include_usage", out var iu) && iu.GetBoolean();
        var ct = context.RequestAborted;

        switch (model)
        {
            case "up-500":
                context.Response.StatusCode = 500;
                await context.Response.WriteAsync("internal upstream failure with secrets in it", ct);
                return;
            case "up-429":
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = "7";
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}""", ct);
                return;
            case "up-scripted":
                context.Response.ContentType = stream ? "text/event-stream" : "application/json";
                await context.Response.Body.WriteAsync(Script, ct);
                return;
            case "up-slow":
                await Task.Delay(TimeSpan.FromSeconds(30), ct);
                return;
            case "up-huge":
                context.Response.ContentType = stream ? "text/event-stream" : "application/json";
                await context.Response.WriteAsync(stream ? "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" : "{\"pad\":\"", ct);
                var block = new string('x', 64 * 1024);
                for (var written = 0; written < HugeBytes && !ct.IsCancellationRequested; written += block.Length)
                {
                    await context.Response.WriteAsync(block, ct);
                }

                return;
        }

        if (model == "up-plan")
        {
            await PlanAsync(context, document.RootElement, ct);
            return;
        }

        if (model is "up-reasoning" or "up-think")
        {
            await ReasoningAsync(context, model, stream, ct);
            return;
        }

        if (!stream)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$$"""
                {"id":"chatcmpl-up","object":"chat.completion","created":1,"model":"{{{model}}}","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}
                """, ct);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        async Task Send(string json)
        {
            await context.Response.WriteAsync("data: " + json + "\n\n", ct);
            await context.Response.Body.FlushAsync(ct);
        }

        await Send($$$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""");
        await Send($$$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}""");
        if (model == "up-hang-stream")
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                UpstreamCancelled.TrySetResult();
            }

            return;
        }

        if (model == "up-break")
        {
            // Let the first chunks reach the gateway before the connection is torn down.
            await Task.Delay(200, ct);
            context.Abort();
            return;
        }

        await Send($$$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[{"index":0,"delta":{"content":" world"},"finish_reason":null}]}""");
        await Send($$$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""");
        if (includeUsage)
        {
            await Send($$$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}""");
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", Encoding.UTF8, ct);
    }

    /// <summary>
    /// A stateless multi-turn model whose next step depends on its own earlier reasoning, as a reasoning model's does
    /// in an agent loop: it writes a plan in its reasoning on the first turn, and on each later turn continues it only
    /// if its last answer's reasoning (<c>reasoning_content</c>) came back; otherwise it must plan again, and the
    /// answer says so. The answer text never repeats the plan.
    /// </summary>
    private static async Task PlanAsync(HttpContext context, JsonElement body, CancellationToken ct)
    {
        var messages = body.GetProperty("messages").EnumerateArray().ToList();
        var step = messages.Count(m => m.GetProperty("role").GetString() == "assistant") + 1;
        var task = messages.First(m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString()!;
        var plan = "PLAN-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(task)))[..12];
        var last = messages.LastOrDefault(m => m.GetProperty("role").GetString() == "assistant");
        var kept = step == 1 || (last.ValueKind == JsonValueKind.Object && last.TryGetProperty("reasoning_content", out var r) && r.GetString()?.Contains(plan, StringComparison.Ordinal) == true);
        var reasoning = kept
            ? $"{plan}: the task is {task.Length} characters long; step {step} of the plan follows from step {step - 1}, so I carry the plan {plan} forward."
            : $"The plan from my earlier turns is gone, so I plan the task again from scratch before step {step}.";
        var answer = kept ? $"Step {step} done." : $"Step {step}: I had to start over.";
        context.Response.ContentType = "application/json";
        var payload = new JsonObject
        {
            ["id"] = "chatcmpl-plan",
            ["object"] = "chat.completion",
            ["created"] = 1,
            ["model"] = "up-plan",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["reasoning_content"] = reasoning, ["content"] = answer },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 20 * step, ["completion_tokens"] = 40, ["total_tokens"] = 20 * step + 40 },
        };
        await context.Response.WriteAsync(payload.ToJsonString(), ct);
    }

    private static async Task ReasoningAsync(HttpContext context, string model, bool stream, CancellationToken ct)
    {
        var inText = model == "up-think";
        if (!stream)
        {
            context.Response.ContentType = "application/json";
            var message = inText
                ? $$$"""{"role":"assistant","content":"<think>{{{Reasoning}}}</think>The answer is 4."}"""
                : $$$"""{"role":"assistant","reasoning_content":"{{{Reasoning}}}","content":"The answer is 4."}""";
            await context.Response.WriteAsync($$$"""
                {"id":"chatcmpl-up","object":"chat.completion","created":1,"model":"{{{model}}}","choices":[{"index":0,"message":{{{message}}},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":20,"total_tokens":31}}
                """, ct);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        async Task Send(string delta, string finish = "null")
        {
            await context.Response.WriteAsync($$$"""data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[{"index":0,"delta":{{{delta}}},"finish_reason":{{{finish}}}}]}""" + "\n\n", ct);
            await context.Response.Body.FlushAsync(ct);
        }

        await Send("""{"role":"assistant","content":""}""");
        var half = Reasoning.Length / 2;
        await Send(inText ? $$$"""{"content":"<think>{{{Reasoning[..half]}}}"}""" : $$$"""{"reasoning_content":"{{{Reasoning[..half]}}}"}""");
        await Send(inText ? $$$"""{"content":"{{{Reasoning[half..]}}}"}""" : $$$"""{"reasoning_content":"{{{Reasoning[half..]}}}"}""");
        await Send(inText ? """{"content":"</think>The answer"}""" : """{"content":"The answer"}""");
        await Send("""{"content":" is 4."}""");
        await Send("{}", "\"stop\"");
        await context.Response.WriteAsync($$$"""data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":20,"total_tokens":31}}""" + "\n\ndata: [DONE]\n\n", ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
