using System.Text.Json;
using DistillGuard.Gateway.Inference;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Anthropic;

/// <summary>Rewrites the chat-completions pipeline's output as the Anthropic Messages API: a message, its event stream, its errors.</summary>
internal sealed class MessagesTranslation : ApiTranslation
{
    private readonly string _id;
    private readonly System.Text.StringBuilder _thinking = new();
    private int _index = -1;
    private string? _open;

    public MessagesTranslation(HttpContext context, string requestId) : base(context)
    {
        _id = "msg_" + requestId[4..];
        context.Response.Headers["request-id"] = requestId;
    }

    /// <summary>Signs readable reasoning for the caller (the <c>signature</c> of a thinking block); null leaves signatures empty.</summary>
    public Func<string, string>? Sign { get; set; }

    /// <summary>The Anthropic error type and status for a gateway error status.</summary>
    internal static (int Status, string Type) ErrorFor(int status) => status switch
    {
        400 => (400, "invalid_request_error"),
        401 => (401, "authentication_error"),
        402 => (402, "billing_error"),
        403 => (403, "permission_error"),
        404 => (404, "not_found_error"),
        413 => (413, "request_too_large"),
        429 => (429, "rate_limit_error"),
        503 or 529 => (529, "overloaded_error"),
        504 => (504, "timeout_error"),
        >= 500 => (status, "api_error"),
        _ => (status, "invalid_request_error"),
    };

    protected override void WriteError(Utf8JsonWriter writer, int status, string message, string type, string? code, string? param)
    {
        var (mapped, anthropicType) = ErrorFor(status);
        Context.Response.StatusCode = mapped;
        WriteErrorBody(writer, anthropicType, message);
    }

