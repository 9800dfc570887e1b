using System.Text.Json;
using System.Text.Json.Nodes;
using DistillGuard.Gateway.Hosting;

namespace DistillGuard.Gateway.Policy;

/// <summary>Removes reasoning traces from an upstream's answer: <c>reasoning_content</c>/<c>reasoning</c> fields and <c>&lt;think&gt;</c> blocks.</summary>
/// <remarks>One instance per streamed response (it remembers open think blocks per choice); not thread-safe.</remarks>
internal sealed class ReasoningStripper
{
    private static readonly string[] s_reasoningFields = ["reasoning_content", "reasoning", "reasoning_details"];
    private readonly Dictionary<int, ThinkBlockFilter> _filters = [];

    /// <summary>A whole (non-streamed) completion without reasoning.</summary>
    public static byte[] StripCompletion(byte[] payload)
    {
        if (JsonNode.Parse(payload) is not JsonObject root || root["choices"] is not JsonArray choices)
        {
            return payload;
        }

        foreach (var choice in choices.OfType<JsonObject>())
        {
            if (choice["message"] is JsonObject message)
            {
                RemoveReasoning(message);
                StripWhole(message, "content");
            }

            StripWhole(choice, "text");
        }

        return JsonSerializer.SerializeToUtf8Bytes(root, GatewayJsonContext.Default.JsonObject);
    }

    /// <summary>One stream chunk without reasoning, or null when nothing is left worth sending.</summary>
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
            var finished = choice["finish_reason"] is JsonValue;
            meaningful |= finished;
            if (choice["delta"] is JsonObject delta)
            {
                RemoveReasoning(delta);
                meaningful |= StripPiece(delta, "content", index, finished);
                meaningful |= delta.ContainsKey("role") || delta.ContainsKey("tool_calls") || delta.ContainsKey("function_call") || delta.ContainsKey("refusal");
            }

            meaningful |= StripPiece(choice, "text", index, finished);
        }

        return meaningful ? root.ToJsonString() : null;
    }

    private bool StripPiece(JsonObject holder, string field, int index, bool finished)
    {
        if (holder[field] is not JsonValue value || !value.TryGetValue<string>(out var text))
        {
            return false;
        }

        if (!_filters.TryGetValue(index, out var filter))
        {
            _filters[index] = filter = new ThinkBlockFilter();
        }

        var visible = filter.Filter(text) + (finished ? filter.Flush() : "");
        holder[field] = visible;
        return visible.Length > 0;
    }

    private static void StripWhole(JsonObject holder, string field)
    {
        if (holder[field] is JsonValue value && value.TryGetValue<string>(out var text))
        {
            var filter = new ThinkBlockFilter();
            holder[field] = filter.Filter(text) + filter.Flush();
        }
    }

    private static void RemoveReasoning(JsonObject holder)
    {
        foreach (var field in s_reasoningFields)
        {
            holder.Remove(field);
        }
    }
}
