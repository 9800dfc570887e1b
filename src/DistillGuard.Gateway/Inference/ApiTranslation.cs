using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Inference;

/// <summary>What one chat completion said, read back from the chat-completions pipeline's output.</summary>
internal sealed class ChatOutcome
{
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _reasoning = new();

    public string Text => _text.ToString();

    /// <summary>Readable reasoning the answer carried (<c>reasoning_content</c> / <c>reasoning</c>); empty when none or removed.</summary>
    public string Reasoning => _reasoning.ToString();

    /// <summary>The sealed reasoning blob (<c>reasoning_encrypted</c>), when the ladder sealed it.</summary>
    public string? SealedReasoning { get; set; }

    /// <summary>The chat completion's finish reason (<c>stop</c>, <c>length</c>, …); null until known.</summary>
    public string? FinishReason { get; set; }

    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }

    public void AddText(string piece) => _text.Append(piece);

    public void AddReasoning(string piece) => _reasoning.Append(piece);
}

/// <summary>
/// Rewrites what the chat-completions pipeline writes — a JSON completion, its SSE stream, or an OpenAI error — into
/// another API's shapes, so that every API is served by the one pipeline (authentication, admission, policy, backend,
/// usage, detection) and only its wire format differs.
/// </summary>
/// <remarks>
/// Installed as the response body for the whole request: everything the pipeline writes passes through it. A JSON
/// body or an error is held whole (it is small and bounded) and rewritten at <see cref="CompleteAsync"/>; a stream is
/// rewritten event by event and flushed as it goes, never buffered. One instance per request; not thread-safe.
/// </remarks>
internal abstract class ApiTranslation : Stream
{
    private static readonly byte[] s_eventEnd = "\n\n"u8.ToArray();
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Stream _inner;
    private Mode _mode;
    private bool _done;

    protected ApiTranslation(HttpContext context)
    {
        Context = context;
        _inner = context.Response.Body;
        context.Response.Body = this;
    }

    private enum Mode
    {
        Undecided,
        Json,
        Error,
        Events,
    }

    protected HttpContext Context { get; }

    /// <summary>The model the client named; empty until the request is read.</summary>
    public string Model { get; set; } = "";

    /// <summary>True when a successful JSON body is already in this API's shape (it is passed unchanged; errors are still rewritten).</summary>
    public bool Verbatim { get; init; }

    /// <summary>The request as the pipeline read it; null until it is (a refusal before the body is read).</summary>
    public DistillGuard.Gateway.OpenAI.InferenceRequest? Request { get; set; }

    /// <summary>What the completion said so far.</summary>
    protected ChatOutcome Outcome { get; } = new();

    /// <summary>Turns a whole chat completion into this API's response body.</summary>
    protected abstract void WriteCompletion(Utf8JsonWriter writer, ChatOutcome outcome);

    /// <summary>Turns an OpenAI error into this API's error body (the status is already set and may be changed).</summary>
    protected abstract void WriteError(Utf8JsonWriter writer, int status, string message, string type, string? code, string? param);

    /// <summary>The stream began: this API's opening events.</summary>
    protected abstract ValueTask OnStreamStartAsync(CancellationToken cancellationToken);

    protected abstract ValueTask OnReasoningAsync(string piece, CancellationToken cancellationToken);

    protected abstract ValueTask OnTextAsync(string piece, CancellationToken cancellationToken);

    /// <summary>The reasoning, sealed by the ladder, arrived as one blob (before the answer's text).</summary>
    protected abstract ValueTask OnSealedReasoningAsync(string blob, CancellationToken cancellationToken);

    /// <summary>The stream ended well (<c>[DONE]</c>): this API's closing events, with the whole outcome.</summary>
    protected abstract ValueTask OnStreamEndAsync(CancellationToken cancellationToken);

    /// <summary>The stream failed after it began: this API's error event.</summary>
    protected abstract ValueTask OnStreamErrorAsync(string message, string type, string? code, CancellationToken cancellationToken);

