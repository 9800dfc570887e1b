using System.Text.Json;
using DistillGuard.Gateway.Inference;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.OpenAI;

/// <summary>Rewrites the chat-completions pipeline's output as the OpenAI Responses API: a response object and its typed events.</summary>
/// <remarks>Errors are already OpenAI's shape and pass unchanged; a failure after the stream began is an <c>error</c> event.</remarks>
internal sealed class ResponsesTranslation : ApiTranslation
{
    private readonly string _id;
    private readonly string _messageId;
    private readonly string _reasoningId;
    private readonly long _createdAt;
    private int _sequence;
    private int _outputIndex = -1;
    private bool _reasoningOpen;
    private bool _messageOpen;

    public ResponsesTranslation(HttpContext context, string requestId, TimeProvider time) : base(context)
    {
        var suffix = requestId[4..];
        _id = "resp_" + suffix;
        _messageId = "msg_" + suffix;
        _reasoningId = "rs_" + suffix;
        _createdAt = time.GetUtcNow().ToUnixTimeSeconds();
    }

    protected override void WriteError(Utf8JsonWriter writer, int status, string message, string type, string? code, string? param) =>
        OpenAIError.WriteBody(writer, message, type, code, param);

    protected override void WriteCompletion(Utf8JsonWriter writer, ChatOutcome outcome) => WriteResponse(writer, outcome, Status(outcome), withOutput: true);

    private static string Status(ChatOutcome outcome) => outcome.FinishReason == "length" ? "incomplete" : "completed";