    private static void WriteErrorBody(Utf8JsonWriter writer, string type, string message)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "error");
        writer.WriteStartObject("error");
        writer.WriteString("type", type);
        writer.WriteString("message", message);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    protected override void WriteCompletion(Utf8JsonWriter writer, ChatOutcome outcome)
    {
        WriteMessageStart(writer);
        writer.WriteStartArray("content");
        if (outcome.SealedReasoning is { } blob)
        {
            WriteRedactedThinking(writer, blob);
        }
        else if (outcome.Reasoning is { Length: > 0 } reasoning)
        {
            writer.WriteStartObject();
            writer.WriteString("type", "thinking");
            writer.WriteString("thinking", reasoning);
            writer.WriteString("signature", Sign?.Invoke(reasoning) ?? "");
            writer.WriteEndObject();
        }

        writer.WriteStartObject();
        writer.WriteString("type", "text");
        writer.WriteString("text", outcome.Text);
        writer.WriteNull("citations");
        writer.WriteEndObject();
        writer.WriteEndArray();
        WriteMessageEnd(writer, outcome, final: true);
    }

    private void WriteMessageStart(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("id", _id);
        writer.WriteString("type", "message");
        writer.WriteString("role", "assistant");
        writer.WriteString("model", Model);
    }

    private static void WriteMessageEnd(Utf8JsonWriter writer, ChatOutcome outcome, bool final)
    {
        if (final)
        {
            writer.WriteString("stop_reason", MessagesRequest.StopReason(outcome.FinishReason));
        }
        else
        {
            writer.WriteNull("stop_reason");
        }

        writer.WriteNull("stop_sequence");
        WriteUsage(writer, final ? outcome.PromptTokens : 0, final ? outcome.CompletionTokens : 0);
        writer.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter writer, int input, int output)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("input_tokens", input);
        writer.WriteNumber("output_tokens", output);
        writer.WriteNumber("cache_creation_input_tokens", 0);
        writer.WriteNumber("cache_read_input_tokens", 0);
        writer.WriteNull("cache_creation");
        writer.WriteNull("server_tool_use");
        writer.WriteString("service_tier", "standard");
        writer.WriteEndObject();
    }

    private static void WriteRedactedThinking(Utf8JsonWriter writer, string blob)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "redacted_thinking");
        writer.WriteString("data", blob);
        writer.WriteEndObject();
    }

    protected override async ValueTask OnStreamStartAsync(CancellationToken cancellationToken)
    {
        await WriteEventAsync("message_start", this, static (w, self) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "message_start");
            w.WritePropertyName("message");
            self.WriteMessageStart(w);
            w.WriteStartArray("content");
            w.WriteEndArray();
            WriteMessageEnd(w, self.Outcome, final: false);
            w.WriteEndObject();
        }, cancellationToken);
        await WriteEventAsync("ping", 0, static (w, _) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "ping");
            w.WriteEndObject();
        }, cancellationToken);
    }

    protected override async ValueTask OnReasoningAsync(string piece, CancellationToken cancellationToken)
    {
        await OpenAsync("thinking", cancellationToken);
        _thinking.Append(piece);
        await DeltaAsync("thinking_delta", "thinking", piece, cancellationToken);
    }

    protected override async ValueTask OnTextAsync(string piece, CancellationToken cancellationToken)
    {
        await OpenAsync("text", cancellationToken);
        await DeltaAsync("text_delta", "text", piece, cancellationToken);
    }

    protected override async ValueTask OnSealedReasoningAsync(string blob, CancellationToken cancellationToken)
    {
        await CloseAsync(cancellationToken);
        _index++;
        await WriteEventAsync("content_block_start", (_index, blob), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "content_block_start");
            w.WriteNumber("index", s._index);
            w.WritePropertyName("content_block");
            WriteRedactedThinking(w, s.blob);
            w.WriteEndObject();
        }, cancellationToken);
        _open = "redacted_thinking";
        await CloseAsync(cancellationToken);
    }

    protected override async ValueTask OnStreamEndAsync(CancellationToken cancellationToken)
    {
        await CloseAsync(cancellationToken);
        await WriteEventAsync("message_delta", Outcome, static (w, outcome) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "message_delta");
            w.WriteStartObject("delta");
            w.WriteString("stop_reason", MessagesRequest.StopReason(outcome.FinishReason));
            w.WriteNull("stop_sequence");
            w.WriteEndObject();
            w.WriteStartObject("usage");
            w.WriteNumber("input_tokens", outcome.PromptTokens);
            w.WriteNumber("output_tokens", outcome.CompletionTokens);
            w.WriteEndObject();
            w.WriteEndObject();
        }, cancellationToken);
        await WriteEventAsync("message_stop", 0, static (w, _) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "message_stop");
            w.WriteEndObject();
        }, cancellationToken);
    }

    protected override ValueTask OnStreamErrorAsync(string message, string type, string? code, CancellationToken cancellationToken) =>
        WriteEventAsync("error", message, static (w, m) => WriteErrorBody(w, "api_error", m), cancellationToken);

    private async ValueTask OpenAsync(string kind, CancellationToken cancellationToken)
    {
        if (_open == kind)
        {
            return;
        }

        await CloseAsync(cancellationToken);
        _index++;
        _open = kind;
        await WriteEventAsync("content_block_start", (_index, kind), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "content_block_start");
            w.WriteNumber("index", s._index);
            w.WriteStartObject("content_block");
            w.WriteString("type", s.kind);
            if (s.kind == "thinking")
            {
                w.WriteString("thinking", "");
                w.WriteString("signature", "");
            }
            else
            {
                w.WriteString("text", "");
                w.WriteNull("citations");
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }, cancellationToken);
    }

    private ValueTask DeltaAsync(string deltaType, string field, string piece, CancellationToken cancellationToken) =>
        WriteEventAsync("content_block_delta", (_index, deltaType, field, piece), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "content_block_delta");
            w.WriteNumber("index", s._index);
            w.WriteStartObject("delta");
            w.WriteString("type", s.deltaType);
            w.WriteString(s.field, s.piece);
            w.WriteEndObject();
            w.WriteEndObject();
        }, cancellationToken);

    private async ValueTask CloseAsync(CancellationToken cancellationToken)
    {
        if (_open is null)
        {
            return;
        }

        if (_open == "thinking" && Sign is { } sign)
        {
            // As Anthropic streams it: the block's signature arrives last, just before the block stops.
            await DeltaAsync("signature_delta", "signature", sign(_thinking.ToString()), cancellationToken);
            _thinking.Clear();
        }

        _open = null;
        await WriteEventAsync("content_block_stop", _index, static (w, index) =>
        {
            w.WriteStartObject();
            w.WriteString("type", "content_block_stop");
            w.WriteNumber("index", index);
            w.WriteEndObject();
        }, cancellationToken);
    }
}
