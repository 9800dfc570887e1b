using System.Text;
using System.Text.Json;
using DistillGuard.Gateway.Observability;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Usage;
using DistillGuard.Gateway.Watermarking;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Answers;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.LanguageModels.Topics;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Inference;

/// <summary>Serves the built-in n-gram model (by default <c>dg-teacher</c>) through the OpenAI API shapes.</summary>
internal sealed class BuiltInBackend(ILanguageModel model, string modelId, TextTokenizer tokenizer, GatewayMetrics metrics, TimeProvider time, IWatermarkPolicy? watermark = null) : IModelBackend
{
    private readonly TextGenerator _generator = new(model, tokenizer);

    public string Name => "built-in";

    public IReadOnlyList<string> Models { get; } = [modelId];

    public async Task HandleAsync(HttpContext context, InferenceRequest request, RequestUsage usage)
    {
        // Generation is CPU-bound for milliseconds: leave the socket thread (inline scheduling) for the thread pool.
        await Task.Yield();
        IReadOnlyList<int> promptTokens = request.Kind == InferenceKind.Chat
            ? [.. tokenizer.Encode(PromptText(request)), TextTokenizer.EndOfText]
            : tokenizer.Encode(PromptText(request));
        usage.PromptTokens = promptTokens.Count;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var id = (request.Kind == InferenceKind.Chat ? "chatcmpl-" : "cmpl-") + usage.RequestId[4..];
        var ct = context.RequestAborted;
        // A chat answer is on the question's topic and as long as the question calls for; a completion continues its prompt.
        var topic = request.Kind == InferenceKind.Chat ? TopicIndex.Shipped.BiasFor(Question(request), model, tokenizer) : null;

        if (request.Stream)
        {
            await StreamAsync(context, request, usage, promptTokens, id, created, topic, ct);
            return;
        }

        // Legacy echo with logprobs also scores the prompt itself (max_tokens 0 asks for nothing else).
        var echoed = request.Kind == InferenceKind.Completion && request.Echo && request.Logprobs
            ? PromptLogprobs.Score(model, _generator, tokenizer, promptTokens, request.TopLogprobs, ct)
            : null;
        var choices = new List<Choice>(request.N);
        for (var i = 0; i < request.N; i++)
        {
            var choice = new Choice(i);
            if (request.MaxTokens != 0)
            {
                foreach (var step in _generator.Generate(ToGeneration(request, promptTokens, i, usage, topic), ct))
                {
                    choice.Add(step);
                }
            }

            usage.CompletionTokens += choice.TokenCount;
            choices.Add(choice);
        }

        usage.FinishReason = choices[0].FinishReason;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        if (request.Kind == InferenceKind.Chat)
        {
            WriteChatCompletion(writer, request, id, created, choices, usage);
        }
        else
        {
            WriteTextCompletion(writer, request, id, created, choices, usage, echoed);
        }

        await writer.FlushAsync(ct);
    }

    private async Task StreamAsync(HttpContext context, InferenceRequest request, RequestUsage usage, IReadOnlyList<int> promptTokens, string id, long created, TopicBias? topic, CancellationToken ct)
    {
        using var sse = new ServerSentEventWriter(context.Response);
        await sse.StartAsync(ct);
        var chat = request.Kind == InferenceKind.Chat;
        var header = new ChunkHeader(id, chat ? "chat.completion.chunk" : "text_completion", created, Models[0], request.IncludeUsage);

        for (var i = 0; i < request.N; i++)
        {
            if (chat)
            {
                await sse.WriteEventAsync((header, i), static (w, s) => WriteChatChunk(w, s.header, s.i, role: true, text: "", tokens: null, finish: null), ct);
            }

            string? finish = null;
            foreach (var step in _generator.Generate(ToGeneration(request, promptTokens, i, usage, topic), ct))
            {
                usage.CompletionTokens += step.Tokens.Count;
                usage.FlushTokenMeter();
                finish = step.FinishReason;
                if (step.Text.Length == 0 && !(request.Logprobs && step.Tokens.Count > 0))
                {
                    continue;
                }

                if (usage.TimeToFirstTokenMs is null)
                {
                    var elapsed = time.GetElapsedTime(usage.StartTimestamp);
                    usage.TimeToFirstTokenMs = elapsed.TotalMilliseconds;
                    metrics.RecordFirstToken(Models[0], elapsed);
                }

                var tokens = request.Logprobs ? step.Tokens : null;
                var state = (header, i, step.Text, tokens, request.TopLogprobs);
                if (chat)
                {
                    await sse.WriteEventAsync(state, static (w, s) => WriteChatChunk(w, s.header, s.i, role: false, s.Text, s.tokens, finish: null, s.TopLogprobs), ct);
                }
                else
                {
                    await sse.WriteEventAsync(state, static (w, s) => WriteTextChunk(w, s.header, s.i, s.Text, s.tokens, finish: null, s.TopLogprobs), ct);
                }
            }

            finish ??= "length";
            usage.FinishReason ??= finish;
            if (chat)
            {
                await sse.WriteEventAsync((header, i, finish), static (w, s) => WriteChatChunk(w, s.header, s.i, role: false, text: null, tokens: null, s.finish), ct);
            }
            else
            {
                await sse.WriteEventAsync((header, i, finish), static (w, s) => WriteTextChunk(w, s.header, s.i, "", tokens: null, s.finish), ct);
            }
        }

        if (request.IncludeUsage)
        {
            await sse.WriteEventAsync((header, usage.PromptTokens, usage.CompletionTokens), static (w, s) =>
            {
                WriteChunkStart(w, s.header, includeUsageNull: false);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                WriteUsage(w, s.PromptTokens, s.CompletionTokens);
                w.WriteEndObject();
            }, ct);
        }

        await sse.WriteDoneAsync(ct);
    }

