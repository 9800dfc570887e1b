using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Inference;

namespace DistillGuard.Gateway.Policy;

/// <summary>
/// Removes reasoning traces from an upstream's answer — <c>reasoning_content</c>/<c>reasoning</c> fields and
/// <c>&lt;think&gt;</c> blocks — or, when given a seal, replaces them with the sealed blob in the
/// <c>reasoning_encrypted</c> extension field, so only the gateway can read them when the client sends them back.
/// </summary>
/// <remarks>
/// One instance per streamed response (it remembers open think blocks and unsealed reasoning per choice); not
/// thread-safe. A stream's reasoning is held until the choice's answer text (or its end) arrives and then sent as one
/// blob just before that text: what is held is what the client could not read anyway.
/// </remarks>
internal sealed class ReasoningStripper(Func<string, string>? seal = null)
{
    private static readonly string[] s_reasoningFields = ["reasoning_content", "reasoning", "reasoning_details"];
    private readonly Dictionary<int, (ThinkBlockFilter Filter, StringBuilder Reasoning)> _choices = [];

    /// <summary>A whole (non-streamed) completion without readable reasoning.</summary>
    public static byte[] StripCompletion(byte[] payload, Func<string, string>? seal = null)
    {
        if (JsonNode.Parse(payload) is not JsonObject root || root["choices"] is not JsonArray choices)
        {
            return payload;
        }

        foreach (var choice in choices.OfType<JsonObject>())
        {
            var reasoning = seal is null ? null : new StringBuilder();
            if (choice["message"] is JsonObject message)
            {
                RemoveReasoning(message, reasoning);
                StripWhole(message, "content", reasoning);
                SealInto(message, reasoning, seal);
            }

            StripWhole(choice, "text", reasoning);
            SealInto(choice, reasoning, seal);
        }

        return JsonSerializer.SerializeToUtf8Bytes(root, GatewayJsonContext.Default.JsonObject);
    }

    /// <summary>One stream chunk without readable reasoning, or null when nothing is left worth sending.</summary>
    public string? StripChunk(string data)
    {
        JsonObject? root;
        try
        {
            root = JsonNode.Parse(data) as JsonObject;
        }
        catch (JsonException)
        {
            return data;
        }

        if (root?["choices"] is not JsonArray choices)
        {
            return data;
        }

        var meaningful = root["usage"] is JsonObject || choices.Count == 0;
        for (var i = 0; i < choices.Count; i++)
        {
            if (choices[i] is not JsonObject choice)
            {
                continue;
            }

            var index = choice["index"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : i;
            if (!_choices.TryGetValue(index, out var state))
            {
                _choices[index] = state = (new ThinkBlockFilter(), new StringBuilder());
            }

            var reasoning = seal is null ? null : state.Reasoning;
            var finished = choice["finish_reason"] is JsonValue;
            meaningful |= finished;
            var visible = false;
            if (choice["delta"] is JsonObject delta)
            {
                RemoveReasoning(delta, reasoning);
                visible |= StripPiece(delta, "content", state.Filter, reasoning, finished);
                meaningful |= delta.ContainsKey("role") || delta.ContainsKey("tool_calls") || delta.ContainsKey("function_call") || delta.ContainsKey("refusal");
            }

            visible |= StripPiece(choice, "text", state.Filter, reasoning, finished);
            meaningful |= visible;
            if ((visible || finished) && reasoning is { Length: > 0 })
            {
                // The reasoning so far ends where the answer begins: it goes out sealed, ahead of the answer's text.
                var holder = choice["delta"] as JsonObject ?? (choice.ContainsKey("text") ? choice : (JsonObject)(choice["delta"] = new JsonObject()));
                SealInto(holder, reasoning, seal);
                meaningful = true;
            }
        }

        return meaningful ? root.ToJsonString() : null;
    }

    private static bool StripPiece(JsonObject holder, string field, ThinkBlockFilter filter, StringBuilder? reasoning, bool finished)
    {
        if (holder[field] is not JsonValue value || !value.TryGetValue<string>(out var text))
        {
            return false;
        }

        var visible = filter.Filter(text, reasoning) + (finished ? filter.Flush(reasoning) : "");
        holder[field] = visible;
        return visible.Length > 0;
    }

    private static void StripWhole(JsonObject holder, string field, StringBuilder? reasoning)
    {
        if (holder[field] is JsonValue value && value.TryGetValue<string>(out var text))
        {
            var filter = new ThinkBlockFilter();
            holder[field] = filter.Filter(text, reasoning) + filter.Flush(reasoning);
        }
    }

    private static void RemoveReasoning(JsonObject holder, StringBuilder? reasoning)
    {
        // Servers that send the trace under two names (vLLM's reasoning and reasoning_content, OpenRouter's
        // reasoning_details beside its text) repeat it: the first text field is the trace, the rest are removed.
        var taken = false;
        foreach (var field in s_reasoningFields)
        {
            if (reasoning is not null && !taken && holder[field] is JsonValue value && value.TryGetValue<string>(out var text))
            {
                reasoning.Append(text);
                taken = true;
            }

            holder.Remove(field);
        }
    }

    private static void SealInto(JsonObject holder, StringBuilder? reasoning, Func<string, string>? seal)
    {
        if (seal is not null && reasoning is { Length: > 0 })
        {
            holder[ApiTranslation.SealedReasoningField] = seal(reasoning.ToString());
            reasoning.Clear();
        }
    }
}