    /// <summary>Writes one SSE event, <c>event: name</c> when named, and flushes it to the client.</summary>
    protected async ValueTask WriteEventAsync<TState>(string? name, TState state, Action<Utf8JsonWriter, TState> write, CancellationToken cancellationToken)
    {
        var output = new ArrayBufferWriter<byte>(256);
        if (name is not null)
        {
            output.Write("event: "u8);
            output.Write(Encoding.UTF8.GetBytes(name));
            output.Write("\n"u8);
        }

        output.Write("data: "u8);
        using (var writer = new Utf8JsonWriter(output))
        {
            write(writer, state);
        }

        output.Write(s_eventEnd);
        await _inner.WriteAsync(output.WrittenMemory, cancellationToken);
        await _inner.FlushAsync(cancellationToken);
    }

    /// <summary>Takes the translation out without writing anything (the request failed unhandled).</summary>
    public void Abandon() => Context.Response.Body = _inner;

    /// <summary>Ends the translation: rewrites a held body, or reports a stream that ended without its end.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        // Whatever the pipeline wrote through the body writer reaches this stream before it is taken out.
        await Context.Response.BodyWriter.FlushAsync(cancellationToken);
        Context.Response.Body = _inner;
        if (_mode == Mode.Events || _done)
        {
            return;
        }

        if (Context.Response.StatusCode < 400 && (_buffer.WrittenCount == 0 || Verbatim))
        {
            await _inner.WriteAsync(_buffer.WrittenMemory, cancellationToken);
            return;
        }

        var output = new ArrayBufferWriter<byte>(Math.Max(256, _buffer.WrittenCount));
        using (var writer = new Utf8JsonWriter(output))
        {
            if (Context.Response.StatusCode >= 400)
            {
                var (message, type, code, param) = ReadError(_buffer.WrittenSpan);
                WriteError(writer, Context.Response.StatusCode, message, type, code, param);
            }
            else
            {
                ReadCompletion(_buffer.WrittenSpan, Outcome);
                WriteCompletion(writer, Outcome);
            }
        }

