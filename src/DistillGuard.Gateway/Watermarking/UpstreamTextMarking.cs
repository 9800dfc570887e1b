using System.Text.Json;
using System.Text.Json.Nodes;
using DistillGuard.Watermarking.Lexical;

namespace DistillGuard.Gateway.Watermarking;

/// <summary>Applies the lexical watermark to one upstream answer, streamed or whole, as the gateway relays it.</summary>
/// <remarks>
/// One instance per response; not thread-safe. Streaming holds back at most the word still being written per
/// choice and releases it with the choice's finish chunk, so the client sees the same text as without streaming.
/// A chunk that is not a JSON object with choices passes through untouched.
/// </remarks>
internal sealed class UpstreamTextMarking(LexicalWatermark watermark)
{
    private readonly Dictionary<int, LexicalStream> _streams = [];

    /// <summary>Marks the content of one SSE data payload.</summary>
    public string RewriteChunk(string data)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(data);
        }
        catch (JsonException)
        {
            return data;
        }

        if (root is not JsonObject { } chunk || chunk["choices"] is not JsonArray choices)
        {
            return data;
        }

        foreach (var choice in choices.OfType<JsonObject>())
        {
            var index = choice["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
            if (!_streams.TryGetValue(index, out var stream))
            {
                stream = watermark.CreateStream();
                _streams[index] = stream;
            }

            var finished = choice["finish_reason"]?.GetValueKind() == JsonValueKind.String;
            var (holder, field) = choice["delta"] is JsonObject delta ? (delta, "content") : (choice, "text");
            if (holder[field]?.GetValueKind() == JsonValueKind.String)
            {
                var marked = stream.Append(holder[field]!.GetValue<string>());
                holder[field] = finished ? marked + stream.Flush() : marked;
            }
            else if (finished && stream.Flush() is { Length: > 0 } rest)
            {
                holder[field] = rest;
            }
        }

        return root.ToJsonString();
    }

    /// <summary>Marks the message content (chat) or text (completion) of every choice of a whole JSON answer.</summary>
    public byte[] RewriteBody(byte[] payload)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(payload);
        }
        catch (JsonException)
        {
            return payload;
        }

        if (root is not JsonObject { } answer || answer["choices"] is not JsonArray choices)
        {
            return payload;
        }

        foreach (var choice in choices.OfType<JsonObject>())
        {
            var (holder, field) = choice["message"] is JsonObject message ? (message, "content") : (choice, "text");
            if (holder[field]?.GetValueKind() == JsonValueKind.String)
            {
                holder[field] = watermark.Mark(holder[field]!.GetValue<string>());
            }
        }

        return System.Text.Encoding.UTF8.GetBytes(root.ToJsonString());
    }
}
