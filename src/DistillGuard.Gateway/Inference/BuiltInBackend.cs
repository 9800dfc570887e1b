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
using ChunkHeader = DistillGuard.Gateway.Inference.BuiltInResponseWriter.ChunkHeader;

namespace DistillGuard.Gateway.Inference;

/// <summary>Serves the built-in n-gram model (by default <c>dg-teacher</c>) through the OpenAI API shapes.</summary>
internal sealed class BuiltInBackend(ILanguageModel model, string modelId, TextTokenizer tokenizer, GatewayMetrics metrics, TimeProvider time, IWatermarkPolicy? watermark = null) : IModelBackend
{
    private readonly TextGenerator _generator = new(model, tokenizer);

    public string Name => "built-in";

    public IReadOnlyList<string> Models { get; } = [modelId];

    /// <summary>Shares the model between accounts; one per gateway.</summary>
    public FairScheduler Scheduler { get; init; } = new(Environment.ProcessorCount);

    /// <summary>Tokens generated per turn on the scheduler before the slot is offered to another account.</summary>
    internal const int TokensPerTurn = 16;

    public async Task HandleAsync(HttpContext context, InferenceRequest request, RequestUsage usage)
    {
        // Refused rather than ignored: a client asking for these would otherwise read the answer as if they had applied.
        if (request.PromptLogprobs is not null)
        {
            throw OpenAIErrorException.InvalidRequest(
                $"'prompt_logprobs' is not supported by the model '{modelId}'; score a prompt with /v1/completions, 'echo' and 'logprobs'.", "prompt_logprobs");
        }

        if (request.BestOf > request.N)
        {
            throw OpenAIErrorException.InvalidRequest($"'best_of' greater than 'n' is not supported by the model '{modelId}'.", "best_of");
        }

        // Generation is CPU-bound for milliseconds: leave the socket thread (inline scheduling) for the thread pool.
        await Task.Yield();
        IReadOnlyList<int> promptTokens = request.Kind == InferenceKind.Chat
            ? [.. tokenizer.Encode(PromptText(request)), TextTokenizer.EndOfText]
            : tokenizer.Encode(PromptText(request));
        usage.PromptTokens = promptTokens.Count;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var id = (request.Kind == InferenceKind.Chat ? "chatcmpl-" : "cmpl-") + usage.RequestId[4..];
        var ct = context.RequestAborted;
        var account = usage.Caller?.Account.Id ?? "";
        // A chat answer is on the question's topic and as long as the question calls for; a completion continues its prompt.
        var topic = request.Kind == InferenceKind.Chat ? TopicIndex.Shipped.BiasFor(Question(request), model, tokenizer) : null;

        if (request.Stream)
        {
            await StreamAsync(context, request, usage, promptTokens, id, created, account, topic, ct);
            return;
        }

        // The whole answer is computed holding a slot (offered to others every few tokens), then written without one.
        PromptToken[]? echoed = null;
        var choices = new List<Choice>(request.N);
        await Scheduler.AcquireAsync(account, ct);
        var held = true;
        try
        {
            // Legacy echo with logprobs also scores the prompt itself (max_tokens 0 asks for nothing else).
            if (request.Kind == InferenceKind.Completion && request.Echo && request.Logprobs)
            {
                echoed = PromptLogprobs.Score(model, _generator, tokenizer, promptTokens, request.TopLogprobs, ct);
            }

            for (var i = 0; i < request.N; i++)
            {
                var choice = new Choice(i);
                if (request.MaxTokens != 0)
                {
                    var steps = 0;
                    foreach (var step in _generator.Generate(ToGeneration(request, promptTokens, i, usage, topic), ct))
                    {
                        choice.Add(step);
                        if (++steps % TokensPerTurn == 0)
                        {
                            held = false;
                            await Scheduler.YieldAsync(account, ct);
                            held = true;
                        }
                    }
                }

                usage.CompletionTokens += choice.TokenCount;
                choices.Add(choice);
            }
        }
        finally
        {
            if (held)
            {
                Scheduler.Release();
            }
        }

        usage.FinishReason = choices[0].FinishReason;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        if (request.Kind == InferenceKind.Chat)
        {
            BuiltInResponseWriter.WriteChatCompletion(writer, request, id, created, choices, usage);
        }
        else
        {
            BuiltInResponseWriter.WriteTextCompletion(writer, request, id, created, choices, usage, echoed, tokenizer);
        }

        await writer.FlushAsync(ct);
        usage.Completed = true;
    }

    private async Task StreamAsync(HttpContext context, InferenceRequest request, RequestUsage usage, IReadOnlyList<int> promptTokens, string id, long created, string account, TopicBias? topic, CancellationToken ct)
    {
        using var sse = new ServerSentEventWriter(context.Response);
        await sse.StartAsync(ct);
        var chat = request.Kind == InferenceKind.Chat;
        var header = new ChunkHeader(id, chat ? "chat.completion.chunk" : "text_completion", created, Models[0], request.IncludeUsage);
        var turn = new List<GenerationStep>(TokensPerTurn);

        for (var i = 0; i < request.N; i++)
        {
            if (chat)
            {
                await sse.WriteEventAsync((header, i), static (w, s) => BuiltInResponseWriter.WriteChatChunk(w, s.header, s.i, role: true, text: "", tokens: null, finish: null), ct);
            }

            string? finish = null;
            using var steps = _generator.Generate(ToGeneration(request, promptTokens, i, usage, topic), ct).GetEnumerator();
            var more = true;
            while (more)
            {
                // A turn: a few tokens computed holding a slot, then written without it (a slow reader holds no slot).
                turn.Clear();
                await Scheduler.AcquireAsync(account, ct);
                try
                {
                    while (turn.Count < TokensPerTurn && (more = steps.MoveNext()))
                    {
                        turn.Add(steps.Current);
                    }
                }
                finally
                {
                    Scheduler.Release();
                }

                foreach (var step in turn)
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
                        await sse.WriteEventAsync(state, static (w, s) => BuiltInResponseWriter.WriteChatChunk(w, s.header, s.i, role: false, s.Text, s.tokens, finish: null, s.TopLogprobs), ct);
                    }
                    else
                    {
                        await sse.WriteEventAsync(state, static (w, s) => BuiltInResponseWriter.WriteTextChunk(w, s.header, s.i, s.Text, s.tokens, finish: null, s.TopLogprobs), ct);
                    }
                }
            }

            finish ??= "length";
            usage.FinishReason ??= finish;
            if (chat)
            {
                await sse.WriteEventAsync((header, i, finish), static (w, s) => BuiltInResponseWriter.WriteChatChunk(w, s.header, s.i, role: false, text: null, tokens: null, s.finish), ct);
            }
            else
            {
                await sse.WriteEventAsync((header, i, finish), static (w, s) => BuiltInResponseWriter.WriteTextChunk(w, s.header, s.i, "", tokens: null, s.finish), ct);
            }
        }

        if (request.IncludeUsage)
        {
            await sse.WriteEventAsync((header, usage.PromptTokens, usage.CompletionTokens), static (w, s) =>
            {
                BuiltInResponseWriter.WriteChunkStart(w, s.header, includeUsageNull: false);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                BuiltInResponseWriter.WriteUsage(w, s.PromptTokens, s.CompletionTokens);
                w.WriteEndObject();
            }, ct);
        }

        await sse.WriteDoneAsync(ct);
        usage.Completed = true;
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

    internal sealed class Choice(int index)
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

}