        Context.Response.ContentType = "application/json";
        Context.Response.ContentLength = output.WrittenCount;
        await _inner.WriteAsync(output.WrittenMemory, cancellationToken);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_mode == Mode.Undecided)
        {
            _mode = Context.Response.StatusCode >= 400 ? Mode.Error
                : Context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true ? Mode.Events
                : Mode.Json;
        }

        _buffer.Write(buffer.Span);
        if (_mode == Mode.Events)
        {
            await DrainEventsAsync(cancellationToken);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    private async ValueTask DrainEventsAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var written = _buffer.WrittenSpan;
            var end = written.IndexOf(s_eventEnd);
            if (end < 0)
            {
                return;
            }

            var data = DataOf(written[..end]);
            var rest = written[(end + s_eventEnd.Length)..].ToArray();
            _buffer.ResetWrittenCount();
            _buffer.Write(rest);
            if (data is not null)
            {
                await OnChunkAsync(data, cancellationToken);
            }
        }
    }

    /// <summary>The data of one SSE event as the pipeline writes it: <c>data: …</c> lines.</summary>
    private static string? DataOf(ReadOnlySpan<byte> eventBytes)
    {
        var text = Encoding.UTF8.GetString(eventBytes);
        var data = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Append(line.AsSpan(line.Length > 5 && line[5] == ' ' ? 6 : 5));
            }
        }

        return data.Length == 0 ? null : data.ToString();
    }

    private bool _started;

    private async ValueTask OnChunkAsync(string data, CancellationToken cancellationToken)
    {
        if (_done)
        {
            return;
        }

        if (data == "[DONE]")
        {
            await StartOnceAsync(cancellationToken);
            _done = true;
            await OnStreamEndAsync(cancellationToken);
            return;
        }

        using var document = TryParse(data);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            // Relayed as sent on Chat Completions; a translated API has no way to carry it, so its stream ends here.
            _done = true;
            await OnStreamErrorAsync("The upstream sent a stream event that is not a JSON object.", "upstream_error", "upstream_error", cancellationToken);
            return;
        }

        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            var (message, type, code, _) = ReadErrorObject(error);
            _done = true;
            await OnStreamErrorAsync(message, type, code, cancellationToken);
            return;
        }

        await StartOnceAsync(cancellationToken);
        ReadUsage(root, Outcome);
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var choice in choices.EnumerateArray())
        {
            if (choice.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
            {
                if (ReasoningOf(delta) is { Length: > 0 } reasoning)
                {
                    Outcome.AddReasoning(reasoning);
                    await OnReasoningAsync(reasoning, cancellationToken);
                }

                if (delta.TryGetProperty(SealedReasoningField, out var sealedBlob) && sealedBlob.ValueKind == JsonValueKind.String)
                {
                    Outcome.SealedReasoning = sealedBlob.GetString()!;
                    await OnSealedReasoningAsync(Outcome.SealedReasoning, cancellationToken);
                }

                if (delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String && content.GetString() is { Length: > 0 } text)
                {
                    Outcome.AddText(text);
                    await OnTextAsync(text, cancellationToken);
                }
            }

            if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
            {
                Outcome.FinishReason = finish.GetString();
            }
        }
    }

    private static JsonDocument? TryParse(string data)
    {
        try
        {
            var bytes = Encoding.UTF8.GetBytes(data);
            return InferenceEndpoints.HasUndecodableEscape(bytes) ? null : JsonDocument.Parse(bytes);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async ValueTask StartOnceAsync(CancellationToken cancellationToken)
    {
        if (!_started)
        {
            _started = true;
            await OnStreamStartAsync(cancellationToken);
        }
    }

    /// <summary>The Chat Completions extension field that carries sealed reasoning (docs/api.md).</summary>
    internal const string SealedReasoningField = "reasoning_encrypted";

    /// <summary>Where a Messages request's signed thinking blocks travel to the pipeline's check (never forwarded).</summary>
    internal const string SignedReasoningField = "reasoning_signed";

    private static string? ReasoningOf(JsonElement holder)
    {
        foreach (var field in (ReadOnlySpan<string>)["reasoning_content", "reasoning"])
        {
            if (holder.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }
        }

        return null;
    }

    private static void ReadCompletion(ReadOnlySpan<byte> body, ChatOutcome outcome)
    {
        using var document = JsonDocument.Parse(body.ToArray());
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        ReadUsage(root, outcome);
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0
            || choices[0].ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var choice = choices[0];
        if (choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
        {
            if (ReasoningOf(message) is { } reasoning)
            {
                outcome.AddReasoning(reasoning);
            }

            if (message.TryGetProperty(SealedReasoningField, out var sealedBlob) && sealedBlob.ValueKind == JsonValueKind.String)
            {
                outcome.SealedReasoning = sealedBlob.GetString();
            }

            if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            {
                outcome.AddText(content.GetString()!);
            }
        }

        if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
        {
            outcome.FinishReason = finish.GetString();
        }
    }

    private static void ReadUsage(JsonElement root, ChatOutcome outcome)
    {
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            if (usage.TryGetProperty("prompt_tokens", out var prompt) && prompt.TryGetInt32(out var p))
            {
                outcome.PromptTokens = p;
            }

            if (usage.TryGetProperty("completion_tokens", out var completion) && completion.TryGetInt32(out var c))
            {
                outcome.CompletionTokens = c;
            }
        }
    }

    private static (string Message, string Type, string? Code, string? Param) ReadError(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                return ReadErrorObject(error);
            }
        }
        catch (JsonException)
        {
        }

        return ("The request failed.", "api_error", null, null);
    }

    private static (string Message, string Type, string? Code, string? Param) ReadErrorObject(JsonElement error)
    {
        static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return (Text(error, "message") ?? "The request failed.", Text(error, "type") ?? "api_error", Text(error, "code"), Text(error, "param"));
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
