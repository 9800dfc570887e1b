using System.Text.Json;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Usage;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Gateway.Inference;

/// <summary>The OpenAI response shapes of the built-in model: completions, chat completions, their stream chunks and logprobs.</summary>
internal static class BuiltInResponseWriter
{
    internal readonly record struct ChunkHeader(string Id, string Object, long Created, string Model, bool IncludeUsage);

    internal static void WriteChunkStart(Utf8JsonWriter w, ChunkHeader header, bool includeUsageNull)
    {
        w.WriteStartObject();
        w.WriteString("id", header.Id);
        w.WriteString("object", header.Object);
        w.WriteNumber("created", header.Created);
        w.WriteString("model", header.Model);
        if (includeUsageNull && header.IncludeUsage)
        {
            w.WriteNull("usage");
        }
    }

    internal static void WriteChatChunk(Utf8JsonWriter w, ChunkHeader header, int index, bool role, string? text, IReadOnlyList<GeneratedToken>? tokens, string? finish, int topLogprobs = 0)
    {
        WriteChunkStart(w, header, includeUsageNull: true);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        w.WriteStartObject("delta");
        if (role)
        {
            w.WriteString("role", "assistant");
        }

        if (text is not null)
        {
            w.WriteString("content", text);
        }

        w.WriteEndObject();
        if (tokens is null)
        {
            w.WriteNull("logprobs");
        }
        else
        {
            w.WriteStartObject("logprobs");
            WriteChatLogprobContent(w, tokens, topLogprobs);
            w.WriteEndObject();
        }

        WriteFinish(w, finish);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static void WriteTextChunk(Utf8JsonWriter w, ChunkHeader header, int index, string text, IReadOnlyList<GeneratedToken>? tokens, string? finish, int topLogprobs = 0)
    {
        WriteChunkStart(w, header, includeUsageNull: true);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteString("text", text);
        w.WriteNumber("index", index);
        if (tokens is null)
        {
            w.WriteNull("logprobs");
        }
        else
        {
            WriteLegacyLogprobs(w, tokens, topLogprobs, textOffset: 0);
        }

        WriteFinish(w, finish);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static void WriteChatCompletion(Utf8JsonWriter w, InferenceRequest request, string id, long created, List<BuiltInBackend.Choice> choices, RequestUsage usage)
    {
        WriteResponseStart(w, id, "chat.completion", created, request.Model);
        foreach (var choice in choices)
        {
            w.WriteStartObject();
            w.WriteNumber("index", choice.Index);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", choice.Text);
            w.WriteNull("refusal");
            w.WriteEndObject();
            if (request.Logprobs)
            {
                w.WriteStartObject("logprobs");
                WriteChatLogprobContent(w, choice.Tokens, request.TopLogprobs);
                w.WriteNull("refusal");
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("logprobs");
            }

            w.WriteString("finish_reason", choice.FinishReason);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteUsage(w, usage.PromptTokens, usage.CompletionTokens);
        w.WriteEndObject();
    }

    internal static void WriteTextCompletion(Utf8JsonWriter w, InferenceRequest request, string id, long created, List<BuiltInBackend.Choice> choices, RequestUsage usage, PromptToken[]? echoed, TextTokenizer tokenizer)
    {
        WriteResponseStart(w, id, "text_completion", created, request.Model);
        foreach (var choice in choices)
        {
            w.WriteStartObject();
            var prefix = request.Echo ? request.Prompt : "";
            w.WriteString("text", prefix + choice.Text);
            w.WriteNumber("index", choice.Index);
            if (request.Logprobs)
            {
                WriteLegacyLogprobs(w, choice.Tokens, request.TopLogprobs, textOffset: prefix.Length, echoed, tokenizer);
            }
            else
            {
                w.WriteNull("logprobs");
            }

            w.WriteString("finish_reason", choice.FinishReason);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteUsage(w, usage.PromptTokens, usage.CompletionTokens);
        w.WriteEndObject();
    }

    internal static void WriteResponseStart(Utf8JsonWriter w, string id, string objectType, long created, string model)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", objectType);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteStartArray("choices");
    }

    internal static void WriteChatLogprobContent(Utf8JsonWriter w, IReadOnlyList<GeneratedToken> tokens, int topLogprobs)
    {
        w.WriteStartArray("content");
        foreach (var token in tokens)
        {
            w.WriteStartObject();
            WriteTokenFields(w, token.Text, token.LogProbability, token.Bytes.Span);
            w.WriteStartArray("top_logprobs");
            var count = Math.Min(topLogprobs, token.TopLogProbabilities.Count);
            for (var k = 0; k < count; k++)
            {
                var alternative = token.TopLogProbabilities[k];
                w.WriteStartObject();
                WriteTokenFields(w, alternative.Text, alternative.LogProbability, TextTokenizer.Gpt2.GetTokenBytes(alternative.Id).Span);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    internal static void WriteLegacyLogprobs(Utf8JsonWriter w, IReadOnlyList<GeneratedToken> tokens, int topLogprobs, int textOffset, PromptToken[]? echoed = null, TextTokenizer? tokenizer = null)
    {
        // With echo the prompt's tokens come first: the first one has no log-probability (null, as in OpenAI's API).
        echoed ??= [];
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        foreach (var token in echoed)
        {
            w.WriteStringValue(tokenizer!.GetTokenText(token.Id));
        }

        foreach (var token in tokens)
        {
            w.WriteStringValue(token.Text);
        }

        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var token in echoed)
        {
            if (token.LogProbability is { } logProbability)
            {
                w.WriteNumberValue(logProbability);
            }
            else
            {
                w.WriteNullValue();
            }
        }

        foreach (var token in tokens)
        {
            w.WriteNumberValue(token.LogProbability);
        }

        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        for (var i = 0; i < echoed.Length; i++)
        {
            if (i == 0)
            {
                w.WriteNullValue();
            }
            else
            {
                WriteAlternatives(w, echoed[i].Top, topLogprobs);
            }
        }

        foreach (var token in tokens)
        {
            WriteAlternatives(w, token.TopLogProbabilities, topLogprobs);
        }

        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        var promptOffset = 0;
        foreach (var token in echoed)
        {
            w.WriteNumberValue(promptOffset);
            promptOffset += tokenizer!.GetTokenText(token.Id).Length;
        }

        var offset = textOffset;
        foreach (var token in tokens)
        {
            w.WriteNumberValue(offset);
            offset += token.Text.Length;
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static void WriteAlternatives(Utf8JsonWriter w, IReadOnlyList<TokenLogProbability> alternatives, int topLogprobs)
    {
        w.WriteStartObject();
        var count = Math.Min(topLogprobs, alternatives.Count);
        for (var k = 0; k < count; k++)
        {
            // Two alternatives can decode to the same text (different byte fragments); keep the first, JSON keys must be unique.
            var alternative = alternatives[k];
            var duplicate = false;
            for (var j = 0; j < k; j++)
            {
                duplicate |= alternatives[j].Text == alternative.Text;
            }

            if (!duplicate)
            {
                w.WriteNumber(alternative.Text, alternative.LogProbability);
            }
        }

        w.WriteEndObject();
    }

    internal static void WriteTokenFields(Utf8JsonWriter w, string text, float logProb, ReadOnlySpan<byte> bytes)
    {
        w.WriteString("token", text);
        w.WriteNumber("logprob", logProb);
        w.WriteStartArray("bytes");
        foreach (var b in bytes)
        {
            w.WriteNumberValue(b);
        }

        w.WriteEndArray();
    }

    internal static void WriteFinish(Utf8JsonWriter w, string? finish)
    {
        if (finish is null)
        {
            w.WriteNull("finish_reason");
        }
        else
        {
            w.WriteString("finish_reason", finish);
        }
    }

    internal static void WriteUsage(Utf8JsonWriter w, int promptTokens, int completionTokens)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", promptTokens);
        w.WriteNumber("completion_tokens", completionTokens);
        w.WriteNumber("total_tokens", promptTokens + completionTokens);
        w.WriteEndObject();
    }
}