    private void WriteResponse(Utf8JsonWriter w, ChatOutcome outcome, string status, bool withOutput)
    {
        w.WriteStartObject();
        w.WriteString("id", _id);
        w.WriteString("object", "response");
        w.WriteNumber("created_at", _createdAt);
        w.WriteString("status", status);
        w.WriteBoolean("background", false);
        w.WriteNull("error");
        if (status == "incomplete")
        {
            w.WriteStartObject("incomplete_details");
            w.WriteString("reason", "max_output_tokens");
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("incomplete_details");
        }

        var instructions = Request?.Messages.FirstOrDefault(m => m.Role == "developer")?.Content;
        if (instructions is null)
        {
            w.WriteNull("instructions");
        }
        else
        {
            w.WriteString("instructions", instructions);
        }

        WriteNumberOrNull(w, "max_output_tokens", Request?.MaxTokens);
        w.WriteString("model", Model);
        w.WriteStartArray("output");
        if (withOutput)
        {
            if (outcome.SealedReasoning is not null || outcome.Reasoning.Length > 0)
            {
                WriteReasoningItem(w, outcome);
            }

            WriteMessageItem(w, outcome, status == "incomplete" ? "incomplete" : "completed");
        }

        w.WriteEndArray();
        w.WriteBoolean("parallel_tool_calls", true);
        w.WriteNull("previous_response_id");
        w.WriteStartObject("reasoning");
        w.WriteNull("effort");
        w.WriteNull("summary");
        w.WriteEndObject();
        w.WriteBoolean("store", false);
        WriteNumberOrNull(w, "temperature", Request?.Temperature ?? 1.0);
        w.WriteStartObject("text");
        w.WriteStartObject("format");
        w.WriteString("type", "text");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("tool_choice", "auto");
        w.WriteStartArray("tools");
        w.WriteEndArray();
        WriteNumberOrNull(w, "top_p", Request?.TopP ?? 1.0);
        w.WriteString("truncation", "disabled");
        if (withOutput)
        {
            w.WriteStartObject("usage");
            w.WriteNumber("input_tokens", outcome.PromptTokens);
            w.WriteStartObject("input_tokens_details");
            w.WriteNumber("cached_tokens", 0);
            w.WriteEndObject();
            w.WriteNumber("output_tokens", outcome.CompletionTokens);
            w.WriteStartObject("output_tokens_details");
            w.WriteNumber("reasoning_tokens", 0);
            w.WriteEndObject();
            w.WriteNumber("total_tokens", outcome.PromptTokens + outcome.CompletionTokens);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("usage");
        }

        w.WriteNull("user");
        w.WriteStartObject("metadata");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private void WriteReasoningItem(Utf8JsonWriter w, ChatOutcome outcome)
    {
        w.WriteStartObject();
        w.WriteString("id", _reasoningId);
        w.WriteString("type", "reasoning");
        w.WriteStartArray("summary");
        w.WriteEndArray();
        if (outcome.SealedReasoning is { } blob)
        {
            w.WriteString("encrypted_content", blob);
        }
        else
        {
            w.WriteStartArray("content");
            w.WriteStartObject();
            w.WriteString("type", "reasoning_text");
            w.WriteString("text", outcome.Reasoning);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private void WriteMessageItem(Utf8JsonWriter w, ChatOutcome? outcome, string status)
    {
        w.WriteStartObject();
        w.WriteString("id", _messageId);
        w.WriteString("type", "message");
        w.WriteString("status", status);
        w.WriteString("role", "assistant");
        w.WriteStartArray("content");
        if (outcome is not null)
        {
            WriteTextPart(w, outcome.Text);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", "output_text");
        w.WriteString("text", text);
        w.WriteStartArray("annotations");
        w.WriteEndArray();
        w.WriteStartArray("logprobs");
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private ValueTask EventAsync<TState>(string type, TState state, Action<Utf8JsonWriter, TState> write, CancellationToken cancellationToken) =>
        WriteEventAsync(type, (self: this, type, state, write, sequence: _sequence++), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("type", s.type);
            w.WriteNumber("sequence_number", s.sequence);
            s.write(w, s.state);
            w.WriteEndObject();
        }, cancellationToken);

    protected override async ValueTask OnStreamStartAsync(CancellationToken cancellationToken)
    {
        foreach (var type in (string[])["response.created", "response.in_progress"])
        {
            await EventAsync(type, this, static (w, self) =>
            {
                w.WritePropertyName("response");
                self.WriteResponse(w, self.Outcome, "in_progress", withOutput: false);
            }, cancellationToken);
        }
    }

    protected override async ValueTask OnReasoningAsync(string piece, CancellationToken cancellationToken)
    {
        await OpenReasoningAsync(cancellationToken);

        await EventAsync("response.reasoning_text.delta", (self: this, piece), static (w, s) =>
        {
            w.WriteString("item_id", s.self._reasoningId);
            w.WriteNumber("output_index", s.self._outputIndex);
            w.WriteNumber("content_index", 0);
            w.WriteString("delta", s.piece);
        }, cancellationToken);
    }

    protected override async ValueTask OnSealedReasoningAsync(string blob, CancellationToken cancellationToken)
    {
        await OpenReasoningAsync(cancellationToken);

        await CloseReasoningAsync(cancellationToken);
    }

    private async ValueTask OpenReasoningAsync(CancellationToken cancellationToken)
    {
        if (!_reasoningOpen)
        {
            _reasoningOpen = true;
            _outputIndex++;
            await EventAsync("response.output_item.added", this, static (w, self) =>
            {
                w.WriteNumber("output_index", self._outputIndex);
                w.WriteStartObject("item");
                w.WriteString("id", self._reasoningId);
                w.WriteString("type", "reasoning");
                w.WriteStartArray("summary");
                w.WriteEndArray();
                w.WriteEndObject();
            }, cancellationToken);
        }
    }

    private async ValueTask CloseReasoningAsync(CancellationToken cancellationToken)
    {
        if (!_reasoningOpen)
        {
            return;
        }

        _reasoningOpen = false;
        await EventAsync("response.output_item.done", this, static (w, self) =>
        {
            w.WriteNumber("output_index", self._outputIndex);
            w.WritePropertyName("item");
            self.WriteReasoningItem(w, self.Outcome);
        }, cancellationToken);
    }

    protected override async ValueTask OnTextAsync(string piece, CancellationToken cancellationToken)
    {
        await OpenMessageAsync(cancellationToken);
        await EventAsync("response.output_text.delta", (self: this, piece), static (w, s) =>
        {
            w.WriteString("item_id", s.self._messageId);
            w.WriteNumber("output_index", s.self._outputIndex);
            w.WriteNumber("content_index", 0);
            w.WriteString("delta", s.piece);
            w.WriteStartArray("logprobs");
            w.WriteEndArray();
        }, cancellationToken);
    }

    private async ValueTask OpenMessageAsync(CancellationToken cancellationToken)
    {
        if (_messageOpen)
        {
            return;
        }

        await CloseReasoningAsync(cancellationToken);
        _messageOpen = true;
        _outputIndex++;
        await EventAsync("response.output_item.added", this, static (w, self) =>
        {
            w.WriteNumber("output_index", self._outputIndex);
            w.WritePropertyName("item");
            self.WriteMessageItem(w, null, "in_progress");
        }, cancellationToken);
        await EventAsync("response.content_part.added", this, static (w, self) =>
        {
            w.WriteString("item_id", self._messageId);
            w.WriteNumber("output_index", self._outputIndex);
            w.WriteNumber("content_index", 0);
            w.WritePropertyName("part");
            WriteTextPart(w, "");
        }, cancellationToken);
    }

    protected override async ValueTask OnStreamEndAsync(CancellationToken cancellationToken)
    {
        await OpenMessageAsync(cancellationToken);
        var text = Outcome.Text;
        await EventAsync("response.output_text.done", (self: this, text), static (w, s) =>
        {
            w.WriteString("item_id", s.self._messageId);
            w.WriteNumber("output_index", s.self._outputIndex);
            w.WriteNumber("content_index", 0);
            w.WriteString("text", s.text);
            w.WriteStartArray("logprobs");
            w.WriteEndArray();
        }, cancellationToken);
        await EventAsync("response.content_part.done", (self: this, text), static (w, s) =>
        {
            w.WriteString("item_id", s.self._messageId);
            w.WriteNumber("output_index", s.self._outputIndex);
            w.WriteNumber("content_index", 0);
            w.WritePropertyName("part");
            WriteTextPart(w, s.text);
        }, cancellationToken);
        var status = Status(Outcome);
        await EventAsync("response.output_item.done", (self: this, status), static (w, s) =>
        {
            w.WriteNumber("output_index", s.self._outputIndex);
            w.WritePropertyName("item");
            s.self.WriteMessageItem(w, s.self.Outcome, s.status);
        }, cancellationToken);
        await EventAsync(status == "incomplete" ? "response.incomplete" : "response.completed", (self: this, status), static (w, s) =>
        {
            w.WritePropertyName("response");
            s.self.WriteResponse(w, s.self.Outcome, s.status, withOutput: true);
        }, cancellationToken);
    }

    protected override ValueTask OnStreamErrorAsync(string message, string type, string? code, CancellationToken cancellationToken) =>
        EventAsync("error", (message, code), static (w, s) =>
        {
            w.WriteString("message", s.message);
            if (s.code is null)
            {
                w.WriteNull("code");
            }
            else
            {
                w.WriteString("code", s.code);
            }

            w.WriteNull("param");
        }, cancellationToken);
}
