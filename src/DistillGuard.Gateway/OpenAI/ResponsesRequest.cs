using System.Text;
using System.Text.Json.Nodes;
using DistillGuard.Gateway.Inference;

namespace DistillGuard.Gateway.OpenAI;

/// <summary>
/// Reads an OpenAI Responses request (<c>POST /v1/responses</c>) and states it as the Chat Completions request the
/// pipeline serves. The gateway keeps no conversations: <c>store: true</c> and <c>previous_response_id</c> are refused.
/// </summary>
internal static class ResponsesRequest
{
    private static readonly HashSet<string> s_fields = new(StringComparer.Ordinal)
    {
        "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "stream", "reasoning", "include", "store",
        "previous_response_id", "metadata", "user", "text", "parallel_tool_calls", "tool_choice", "tools", "truncation",
        "service_tier", "safety_identifier", "prompt_cache_key", "background",
    };

    /// <summary>The <c>include</c> value that asks for reasoning as an encrypted blob.</summary>
    internal const string EncryptedReasoning = "reasoning.encrypted_content";

    /// <summary>The chat-completions body for a Responses body; throws <see cref="OpenAIErrorException"/> (400) naming the bad field.</summary>
    public static JsonObject ToChat(JsonNode? node)
    {
        if (node is not JsonObject body)
        {
            throw OpenAIErrorException.InvalidRequest("The request body must be a JSON object.");
        }

        foreach (var (name, _) in body)
        {
            if (!s_fields.Contains(name))
            {
                var shown = InferenceRequest.Truncate(name, 64);
                throw new OpenAIErrorException(400, $"Unknown parameter: '{shown}'.", "invalid_request_error", "unknown_parameter", shown);
            }
        }

        if (InferenceRequest.OptionalBool(body, "store") == true)
        {
            throw OpenAIErrorException.InvalidRequest("This gateway does not store responses: send 'store': false and carry the conversation in 'input'.", "store", "unsupported_parameter");
        }

        if (body["previous_response_id"] is { } previous && previous.GetValueKind() != System.Text.Json.JsonValueKind.Null)
        {
            throw OpenAIErrorException.InvalidRequest("This gateway does not store responses, so 'previous_response_id' cannot be used: carry the conversation in 'input'.", "previous_response_id", "unsupported_parameter");
        }

        if (InferenceRequest.OptionalBool(body, "background") == true)
        {
            throw OpenAIErrorException.InvalidRequest("'background' responses are not served by this gateway.", "background", "unsupported_parameter");
        }

        if (body["tools"] is JsonArray { Count: > 0 })
        {
            throw OpenAIErrorException.InvalidRequest("'tools' are not served by this gateway's Responses API yet.", "tools", "unsupported_parameter");
        }

        var chat = new JsonObject { ["model"] = InferenceRequest.RequiredString(body, "model") };
        var messages = new JsonArray();
        if (body["instructions"] is { } instructions && instructions.GetValueKind() != System.Text.Json.JsonValueKind.Null)
        {
            if (instructions is not JsonValue iv || !iv.TryGetValue<string>(out var text))
            {
                throw OpenAIErrorException.InvalidRequest("'instructions' must be a string.", "instructions");
            }

            messages.Add(new JsonObject { ["role"] = "developer", ["content"] = text });
        }

        Input(body["input"], messages);
        chat["messages"] = messages;

        if (InferenceRequest.OptionalInt(body, "max_output_tokens") is { } maxOutput)
        {
            chat["max_tokens"] = maxOutput < 1
                ? throw OpenAIErrorException.InvalidRequest($"'max_output_tokens' must be at least 1, got {maxOutput}.", "max_output_tokens")
                : maxOutput;
        }

        if (InferenceRequest.OptionalBool(body, "stream") is { } stream)
        {
            chat["stream"] = stream;
            if (stream)
            {
                chat["stream_options"] = new JsonObject { ["include_usage"] = true };
            }
        }

        foreach (var name in (ReadOnlySpan<string>)["temperature", "top_p"])
        {
            if (InferenceRequest.OptionalDouble(body, name) is { } value)
            {
                chat[name] = value;
            }
        }

        if (body["user"] is JsonValue user && user.TryGetValue<string>(out var userText))
        {
            chat["user"] = userText;
        }

        if (body["reasoning"] is JsonObject { } withEffort && withEffort["effort"] is { } effortNode && effortNode.GetValueKind() is not (System.Text.Json.JsonValueKind.String or System.Text.Json.JsonValueKind.Null))
        {
            throw OpenAIErrorException.InvalidRequest("'reasoning.effort' must be a string.", "reasoning.effort");
        }

        if (body["reasoning"] is JsonObject reasoning && reasoning["effort"] is JsonValue effort && effort.TryGetValue<string>(out var effortText))
        {
            if (effortText is not ("minimal" or "low" or "medium" or "high" or "none"))
            {
                throw OpenAIErrorException.InvalidRequest($"'reasoning.effort' must be one of none, minimal, low, medium, high, got '{InferenceRequest.Truncate(effortText, 32)}'.", "reasoning.effort");
            }

            chat["reasoning_effort"] = effortText;
        }
        else if (body["reasoning"] is { } other && other is not JsonObject && other.GetValueKind() != System.Text.Json.JsonValueKind.Null)
        {
            throw OpenAIErrorException.InvalidRequest("'reasoning' must be an object.", "reasoning");
        }

        CheckInclude(body["include"]);
        return chat;
    }