    private GenerationRequest ToGeneration(InferenceRequest request, IReadOnlyList<int> promptTokens, int choiceIndex, RequestUsage usage, TopicBias? topic) => new()
    {
        PromptTokens = promptTokens,
        Plan = request.Kind == InferenceKind.Chat
            ? AnswerLength.Plan(Question(request), request.MaxTokens ?? DefaultMaxTokens, Math.Min(request.MinTokens, request.MaxTokens ?? DefaultMaxTokens),
                request.Seed is { } lengthSeed ? lengthSeed + choiceIndex : Random.Shared.NextInt64())
            : null,
        Topic = topic,
        MaxTokens = request.MaxTokens ?? DefaultMaxTokens,
        MinTokens = Math.Min(request.MinTokens, request.MaxTokens ?? DefaultMaxTokens),
        Temperature = (float)(request.Temperature ?? 1.0),
        // top_p 0 is legal in the API and means "only the likeliest token"; the sampler needs a positive mass.
        TopP = (float)Math.Max(request.TopP ?? 1.0, 1e-6),
        Seed = request.Seed is { } seed ? seed + choiceIndex : null,
        Stop = request.Stop,
        Logprobs = request.Logprobs,
        TopLogprobs = request.TopLogprobs,
        // The policy picks the watermark per account (the configured one by default); it leaves greedy requests alone.
        LogitsProcessor = watermark?.ProcessorFor(usage.Caller?.Account.Id),
    };

    /// <summary>Completion length when the request names none (set from the gateway's limits).</summary>
    public int DefaultMaxTokens { get; init; } = 256;

    /// <summary>What the answer's length and topic are decided on: the last user message (else the whole conversation).</summary>
    internal static string Question(InferenceRequest request) =>
        request.Messages.LastOrDefault(m => m.Role == "user" && m.Content.Length > 0)?.Content ?? PromptText(request);

    /// <summary>What the n-gram model is conditioned on: the conversation's text, newest last.</summary>
    /// <remarks>
    /// A completion continues its prompt. A chat answer starts a new paragraph after the conversation (the
    /// caller appends the boundary token), so it begins like a sentence and does not end before it starts.
    /// Roles: an n-gram model reads only its last few tokens, so roles carry no signal; the text does. Messages are
    /// joined by spaces because the training corpus has no newline tokens (paragraphs end with the boundary token).
    /// </remarks>
    internal static string PromptText(InferenceRequest request)
    {
        if (request.Kind == InferenceKind.Completion)
        {
            return request.Prompt;
        }

        var builder = new StringBuilder();
        foreach (var message in request.Messages)
        {
            if (message.Content.Length == 0)
            {
                continue;
            }

            if (builder.Length > 0)
            {
                builder.Append(' ');
            }

            builder.Append(message.Content.Trim());
        }

        return builder.ToString();
    }

    private sealed class Choice(int index)
    {
        private readonly StringBuilder _text = new();

        public int Index { get; } = index;
        public List<GeneratedToken> Tokens { get; } = [];
        public int TokenCount { get; private set; }
        public string FinishReason { get; private set; } = "length";
        public string Text => _text.ToString();

        public void Add(GenerationStep step)
        {
            _text.Append(step.Text);
            Tokens.AddRange(step.Tokens);
            TokenCount += step.Tokens.Count;
            if (step.FinishReason is { } finish)
            {
                FinishReason = finish;
            }
        }
    }

    private readonly record struct ChunkHeader(string Id, string Object, long Created, string Model, bool IncludeUsage);

    private static void WriteChunkStart(Utf8JsonWriter w, ChunkHeader header, bool includeUsageNull)
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

    private static void WriteChatChunk(Utf8JsonWriter w, ChunkHeader header, int index, bool role, string? text, IReadOnlyList<GeneratedToken>? tokens, string? finish, int topLogprobs = 0)
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

    private static void WriteTextChunk(Utf8JsonWriter w, ChunkHeader header, int index, string text, IReadOnlyList<GeneratedToken>? tokens, string? finish, int topLogprobs = 0)
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

    private static void WriteChatCompletion(Utf8JsonWriter w, InferenceRequest request, string id, long created, List<Choice> choices, RequestUsage usage)
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

    private void WriteTextCompletion(Utf8JsonWriter w, InferenceRequest request, string id, long created, List<Choice> choices, RequestUsage usage, PromptToken[]? echoed)
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

    private static void WriteResponseStart(Utf8JsonWriter w, string id, string objectType, long created, string model)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", objectType);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteStartArray("choices");
    }

    private static void WriteChatLogprobContent(Utf8JsonWriter w, IReadOnlyList<GeneratedToken> tokens, int topLogprobs)
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

    private static void WriteLegacyLogprobs(Utf8JsonWriter w, IReadOnlyList<GeneratedToken> tokens, int topLogprobs, int textOffset, PromptToken[]? echoed = null, TextTokenizer? tokenizer = null)
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

    private static void WriteAlternatives(Utf8JsonWriter w, IReadOnlyList<TokenLogProbability> alternatives, int topLogprobs)
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

    private static void WriteTokenFields(Utf8JsonWriter w, string text, float logProb, ReadOnlySpan<byte> bytes)
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

    private static void WriteFinish(Utf8JsonWriter w, string? finish)
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

    private static void WriteUsage(Utf8JsonWriter w, int promptTokens, int completionTokens)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", promptTokens);
        w.WriteNumber("completion_tokens", completionTokens);
        w.WriteNumber("total_tokens", promptTokens + completionTokens);
        w.WriteEndObject();
    }
}
