using System.Diagnostics;
using DistillGuard.Gateway.Observability;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Usage;

/// <summary>Turns every <c>/v1</c> request into exactly one usage event, whatever its outcome.</summary>
internal sealed class UsageRecordingMiddleware(RequestDelegate next, UsageLog usageLog, GatewayMetrics metrics, TimeProvider time, IEnumerable<IUsageObserver> observers)
{
    private readonly IUsageObserver[] _observers = [.. observers];

    public async Task InvokeAsync(HttpContext context)
    {
        var usage = new RequestUsage
        {
            RequestId = RequestIds.New(),
            StartedAt = time.GetUtcNow(),
            StartTimestamp = time.GetTimestamp(),
            Endpoint = EndpointName(context.Request.Path),
            Api = ApiName(context.Request.Path),
        };
        context.Features.Set(usage);
        context.Response.Headers["x-request-id"] = usage.RequestId;
        try
        {
            await next(context);
        }
        catch (Exception e)
        {
            // The exception handler further out answers after this middleware has recorded: record what it will send.
            usage.StatusOverride ??= e switch
            {
                ClientDisconnectedException => 499,
                OperationCanceledException when context.RequestAborted.IsCancellationRequested => 499,
                BadHttpRequestException bad => bad.StatusCode,
                _ => StatusCodes.Status500InternalServerError,
            };
            usage.ErrorCode ??= usage.StatusOverride == StatusCodes.Status500InternalServerError ? "internal_error" : null;
            throw;
        }
        finally
        {
            Record(context, usage);
        }
    }

    private void Record(HttpContext context, RequestUsage usage)
    {
        usage.FlushTokenMeter();
        usage.Settle();
        var elapsed = time.GetElapsedTime(usage.StartTimestamp);
        // A client that went away before the answer ended is 499 (nginx's "client closed request"), also when the
        // 200 of a stream had already been sent.
        var status = usage.StatusOverride
            ?? (context.RequestAborted.IsCancellationRequested && !usage.Completed && context.Response.StatusCode < 400 ? 499 : context.Response.StatusCode);
        var errorCode = usage.ErrorCode ?? (status >= 400 ? context.Items[OpenAIError.ErrorCodeItem] as string : null);
        var usageEvent = new UsageEvent
        {
            RequestId = usage.RequestId,
            Timestamp = usage.StartedAt,
            AccountId = usage.Caller?.Account.Id,
            KeyId = usage.Caller?.KeyId,
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
            UserAgent = context.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? Truncate(agent, 512) : null,
            Endpoint = usage.Endpoint,
            Api = usage.Api,
            Model = usage.Model,
            Stream = usage.Stream,
            Temperature = usage.Temperature,
            TopP = usage.TopP,
            MaxTokens = usage.MaxTokens,
            N = usage.N,
            Logprobs = usage.Logprobs,
            TopLogprobs = usage.TopLogprobs,
            Echo = usage.Echo,
            Seed = usage.Seed,
            StopCount = usage.StopCount,
            PromptTokens = usage.PromptTokens,
            CompletionTokens = usage.CompletionTokens,
            LatencyMs = elapsed.TotalMilliseconds,
            TimeToFirstTokenMs = usage.TimeToFirstTokenMs,
            Status = status,
            ErrorCode = errorCode,
            FinishReason = usage.FinishReason,
            PromptText = usage.PromptText,
        };
        var accepted = usageLog.TryWrite(usageEvent);
        foreach (var observer in _observers)
        {
            observer.Observe(usageEvent);
        }

        metrics.RecordRequest(usage.Endpoint, usage.ServedModel ?? (usage.Model is null ? null : GatewayMetrics.UnknownModel), status, elapsed, usage.PromptTokens, usage.CompletionTokens, accepted);
    }

    // Messages and Responses requests are chat completions underneath: the same features, the same history.
    private static string EndpointName(PathString path) => path.Value switch
    {
        "/v1/chat/completions" or "/v1/messages" or "/v1/responses" => "chat.completions",
        "/v1/messages/count_tokens" => "count_tokens",
        "/v1/completions" => "completions",
        "/v1/models" => "models",
        var other when other is not null && other.StartsWith("/v1/models/", StringComparison.Ordinal) => "models",
        _ => "other",
    };

    private static string ApiName(PathString path) => path.Value switch
    {
        "/v1/messages" or "/v1/messages/count_tokens" => "messages",
        "/v1/responses" => "responses",
        _ => EndpointName(path),
    };

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}

/// <summary>Request ids: short, unique, and safe to show to clients.</summary>
internal static class RequestIds
{
    public static string New() => "req_" + Guid.CreateVersion7().ToString("N");
}