    /// <summary>True when the request's <c>include</c> asks for reasoning as <c>encrypted_content</c>.</summary>
    public static bool WantsEncryptedReasoning(JsonNode? include) =>
        include is JsonArray array && array.Any(i => i is JsonValue v && v.TryGetValue<string>(out var s) && s == EncryptedReasoning);

    private static void CheckInclude(JsonNode? include)
    {
        if (include is null)
        {
            return;
        }

        if (include is not JsonArray array)
        {
            throw OpenAIErrorException.InvalidRequest("'include' must be an array of strings.", "include");
        }

        foreach (var item in array)
        {
            if (item is not JsonValue v || !v.TryGetValue<string>(out var s))
            {
                throw OpenAIErrorException.InvalidRequest("'include' must be an array of strings.", "include");
            }

            if (s != EncryptedReasoning)
            {
                throw OpenAIErrorException.InvalidRequest($"'include' value '{InferenceRequest.Truncate(s, 64)}' is not served by this gateway; it serves '{EncryptedReasoning}'.", "include", "unsupported_parameter");
            }
        }
    }

    private static void Input(JsonNode? input, JsonArray messages)
    {
        switch (input)
        {
            case null:
                throw OpenAIErrorException.InvalidRequest("'input' is required.", "input");
            case JsonValue value when value.TryGetValue<string>(out var text):
                messages.Add(new JsonObject { ["role"] = "user", ["content"] = text });
                return;
            case JsonArray items:
                if (items.Count == 0)
                {
                    throw OpenAIErrorException.InvalidRequest("'input' must hold at least one item.", "input");
                }

                string? pendingSeal = null;
                string? pendingReasoning = null;
                for (var i = 0; i < items.Count; i++)
                {
                    var param = $"input[{i}]";
                    if (items[i] is not JsonObject item)
                    {
                        throw OpenAIErrorException.InvalidRequest($"'{param}' must be an object.", param);
                    }

                    var type = item["type"] is JsonValue t && t.TryGetValue<string>(out var typeText) ? typeText : "message";
                    switch (type)
                    {
                        case "message":
                            var message = Message(item, param);
                            if ((string?)message["role"] == "assistant")
                            {
                                Attach(message, ref pendingSeal, ref pendingReasoning);
                            }
                            else
                            {
                                FlushPending(messages, ref pendingSeal, ref pendingReasoning);
                            }

                            messages.Add(message);
                            break;
                        case "reasoning":
                            FlushPending(messages, ref pendingSeal, ref pendingReasoning);
                            (pendingSeal, pendingReasoning) = Reasoning(item, param);
                            break;
                        default:
                            throw OpenAIErrorException.InvalidRequest($"'{param}.type' '{InferenceRequest.Truncate(type, 32)}' input items are not served by this gateway (it serves message and reasoning items).", $"{param}.type", "unsupported_input_item");
                    }
                }

                FlushPending(messages, ref pendingSeal, ref pendingReasoning);
                return;
            default:
                throw OpenAIErrorException.InvalidRequest("'input' must be a string or an array of input items.", "input");
        }
    }

