using System.Text;
using System.Text.Json.Nodes;
using DistillGuard.Gateway.Inference;
using DistillGuard.Gateway.OpenAI;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Anthropic;

/// <summary>
/// Reads an Anthropic Messages request (<c>POST /v1/messages</c>) and states it as the Chat Completions request the
/// pipeline serves, so the same checks, ladder, usage and detection apply to it.
/// </summary>
internal static class MessagesRequest
{
    /// <summary>The first version of the Messages API (Anthropic's <c>anthropic-version</c> header); later ones only add fields.</summary>
    private static readonly DateOnly s_firstVersion = new(2023, 1, 1);

    private static readonly HashSet<string> s_fields = new(StringComparer.Ordinal)
    {
        "model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p", "top_k", "stream", "metadata",
        "thinking", "service_tier",
    };

    // Real Messages fields that need a capability this gateway does not translate yet: refused by name, not ignored.
    private static readonly HashSet<string> s_unsupportedFields = new(StringComparer.Ordinal)
    {
        "tools", "tool_choice", "mcp_servers", "container", "context_management", "output_config", "inference_geo",
    };

    private static readonly HashSet<string> s_unsupportedBlocks = new(StringComparer.Ordinal)
    {
        "image", "document", "search_result", "tool_use", "tool_result", "server_tool_use", "web_search_tool_result",
        "web_fetch_tool_result", "code_execution_tool_result", "container_upload", "mcp_tool_use", "mcp_tool_result",
    };

    /// <summary>Smallest thinking budget Anthropic accepts.</summary>
    internal const int MinThinkingBudget = 1024;

    /// <summary>Checks the <c>anthropic-version</c> header: required, and one this gateway answers.</summary>
    public static void CheckVersion(HttpRequest request)
    {
        var version = request.Headers["anthropic-version"].ToString();
        if (version.Length == 0)
        {
            throw OpenAIErrorException.InvalidRequest("anthropic-version: header is required.", "anthropic-version");
        }

        // Versions are dates; the SDKs send the one they were built against. Every version from the first is answered
        // with the shapes of 2023-06-01, which later versions extend.
        if (!DateOnly.TryParseExact(version, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var date) || date < s_firstVersion)
        {
            throw OpenAIErrorException.InvalidRequest($"anthropic-version: '{InferenceRequest.Truncate(version, 32)}' is not a valid version; send a date such as 2023-06-01.", "anthropic-version");
        }
    }

