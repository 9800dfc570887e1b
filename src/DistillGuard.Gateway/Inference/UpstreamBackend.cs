using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Observability;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.Usage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Inference;

/// <summary>Forwards inference requests to an OpenAI-compatible server, relaying streams event by event.</summary>
/// <remarks>
/// A stream is never buffered: each upstream SSE event is written and flushed before the next is read. The
/// client's disconnect cancels the upstream call. Upstream faults become OpenAI-style 502/504 errors, or an
/// error event when the stream had already begun.
/// </remarks>
internal sealed partial class UpstreamBackend : IModelBackend, IDisposable
{
    private readonly UpstreamOptions _options;
    private readonly HttpClient _client;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string? _apiKey;

    public UpstreamBackend(UpstreamOptions options, GatewayMetrics metrics, TimeProvider time, ILogger<UpstreamBackend> logger, HttpMessageHandler? handler = null)
    {
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _apiKey = options.ResolveApiKey();
        handler ??= new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(options.ConnectTimeoutSeconds),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            EnableMultipleHttp2Connections = true,
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        Models = options.Models;
        var baseUrl = options.BaseUrl.TrimEnd('/');
        ChatUri = new Uri(baseUrl + "/chat/completions");
        CompletionsUri = new Uri(baseUrl + "/completions");
    }

    public string Name => _options.Name;

    public IReadOnlyList<string> Models { get; }

    /// <summary>Optional post-hoc watermark of the relayed text (the lexical mark); null relays the text untouched.</summary>
    public DistillGuard.Watermarking.Lexical.LexicalWatermark? TextWatermark { get; init; }

    /// <summary>Seals reasoning for accounts whose answers the ladder reduces with sealing; null strips it instead.</summary>
    public ReasoningKeyring? Keyring { get; init; }

    private Uri ChatUri { get; }

    private Uri CompletionsUri { get; }

    public async Task HandleAsync(HttpContext context, InferenceRequest request, RequestUsage usage)
    {
        var clientAborted = context.RequestAborted;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.TimeoutSeconds), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(clientAborted, timeout.Token);

        using var message = new HttpRequestMessage(HttpMethod.Post, request.Kind == InferenceKind.Chat ? ChatUri : CompletionsUri)
        {
            Content = new ReadOnlyMemoryContent(UpstreamBody(request)),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (_apiKey is { Length: > 0 })
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }

        message.Headers.TryAddWithoutValidation("X-Request-Id", usage.RequestId);

        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token);
        }
        catch (OperationCanceledException) when (clientAborted.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            throw Fault("timeout", StatusCodes.Status504GatewayTimeout, $"The upstream '{Name}' did not answer within {_options.TimeoutSeconds} s.", "upstream_timeout");
        }
        catch (HttpRequestException e)
        {
            LogUpstreamUnreachable(_logger, Name, e.HttpRequestError, e.Message);
            throw Fault("unreachable", StatusCodes.Status502BadGateway, $"The upstream '{Name}' could not be reached.", "upstream_unavailable");
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                await RelayErrorAsync(context, response, linked.Token);
                return;
            }

            if (request.Stream)
            {
                await RelayStreamAsync(context, request, usage, response, clientAborted);
            }
            else
            {
                await RelayJsonAsync(context, request, usage, response, linked.Token, clientAborted);
            }
        }
    }

    private static ReadOnlyMemory<byte> UpstreamBody(InferenceRequest request)
    {
        if (!request.Stream && !request.RawBody.IsEmpty)
        {
            // Nothing to reshape: forward the client's bytes as they came.
            return request.RawBody;
        }

        // Ask for usage on streams even when the client did not, so the usage log counts the tokens;
        // the usage-only chunk is then removed before the client sees it.
        var body = request.Body.DeepClone().AsObject();
        if (request.Stream)
        {
            var streamOptions = body["stream_options"] as JsonObject ?? new JsonObject();
            streamOptions["include_usage"] = true;
            body["stream_options"] = streamOptions;
        }

        return JsonSerializer.SerializeToUtf8Bytes(body, GatewayJsonContext.Default.JsonObject);
    }

    private async Task RelayJsonAsync(HttpContext context, InferenceRequest request, RequestUsage usage, HttpResponseMessage response, CancellationToken token, CancellationToken clientAborted)
    {
        byte[] payload;
        try
        {
            payload = await ReadBoundedAsync(response.Content, _options.MaxResponseBytes, token);
        }
        catch (UpstreamTooLargeException)
        {
            throw Fault("oversized_response", StatusCodes.Status502BadGateway, $"The upstream '{Name}' answered with more than {_options.MaxResponseBytes} bytes.", "upstream_error");
        }
        catch (OperationCanceledException) when (clientAborted.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            throw Fault("timeout", StatusCodes.Status504GatewayTimeout, $"The upstream '{Name}' did not finish its answer within {_options.TimeoutSeconds} s.", "upstream_timeout");
        }
        catch (HttpRequestException)
        {
            throw Fault("broken_response", StatusCodes.Status502BadGateway, $"The upstream '{Name}' broke off its answer.", "upstream_error");
        }

        // JSON parsing does not check the UTF-8 inside strings until they are read, deep in the rewriting or a translation.
        var isObject = false;
        try
        {
            using var document = JsonDocument.Parse(payload);
            isObject = document.RootElement.ValueKind == JsonValueKind.Object && System.Text.Unicode.Utf8.IsValid(payload)
                && !InferenceEndpoints.HasUndecodableEscape(payload);
            if (isObject)
            {
                ReadUsage(document.RootElement, usage);
                if (document.RootElement.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                    && choices[0].ValueKind == JsonValueKind.Object
                    && choices[0].TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
                {
                    usage.FinishReason = finish.GetString();
                }
            }
        }
        catch (JsonException)
        {
        }

        if (!isObject)
        {
            throw Fault("invalid_response", StatusCodes.Status502BadGateway, $"The upstream '{Name}' returned a body that is not a JSON object in UTF-8.", "upstream_error");
        }

        if (TextWatermark is not null)
        {
            payload = new Watermarking.UpstreamTextMarking(TextWatermark).RewriteBody(payload);
        }

        if (request.StripReasoning || request.SealReasoning)
        {
            payload = ReasoningStripper.StripCompletion(payload, SealFor(request, usage));
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = payload.Length;
        await context.Response.Body.WriteAsync(payload, clientAborted);
        usage.Completed = true;
    }

    private async Task RelayStreamAsync(HttpContext context, InferenceRequest request, RequestUsage usage, HttpResponseMessage response, CancellationToken clientAborted)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(clientAborted);
        var idleTimeout = TimeSpan.FromSeconds(_options.StreamIdleTimeoutSeconds);
        idle.CancelAfter(idleTimeout);

        await using var upstream = new LineLengthLimitedStream(await response.Content.ReadAsStreamAsync(idle.Token), _options.MaxEventBytes);
        using var sse = new ServerSentEventWriter(context.Response);
        await sse.StartAsync(clientAborted);
        var sawDone = false;
        var stripper = request.StripReasoning || request.SealReasoning ? new ReasoningStripper(SealFor(request, usage)) : null;
        var marking = TextWatermark is null ? null : new Watermarking.UpstreamTextMarking(TextWatermark);
        try
        {
            await foreach (var item in SseParser.Create(upstream, static (_, data) => Encoding.UTF8.GetString(data)).EnumerateAsync(idle.Token))
            {
                idle.CancelAfter(idleTimeout);
                if (item.Data == "[DONE]")
                {
                    sawDone = true;
                    break;
                }

                if (!ShouldRelay(item.Data, request, usage))
                {
                    continue;
                }

                usage.StreamedChunks++;
                usage.FlushTokenMeter();
                var data = item.Data;
                if (stripper is not null)
                {
                    if (stripper.StripChunk(data) is not { } stripped)
                    {
                        continue;
                    }

                    data = stripped;
                }

                if (usage.TimeToFirstTokenMs is null)
                {
                    var elapsed = _time.GetElapsedTime(usage.StartTimestamp);
                    usage.TimeToFirstTokenMs = elapsed.TotalMilliseconds;
                    _metrics.RecordFirstToken(request.Model, elapsed);
                }

                // The idle timer measures the upstream's silence, not a slow client's reading: it is off while we write.
                idle.CancelAfter(Timeout.InfiniteTimeSpan);
                await sse.WriteDataAsync(Encoding.UTF8.GetBytes(marking?.RewriteChunk(data) ?? data), clientAborted);
                idle.CancelAfter(idleTimeout);
            }
        }
        catch (OperationCanceledException e) when (clientAborted.IsCancellationRequested || e is ClientDisconnectedException)
        {
            throw;
        }
        catch (UpstreamTooLargeException)
        {
            _metrics.RecordUpstreamFailure(Name, "oversized_event");
            EstimateUnreported(request, usage);
            usage.StatusOverride = StatusCodes.Status502BadGateway;
            usage.ErrorCode = "upstream_error";
            await sse.WriteErrorAsync($"The upstream '{Name}' sent a stream event larger than {_options.MaxEventBytes} bytes.", "upstream_error", "upstream_error", clientAborted);
            return;
        }
        catch (OperationCanceledException)
        {
            _metrics.RecordUpstreamFailure(Name, "stream_idle");
            EstimateUnreported(request, usage);
            usage.StatusOverride = StatusCodes.Status504GatewayTimeout;
            usage.ErrorCode = "upstream_timeout";
            await sse.WriteErrorAsync($"The upstream '{Name}' went silent for {_options.StreamIdleTimeoutSeconds} s mid-stream.", "upstream_error", "upstream_timeout", clientAborted);
            return;
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            _metrics.RecordUpstreamFailure(Name, "stream_broken");
            EstimateUnreported(request, usage);
            usage.StatusOverride = StatusCodes.Status502BadGateway;
            usage.ErrorCode = "upstream_error";
            await sse.WriteErrorAsync($"The upstream '{Name}' broke off the stream.", "upstream_error", "upstream_error", clientAborted);
            return;
        }

        if (!sawDone)
        {
            _metrics.RecordUpstreamFailure(Name, "stream_truncated");
            EstimateUnreported(request, usage);
            usage.StatusOverride = StatusCodes.Status502BadGateway;
            usage.ErrorCode = "upstream_error";
            await sse.WriteErrorAsync($"The upstream '{Name}' ended the stream without [DONE].", "upstream_error", "upstream_error", clientAborted);
            return;
        }

        await sse.WriteDoneAsync(clientAborted);
        usage.Completed = true;
    }

    /// <summary>How this request's reasoning is sealed, or null when it is only removed (sealing off, or no keyring: never readable).</summary>
    private Func<string, string>? SealFor(InferenceRequest request, RequestUsage usage) =>
        request.SealReasoning && Keyring is { } keyring && usage.Caller?.Account.Id is { } account ? reasoning => keyring.Seal(account, reasoning) : null;

    /// <summary>
    /// A stream cut before its usage chunk still delivered text: its tokens are estimated (one per content chunk, as
    /// vLLM and OpenAI stream them; the prompt by the gateway's tokenizer) rather than logged as none.
    /// </summary>
    private static void EstimateUnreported(InferenceRequest request, RequestUsage usage)
    {
        if (usage.UsageReported)
        {
            return;
        }

        usage.CompletionTokens = Math.Max(usage.CompletionTokens, usage.StreamedChunks);
        if (usage.PromptTokens == 0)
        {
            usage.PromptTokens = DistillGuard.LanguageModels.Tokenization.TextTokenizer.Gpt2.Encode(request.PromptText).Length;
        }
    }

    /// <summary>Reads a body whole, refusing one larger than <paramref name="limit"/> (by its Content-Length or as it arrives).</summary>
    private static async Task<byte[]> ReadBoundedAsync(HttpContent content, long limit, CancellationToken token)
    {
        if (content.Headers.ContentLength is { } length && length > limit)
        {
            throw new UpstreamTooLargeException();
        }

        await using var stream = await content.ReadAsStreamAsync(token);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, token)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new UpstreamTooLargeException();
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads usage and finish reasons out of a chunk; false for the usage-only chunk the client did not ask for.</summary>
    private static bool ShouldRelay(string data, InferenceRequest request, RequestUsage usage)
    {
        try
        {
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return true;
            }

            var hasUsage = ReadUsage(root, usage);
            var choiceCount = 0;
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array)
            {
                foreach (var choice in choices.EnumerateArray())
                {
                    choiceCount++;
                    if (choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
                    {
                        usage.FinishReason ??= finish.GetString();
                    }
                }
            }

            return !(hasUsage && choiceCount == 0 && !request.IncludeUsage);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not ours to judge: relay what the upstream said (also a name or string whose escape decodes to nothing).
            return true;
        }
    }

    private static bool ReadUsage(JsonElement root, RequestUsage usage)
    {
        if (!root.TryGetProperty("usage", out var u) || u.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (u.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt32(out var prompt))
        {
            usage.PromptTokens = prompt;
        }

        if (u.TryGetProperty("completion_tokens", out var c) && c.TryGetInt32(out var completion))
        {
            usage.CompletionTokens = completion;
        }

        usage.UsageReported = true;
        return true;
    }

    private async Task RelayErrorAsync(HttpContext context, HttpResponseMessage response, CancellationToken token)
    {
        var status = (int)response.StatusCode;
        string body;
        try
        {
            // An error body is relayed only when it is a small OpenAI error object; anything bigger is not read whole.
            body = Encoding.UTF8.GetString(await ReadBoundedAsync(response.Content, 64 * 1024, token));
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or UpstreamTooLargeException)
        {
            body = "";
        }

        // A client error from the upstream (bad parameter, its own rate limit) is the client's to see; a server
        // error is ours to report as a bad gateway without leaking the upstream's internals.
        if (status is >= 400 and < 500 && LooksLikeOpenAIError(body))
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            if (response.Headers.RetryAfter is { } retryAfter)
            {
                context.Response.Headers.RetryAfter = retryAfter.ToString();
            }

            context.Items[OpenAIError.ErrorCodeItem] = "upstream_" + status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await context.Response.WriteAsync(body, token);
            return;
        }

        _metrics.RecordUpstreamFailure(Name, "status_" + status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        LogUpstreamStatus(_logger, Name, status);
        throw new OpenAIErrorException(StatusCodes.Status502BadGateway, $"The upstream '{Name}' failed with status {status}.", "upstream_error", "upstream_error");
    }

    private static bool LooksLikeOpenAIError(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private OpenAIErrorException Fault(string kind, int status, string message, string code)
    {
        _metrics.RecordUpstreamFailure(Name, kind);
        return new OpenAIErrorException(status, message, "upstream_error", code);
    }

    public void Dispose() => _client.Dispose();

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Upstream {Upstream} unreachable ({Error}): {Reason}")]
    private static partial void LogUpstreamUnreachable(ILogger logger, string upstream, HttpRequestError error, string reason);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Upstream {Upstream} answered with status {Status}")]
    private static partial void LogUpstreamStatus(ILogger logger, string upstream, int status);
}