    // A reasoning item belongs to the assistant turn after it; with no such turn it gets one of its own, so that a
    // sealed blob is always checked.
    private static void FlushPending(JsonArray messages, ref string? pendingSeal, ref string? pendingReasoning)
    {
        if (pendingSeal is null && pendingReasoning is null)
        {
            return;
        }

        var carrier = new JsonObject { ["role"] = "assistant", ["content"] = "" };
        Attach(carrier, ref pendingSeal, ref pendingReasoning);
        messages.Add(carrier);
    }

    private static void Attach(JsonObject assistant, ref string? pendingSeal, ref string? pendingReasoning)
    {
        if (pendingSeal is not null)
        {
            assistant[ApiTranslation.SealedReasoningField] = pendingSeal;
        }

        if (pendingReasoning is not null)
        {
            assistant["reasoning_content"] = pendingReasoning;
        }

        pendingSeal = null;
        pendingReasoning = null;
    }

    private static (string? Sealed, string? Readable) Reasoning(JsonObject item, string param)
    {
        string? sealedBlob = null;
        if (item["encrypted_content"] is { } encrypted && encrypted.GetValueKind() != System.Text.Json.JsonValueKind.Null)
        {
            if (encrypted is not JsonValue ev || !ev.TryGetValue<string>(out var blob) || blob.Length == 0)
            {
                throw OpenAIErrorException.InvalidRequest($"'{param}.encrypted_content' must be a non-empty string.", $"{param}.encrypted_content");
            }

            sealedBlob = blob;
        }

        var readable = new StringBuilder();
        if (item["content"] is JsonArray parts)
        {
            foreach (var part in parts.OfType<JsonObject>())
            {
                if (part["text"] is JsonValue pt && pt.TryGetValue<string>(out var text))
                {
                    readable.Append(text);
                }
            }
        }

        return (sealedBlob, readable.Length > 0 ? readable.ToString() : null);
    }

    private static JsonObject Message(JsonObject item, string param)
    {
        var role = item["role"] is JsonValue r && r.TryGetValue<string>(out var roleText) ? roleText : null;
        if (role is not ("user" or "assistant" or "system" or "developer"))
        {
            throw OpenAIErrorException.InvalidRequest($"'{param}.role' must be one of user, assistant, system, developer.", $"{param}.role");
        }

        switch (item["content"])
        {
            case JsonValue value when value.TryGetValue<string>(out var text):
                return new JsonObject { ["role"] = role, ["content"] = text };
            case JsonArray parts:
                var builder = new StringBuilder();
                for (var i = 0; i < parts.Count; i++)
                {
                    var partParam = $"{param}.content[{i}]";
                    if (parts[i] is not JsonObject part || part["type"] is not JsonValue pt || !pt.TryGetValue<string>(out var partType))
                    {
                        throw OpenAIErrorException.InvalidRequest($"'{partParam}' must be a content part object with a 'type'.", partParam);
                    }

                    if (partType is not ("input_text" or "output_text" or "refusal"))
                    {
                        var code = partType is "input_image" or "input_file" or "input_audio" ? "unsupported_content_part" : "unknown_content_part";
                        throw OpenAIErrorException.InvalidRequest($"'{partParam}.type' '{InferenceRequest.Truncate(partType, 32)}' content parts are not served by this gateway (it serves input_text and output_text).", $"{partParam}.type", code);
                    }

                    var field = partType == "refusal" ? "refusal" : "text";
                    if (part[field] is not JsonValue tv || !tv.TryGetValue<string>(out var partText))
                    {
                        throw OpenAIErrorException.InvalidRequest($"'{partParam}.{field}' must be a string.", $"{partParam}.{field}");
                    }

                    if (builder.Length > 0)
                    {
                        builder.Append('\n');
                    }

                    builder.Append(partText);
                }

                return new JsonObject { ["role"] = role, ["content"] = builder.ToString() };
            default:
                throw OpenAIErrorException.InvalidRequest($"'{param}.content' must be a string or an array of content parts.", $"{param}.content");
        }
    }
}