    /// <summary>The chat-completions body for a Messages body; throws <see cref="OpenAIErrorException"/> (400) naming the bad field.</summary>
    /// <param name="requireMaxTokens">False for <c>count_tokens</c>, which takes no <c>max_tokens</c>.</param>
    public static JsonObject ToChat(JsonNode? node, bool requireMaxTokens = true)
    {
        if (node is not JsonObject body)
        {
            throw OpenAIErrorException.InvalidRequest("The request body must be a JSON object.");
        }

        foreach (var (name, _) in body)
        {
            if (s_unsupportedFields.Contains(name))
            {
                throw OpenAIErrorException.InvalidRequest($"{name}: this gateway does not serve this field of the Messages API.", name, "unsupported_parameter");
            }

            if (!s_fields.Contains(name) && (requireMaxTokens || name != "max_tokens"))
            {
                throw OpenAIErrorException.InvalidRequest($"{InferenceRequest.Truncate(name, 64)}: Extra inputs are not permitted.", InferenceRequest.Truncate(name, 64), "unknown_parameter");
            }
        }

        var chat = new JsonObject { ["model"] = InferenceRequest.RequiredString(body, "model") };
        var messages = new JsonArray();
        if (body["system"] is { } system)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = SystemText(system) });
        }

        if (body["messages"] is not JsonArray turns)
        {
            throw OpenAIErrorException.InvalidRequest(body.ContainsKey("messages") ? "messages: Input should be a valid list." : "messages: Field required.", "messages");
        }

        if (turns.Count == 0)
        {
            throw OpenAIErrorException.InvalidRequest("messages: at least one message is required.", "messages");
        }

        for (var i = 0; i < turns.Count; i++)
        {
            messages.Add(Turn(turns[i], $"messages.{i}"));
        }

        chat["messages"] = messages;

        int? maxTokens = null;
        if (requireMaxTokens)
        {
            if (!body.ContainsKey("max_tokens"))
            {
                throw OpenAIErrorException.InvalidRequest("max_tokens: Field required.", "max_tokens");
            }

            maxTokens = InferenceRequest.OptionalInt(body, "max_tokens");
            if (maxTokens is null)
            {
                throw OpenAIErrorException.InvalidRequest("max_tokens: Input should be a valid integer.", "max_tokens");
            }

            if (maxTokens < 1)
            {
                throw OpenAIErrorException.InvalidRequest($"max_tokens: must be at least 1, got {maxTokens}.", "max_tokens");
            }

            chat["max_tokens"] = maxTokens;
        }

        if (InferenceRequest.OptionalBool(body, "stream") is { } stream)
        {
            chat["stream"] = stream;
            if (stream)
            {
                // The usage chunk at the end gives message_delta its token counts.
                chat["stream_options"] = new JsonObject { ["include_usage"] = true };
            }
        }

        if (InferenceRequest.OptionalDouble(body, "temperature") is { } temperature)
        {
            if (temperature is < 0 or > 1)
            {
                throw OpenAIErrorException.InvalidRequest($"temperature: must be between 0 and 1, got {temperature}.", "temperature");
            }

            chat["temperature"] = temperature;
        }

        if (InferenceRequest.OptionalDouble(body, "top_p") is { } topP)
        {
            chat["top_p"] = topP;
        }

        if (InferenceRequest.OptionalInt(body, "top_k") is { } topK)
        {
            if (topK < 0)
            {
                throw OpenAIErrorException.InvalidRequest($"top_k: must be at least 0, got {topK}.", "top_k");
            }

            chat["top_k"] = topK;
        }

        if (body["stop_sequences"] is { } stops)
        {
            chat["stop"] = StopSequences(stops);
        }

        if (body["metadata"] is { } metadata)
        {
            if (metadata is not JsonObject meta)
            {
                throw OpenAIErrorException.InvalidRequest("metadata: Input should be an object.", "metadata");
            }

            if (meta["user_id"] is JsonValue user && user.TryGetValue<string>(out var userId))
            {
                chat["user"] = userId;
            }
        }

        if (body["service_tier"] is { } tier && (tier is not JsonValue tierValue || !tierValue.TryGetValue<string>(out var tierText) || tierText is not ("auto" or "standard_only")))
        {
            throw OpenAIErrorException.InvalidRequest("service_tier: must be 'auto' or 'standard_only'.", "service_tier");
        }

        if (body["thinking"] is { } thinking && Thinking(thinking, maxTokens) is { } effort)
        {
            chat["reasoning_effort"] = effort;
        }

        return chat;
    }

    /// <summary>Checks <c>thinking</c>; the reasoning effort its budget amounts to, or null when thinking is off.</summary>
    private static string? Thinking(JsonNode thinking, int? maxTokens)
    {
        if (thinking is not JsonObject config || config["type"] is not JsonValue typeValue || !typeValue.TryGetValue<string>(out var type))
        {
            throw OpenAIErrorException.InvalidRequest("thinking: must be an object with a 'type' ('enabled', 'disabled' or 'adaptive').", "thinking");
        }

        switch (type)
        {
            case "disabled":
                return null;
            case "adaptive":
                return "medium";
            case "enabled":
                if (!config.ContainsKey("budget_tokens"))
                {
                    throw OpenAIErrorException.InvalidRequest("thinking.enabled.budget_tokens: Field required.", "thinking.budget_tokens");
                }

                if (InferenceRequest.OptionalInt(config, "budget_tokens") is not { } budget)
                {
                    throw OpenAIErrorException.InvalidRequest("thinking.enabled.budget_tokens: Input should be a valid integer.", "thinking.budget_tokens");
                }

                if (budget < MinThinkingBudget)
                {
                    throw OpenAIErrorException.InvalidRequest($"thinking.enabled.budget_tokens: Input should be greater than or equal to {MinThinkingBudget}, got {budget}.", "thinking.budget_tokens");
                }

                if (maxTokens is { } max && budget >= max)
                {
                    throw OpenAIErrorException.InvalidRequest($"max_tokens must be greater than thinking.budget_tokens ({budget}), got {max}.", "thinking.budget_tokens");
                }

                // The chat API knows efforts, not budgets: the budget picks the effort an upstream is asked for.
                return budget < 4096 ? "low" : budget < 16384 ? "medium" : "high";
            default:
                throw OpenAIErrorException.InvalidRequest($"thinking.type: '{InferenceRequest.Truncate(type, 32)}' is not one of 'enabled', 'disabled', 'adaptive'.", "thinking.type");
        }
    }

    private static JsonArray StopSequences(JsonNode stops)
    {
        if (stops is not JsonArray array)
        {
            throw OpenAIErrorException.InvalidRequest("stop_sequences: Input should be a valid list.", "stop_sequences");
        }

        if (array.Count > 4)
        {
            throw OpenAIErrorException.InvalidRequest($"stop_sequences: this gateway accepts at most 4 sequences, got {array.Count}.", "stop_sequences");
        }

        var result = new JsonArray();
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length == 0)
            {
                throw OpenAIErrorException.InvalidRequest($"stop_sequences.{i}: must be a non-empty string.", "stop_sequences");
            }

            result.Add(s);
        }

        return result;
    }

    private static string SystemText(JsonNode system)
    {
        switch (system)
        {
            case JsonValue value when value.TryGetValue<string>(out var text):
                return text;
            case JsonArray blocks:
                var builder = new StringBuilder();
                for (var i = 0; i < blocks.Count; i++)
                {
                    if (blocks[i] is not JsonObject block || block["type"] is not JsonValue type || !type.TryGetValue<string>(out var typeText) || typeText != "text"
                        || block["text"] is not JsonValue t || !t.TryGetValue<string>(out var blockText))
                    {
                        throw OpenAIErrorException.InvalidRequest($"system.{i}: must be a text block {{\"type\":\"text\",\"text\":...}}.", "system");
                    }

                    if (builder.Length > 0)
                    {
                        builder.Append('\n');
                    }

                    builder.Append(blockText);
                }

                return builder.ToString();
            default:
                throw OpenAIErrorException.InvalidRequest("system: must be a string or a list of text blocks.", "system");
        }
    }

    private static JsonObject Turn(JsonNode? node, string param)
    {
        if (node is not JsonObject turn)
        {
            throw OpenAIErrorException.InvalidRequest($"{param}: must be an object.", param);
        }

        var role = turn["role"] is JsonValue r && r.TryGetValue<string>(out var roleText) ? roleText : null;
        if (role is not ("user" or "assistant"))
        {
            throw OpenAIErrorException.InvalidRequest($"{param}.role: must be 'user' or 'assistant'.", $"{param}.role");
        }

        var message = new JsonObject { ["role"] = role };
        switch (turn["content"])
        {
            case JsonValue value when value.TryGetValue<string>(out var text):
                message["content"] = text;
                return message;
            case JsonArray blocks:
                var content = new StringBuilder();
                var reasoning = new StringBuilder();
                for (var i = 0; i < blocks.Count; i++)
                {
                    Block(blocks[i], $"{param}.content.{i}", role, content, reasoning, message);
                }

                message["content"] = content.ToString();
                if (reasoning.Length > 0)
                {
                    message["reasoning_content"] = reasoning.ToString();
                }

                return message;
            default:
                throw OpenAIErrorException.InvalidRequest($"{param}.content: must be a string or a list of content blocks.", $"{param}.content");
        }
    }

    private static void Block(JsonNode? node, string param, string role, StringBuilder content, StringBuilder reasoning, JsonObject message)
    {
        if (node is not JsonObject block || block["type"] is not JsonValue typeValue || !typeValue.TryGetValue<string>(out var type))
        {
            throw OpenAIErrorException.InvalidRequest($"{param}: must be a content block object with a 'type'.", param);
        }

        switch (type)
        {
            case "text":
                if (block["text"] is not JsonValue t || !t.TryGetValue<string>(out var text))
                {
                    throw OpenAIErrorException.InvalidRequest($"{param}.text: Field required.", $"{param}.text");
                }

                if (content.Length > 0)
                {
                    content.Append('\n');
                }

                content.Append(text);
                return;
            case "thinking" when role == "assistant":
                if (block["thinking"] is not JsonValue th || !th.TryGetValue<string>(out var thought))
                {
                    throw OpenAIErrorException.InvalidRequest($"{param}.thinking: Input should be a valid string.", $"{param}.thinking");
                }

                if (block["signature"] is { } signatureNode && signatureNode.GetValueKind() != System.Text.Json.JsonValueKind.Null
                    && (signatureNode is not JsonValue sv || !sv.TryGetValue<string>(out _)))
                {
                    throw OpenAIErrorException.InvalidRequest($"{param}.signature: Input should be a valid string.", $"{param}.signature");
                }

                if ((string?)block["signature"] is { Length: > 0 } signature)
                {
                    // A signature this gateway gave is the sealed trace: the pipeline checks the block against it and
                    // sends the upstream the trace it sealed.
                    var signed = message[ApiTranslation.SignedReasoningField] as JsonArray ?? [];
                    signed.Add(new JsonObject { ["thinking"] = thought, ["signature"] = signature, ["param"] = $"{param}.signature" });
                    message[ApiTranslation.SignedReasoningField] = signed;
                    return;
                }

                reasoning.Append(thought);
                return;
            case "redacted_thinking" when role == "assistant":
                if (block["data"] is not JsonValue d || !d.TryGetValue<string>(out var data) || data.Length == 0)
                {
                    throw OpenAIErrorException.InvalidRequest($"{param}.data: Field required.", $"{param}.data");
                }

                // Verified and opened by the chat pipeline (the sealed-reasoning extension field).
                message[ApiTranslation.SealedReasoningField] = data;
                return;
            case "thinking" or "redacted_thinking":
                throw OpenAIErrorException.InvalidRequest($"{param}: '{type}' blocks belong to assistant turns.", param);
            default:
                if (s_unsupportedBlocks.Contains(type))
                {
                    throw OpenAIErrorException.InvalidRequest($"{param}.type: '{type}' content blocks are not served by this gateway.", $"{param}.type", "unsupported_content_block");
                }

                throw OpenAIErrorException.InvalidRequest($"{param}.type: unknown content block type '{InferenceRequest.Truncate(type, 32)}'.", $"{param}.type", "unknown_content_block");
        }
    }

    /// <summary>The Messages stop reason for a chat finish reason.</summary>
    internal static string StopReason(string? finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };
}
