using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistillGuard.Gateway.Hosting;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.OpenAI;

/// <summary>Which OpenAI endpoint a request came through.</summary>
public enum InferenceKind
{
    Chat,
    Completion,
}

/// <summary>One chat message, reduced to what a text model reads.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>A validated OpenAI inference request: the fields the gateway acts on, plus the body to forward.</summary>
public sealed class InferenceRequest
{
    private static readonly HashSet<string> s_roles = new(StringComparer.Ordinal) { "system", "developer", "user", "assistant", "tool", "function" };

    // What may reach an upstream is decided here, not inherited from whatever a client sends: the OpenAI parameters of
    // each endpoint, plus the vLLM extensions the gateway validates and caps (min_tokens, prompt_logprobs) and the
    // harmless vLLM sampling knobs (top_k, min_p, repetition_penalty), and vLLM's `watermarking` opt-out, which the
    // ingress rule strips or refuses for untrusted callers. Anything else is refused with a 400 naming it,
    // so that an extension the gateway does not understand (guided decoding, logits processors, token-id output)
    // cannot reach an upstream unchecked. docs/configuration.md lists these.
    private static readonly HashSet<string> s_shared = new(StringComparer.Ordinal)
    {
        "model", "stream", "stream_options", "n", "max_tokens", "max_completion_tokens", "min_tokens", "temperature", "top_p",
        "seed", "stop", "logprobs", "presence_penalty", "frequency_penalty", "logit_bias", "user", "prompt_logprobs",
        "top_k", "min_p", "repetition_penalty",

        // vLLM's per-request watermark opt-out: accepted only to be governed by EngineWatermarkIngress (tier rule, audit).
        "watermarking",
    };

    private static readonly HashSet<string> s_chatOnly = new(StringComparer.Ordinal)
    {
        "messages", "top_logprobs", "response_format", "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call",
        "metadata", "store", "service_tier", "reasoning_effort", "verbosity", "modalities", "prediction", "prompt_cache_key",
        "safety_identifier",
    };

    private static readonly HashSet<string> s_completionOnly = new(StringComparer.Ordinal) { "prompt", "echo", "best_of", "suffix" };

    /// <summary>The request fields forwarded to upstreams for <paramref name="kind"/>; any other field is refused.</summary>
    internal static IEnumerable<string> ForwardedFields(InferenceKind kind) =>
        s_shared.Concat(kind == InferenceKind.Chat ? s_chatOnly : s_completionOnly).Order(StringComparer.Ordinal);

    private InferenceRequest(InferenceKind kind, JsonObject body, string model)
    {
        Kind = kind;
        Body = body;
        Model = model;
    }

    public InferenceKind Kind { get; }

    /// <summary>The body bytes as received, forwarded unchanged when no shaping applies.</summary>
    internal ReadOnlyMemory<byte> RawBody { get; set; }

    /// <summary>The request body as the client sent it (forwarded upstream after shaping).</summary>
    public JsonObject Body { get; }

    public string Model { get; }

    /// <summary>Chat messages (chat endpoint only).</summary>
    public IReadOnlyList<ChatMessage> Messages { get; private init; } = [];

    /// <summary>The prompt (completions endpoint only).</summary>
    public string Prompt { get; private init; } = "";

    public bool Stream { get; private init; }
    public bool IncludeUsage { get; private init; }
    public int N { get; private init; } = 1;

    /// <summary>The completion length the client asked for, if any.</summary>
    public int? MaxTokens { get; private init; }

    /// <summary>
    /// Fewest completion tokens before the built-in model may end its answer (<c>min_tokens</c>, the extension vLLM
    /// also accepts; forwarded to upstreams as sent). 0 when not asked.
    /// </summary>
    public int MinTokens { get; private init; }

    public double? Temperature { get; private init; }
    public double? TopP { get; private init; }
    public long? Seed { get; private init; }
    public IReadOnlyList<string> Stop { get; private init; } = [];

    /// <summary>True when per-token log-probabilities were asked for.</summary>
    public bool Logprobs { get; private init; }

    /// <summary>How many alternatives per token (0 when only the chosen token's log-probability is wanted).</summary>
    public int TopLogprobs { get; private init; }

    /// <summary>Completions scored server-side to pick the best <see cref="N"/> (<c>best_of</c>, completions endpoint); at least <see cref="N"/>.</summary>
    public int BestOf { get; private init; } = 1;

    /// <summary>Alternatives per prompt token (vLLM's <c>prompt_logprobs</c>); null when not asked.</summary>
    public int? PromptLogprobs { get; private init; }

    /// <summary>Echo the prompt before the completion (completions endpoint).</summary>
    public bool Echo { get; private init; }

    /// <summary>Remove reasoning traces (<c>reasoning_content</c>, <c>&lt;think&gt;</c> blocks) from the answer.</summary>
    public bool StripReasoning { get; private init; }

    /// <summary>Return reasoning traces sealed for the account (<c>reasoning_encrypted</c>) instead of readable; wins over <see cref="StripReasoning"/>.</summary>
    public bool SealReasoning { get; private init; }

    /// <summary>True when the response ladder reshaped this request to make it less distillable.</summary>
    public bool Reduced { get; private init; }

    /// <summary>This request as "reduce distillability" allows it: no logprobs, fewer choices, capped length, no reasoning.</summary>
    internal InferenceRequest Reduce(DistillGuard.Policy.Configuration.ReductionRule rule)
    {
        var body = Body.DeepClone().AsObject();
        var logprobs = Logprobs;
        var topLogprobs = TopLogprobs;
        var promptLogprobs = PromptLogprobs;
        if (rule.DropLogprobs && (Logprobs || TopLogprobs > 0 || PromptLogprobs is not null))
        {
            body.Remove("logprobs");
            body.Remove("top_logprobs");
            body.Remove("prompt_logprobs");
            logprobs = false;
            topLogprobs = 0;
            promptLogprobs = null;
        }

        var n = rule.MaxChoices is { } maxChoices ? Math.Min(N, maxChoices) : N;
        if (n != N)
        {
            body["n"] = n;
        }

        // best_of is as many answers as n for the upstream's cost and the harvest: the same cap applies to it.
        var bestOf = rule.MaxChoices is { } maxBest ? Math.Max(n, Math.Min(BestOf, maxBest)) : BestOf;
        if (bestOf != BestOf)
        {
            body["best_of"] = bestOf;
        }

        var maxTokens = MaxTokens;
        var minTokens = MinTokens;
        if (rule.MaxTokens is { } cap && (MaxTokens is null || MaxTokens > cap))
        {
            maxTokens = cap;
            // Both aliases carry the cap when both were sent (the parser only admits them equal), so no upstream reads
            // the uncapped one.
            var both = body.ContainsKey("max_tokens") && body.ContainsKey("max_completion_tokens");
            if (both || !body.ContainsKey("max_completion_tokens"))
            {
                body["max_tokens"] = cap;
            }

            if (both || body.ContainsKey("max_completion_tokens"))
            {
                body["max_completion_tokens"] = cap;
            }
            if (minTokens > cap)
            {
                // The cap wins over the floor: an answer of exactly the cap.
                minTokens = cap;
                body["min_tokens"] = cap;
            }
        }

        return new InferenceRequest(Kind, body, Model)
        {
            Messages = Messages,
            Prompt = Prompt,
            Echo = Echo,
            Stream = Stream,
            IncludeUsage = IncludeUsage,
            N = n,
            MaxTokens = maxTokens,
            MinTokens = minTokens,
            Temperature = Temperature,
            TopP = TopP,
            Seed = Seed,
            Stop = Stop,
            Logprobs = logprobs,
            TopLogprobs = topLogprobs,
            BestOf = bestOf,
            PromptLogprobs = promptLogprobs,
            StripReasoning = rule.StripReasoning,
            SealReasoning = rule.SealReasoning,
            Reduced = true,
        };
    }

    /// <summary>All the prompt text in one string, as logged (for the usage log only; never logged above Trace).</summary>
    public string PromptText => Kind == InferenceKind.Completion
        ? Prompt
        : string.Join('\n', Messages.Select(m => m.Content));

    /// <summary>Parses and validates a body already read as JSON; throws <see cref="OpenAIErrorException"/> (400) on any violation.</summary>
    public static InferenceRequest Parse(InferenceKind kind, JsonNode? node, LimitOptions limits)
    {
        if (node is not JsonObject body)
        {
            throw OpenAIErrorException.InvalidRequest("The request body must be a JSON object.");
        }

        var chatKind = kind == InferenceKind.Chat;
        foreach (var (name, _) in body)
        {
            if (!s_shared.Contains(name) && !(chatKind ? s_chatOnly : s_completionOnly).Contains(name))
            {
                throw new OpenAIErrorException(StatusCodes.Status400BadRequest, $"Unknown parameter: '{Truncate(name, 64)}'. This gateway forwards only the parameters it checks.",
                    "invalid_request_error", "unknown_parameter", Truncate(name, 64));
            }
        }

        var model = RequiredString(body, "model");
        var stream = OptionalBool(body, "stream") ?? false;
        var includeUsage = false;
        if (body["stream_options"] is { } streamOptions)
        {
            if (streamOptions is not JsonObject so)
            {
                throw OpenAIErrorException.InvalidRequest("'stream_options' must be an object.", "stream_options");
            }

            if (!stream)
            {
                throw OpenAIErrorException.InvalidRequest("'stream_options' is only allowed when 'stream' is true.", "stream_options");
            }

            includeUsage = OptionalBool(so, "include_usage", "stream_options.include_usage") ?? false;
        }

        var n = OptionalInt(body, "n") ?? 1;
        if (n < 1 || n > limits.MaxChoices)
        {
            throw OpenAIErrorException.InvalidRequest($"'n' must be between 1 and {limits.MaxChoices}, got {n}.", "n");
        }

        // max_tokens 0 is the legacy way to only score a prompt: allowed with echo on the completions endpoint, unstreamed.
        var echo = kind == InferenceKind.Completion && (OptionalBool(body, "echo") ?? false);
        var least = echo && !stream ? 0 : 1;

        // Both aliases are checked: upstreams differ in which one they read when both are present.
        var maxCompletionTokens = BoundedInt(body, "max_completion_tokens", least, limits.MaxCompletionTokens);
        var legacyMaxTokens = BoundedInt(body, "max_tokens", least, limits.MaxCompletionTokens);
        if (maxCompletionTokens is { } a && legacyMaxTokens is { } b && a != b)
        {
            throw OpenAIErrorException.InvalidRequest($"'max_tokens' ({b}) and 'max_completion_tokens' ({a}) disagree; send one of them.", "max_tokens");
        }

        var maxTokens = maxCompletionTokens ?? legacyMaxTokens;

        var bestOf = 1;
        if (body.ContainsKey("best_of"))
        {
            bestOf = BoundedInt(body, "best_of", n, limits.MaxChoices) ?? n;
            if (stream && bestOf > 1)
            {
                throw OpenAIErrorException.InvalidRequest("'best_of' cannot be used with 'stream'.", "best_of");
            }
        }
        else
        {
            bestOf = n;
        }

        // Scoring the prompt is the same harvest as completion log-probabilities: the endpoint's logprobs cap applies.
        var promptLogprobs = BoundedInt(body, "prompt_logprobs", 0, chatKind ? 20 : 5);

        var minTokens = OptionalInt(body, "min_tokens") ?? 0;
        var mostMin = maxTokens ?? limits.MaxCompletionTokens;
        if (minTokens < 0 || minTokens > mostMin)
        {
            throw OpenAIErrorException.InvalidRequest($"'min_tokens' must be between 0 and {mostMin} (the request's token limit), got {minTokens}.", "min_tokens");
        }

        var temperature = OptionalDouble(body, "temperature");
        if (temperature is < 0 or > 2)
        {
            throw OpenAIErrorException.InvalidRequest($"'temperature' must be between 0 and 2, got {temperature}.", "temperature");
        }

        var topP = OptionalDouble(body, "top_p");
        if (topP is < 0 or > 1)
        {
            throw OpenAIErrorException.InvalidRequest($"'top_p' must be between 0 and 1, got {topP}.", "top_p");
        }

        var seed = OptionalLong(body, "seed");
        var stop = ParseStop(body);

        bool logprobs;
        int topLogprobs;
        if (kind == InferenceKind.Chat)
        {
            logprobs = OptionalBool(body, "logprobs") ?? false;
            topLogprobs = OptionalInt(body, "top_logprobs") ?? 0;
            if (topLogprobs is < 0 or > 20)
            {
                throw OpenAIErrorException.InvalidRequest($"'top_logprobs' must be between 0 and 20, got {topLogprobs}.", "top_logprobs");
            }

            if (topLogprobs > 0 && !logprobs)
            {
                throw OpenAIErrorException.InvalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
            }
        }
        else
        {
            // The legacy completions endpoint takes an integer: how many alternatives per token (0..5).
            var legacyLogprobs = OptionalInt(body, "logprobs");
            if (legacyLogprobs is < 0 or > 5)
            {
                throw OpenAIErrorException.InvalidRequest($"'logprobs' must be between 0 and 5, got {legacyLogprobs}.", "logprobs");
            }

            logprobs = legacyLogprobs is not null;
            topLogprobs = legacyLogprobs ?? 0;
        }

        return new InferenceRequest(kind, body, model)
        {
            Messages = chatKind ? ParseMessages(body) : [],
            Prompt = chatKind ? "" : ParsePrompt(body),
            Echo = echo,
            Stream = stream,
            IncludeUsage = includeUsage,
            N = n,
            MaxTokens = maxTokens,
            MinTokens = minTokens,
            Temperature = temperature,
            TopP = topP,
            Seed = seed,
            Stop = stop,
            Logprobs = logprobs,
            TopLogprobs = topLogprobs,
            BestOf = bestOf,
            PromptLogprobs = promptLogprobs,
        };
    }

    private static int? BoundedInt(JsonObject body, string name, int least, int most)
    {
        var value = OptionalInt(body, name);
        if (value is { } v && (v < least || v > most))
        {
            throw OpenAIErrorException.InvalidRequest($"'{name}' must be between {least} and {most}, got {v}.", name);
        }

        return value;
    }

    internal static string Truncate(string value, int max) => value.Length <= max ? value : value[..max] + "…";

    private static IReadOnlyList<ChatMessage> ParseMessages(JsonObject body)
    {
        if (body["messages"] is not JsonArray array)
        {
            throw OpenAIErrorException.InvalidRequest(body.ContainsKey("messages") ? "'messages' must be an array." : "'messages' is required.", "messages");
        }

        if (array.Count == 0)
        {
            throw OpenAIErrorException.InvalidRequest("'messages' must contain at least one message.", "messages");
        }

        var messages = new List<ChatMessage>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            var param = $"messages[{i}]";
            if (array[i] is not JsonObject message)
            {
                throw OpenAIErrorException.InvalidRequest($"'{param}' must be an object.", param);
            }

            var role = message["role"] is JsonValue r && r.TryGetValue<string>(out var roleText) ? roleText : null;
            if (role is null || !s_roles.Contains(role))
            {
                throw OpenAIErrorException.InvalidRequest($"'{param}.role' must be one of system, developer, user, assistant, tool.", $"{param}.role");
            }

            messages.Add(new ChatMessage(role, ContentText(message["content"], $"{param}.content")));
        }

        return messages;
    }

    private static string ContentText(JsonNode? content, string param)
    {
        switch (content)
        {
            case null:
                return "";
            case JsonValue value when value.TryGetValue<string>(out var text):
                return text;
            case JsonArray parts:
                var builder = new StringBuilder();
                for (var i = 0; i < parts.Count; i++)
                {
                    if (parts[i] is not JsonObject part || part["type"]?.GetValueKind() != JsonValueKind.String)
                    {
                        throw OpenAIErrorException.InvalidRequest($"'{param}[{i}]' must be a content part object with a 'type'.", $"{param}[{i}]");
                    }

                    if ((string?)part["type"] == "text")
                    {
                        if (part["text"] is not JsonValue t || !t.TryGetValue<string>(out var partText))
                        {
                            throw OpenAIErrorException.InvalidRequest($"'{param}[{i}].text' must be a string.", $"{param}[{i}].text");
                        }

                        if (builder.Length > 0)
                        {
                            builder.Append('\n');
                        }

                        builder.Append(partText);
                    }
                }

                return builder.ToString();
            default:
                throw OpenAIErrorException.InvalidRequest($"'{param}' must be a string or an array of content parts.", param);
        }
    }

    private static string ParsePrompt(JsonObject body)
    {
        switch (body["prompt"])
        {
            case null:
                throw OpenAIErrorException.InvalidRequest("'prompt' is required.", "prompt");
            case JsonValue value when value.TryGetValue<string>(out var text):
                return text;
            case JsonArray { Count: 1 } array when array[0] is JsonValue single && single.TryGetValue<string>(out var text):
                return text;
            case JsonArray { Count: > 1 }:
                throw OpenAIErrorException.InvalidRequest("Only one prompt per request is supported; send the prompts as separate requests.", "prompt");
            default:
                throw OpenAIErrorException.InvalidRequest("'prompt' must be a string.", "prompt");
        }
    }

    private static List<string> ParseStop(JsonObject body)
    {
        switch (body["stop"])
        {
            case null:
                return [];
            case JsonValue value when value.TryGetValue<string>(out var single):
                return single.Length == 0 ? [] : [single];
            case JsonArray array:
                if (array.Count > 4)
                {
                    throw OpenAIErrorException.InvalidRequest($"'stop' may hold at most 4 sequences, got {array.Count}.", "stop");
                }

                var stops = new List<string>(array.Count);
                foreach (var item in array)
                {
                    if (item is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length == 0)
                    {
                        throw OpenAIErrorException.InvalidRequest("'stop' must be a string or an array of non-empty strings.", "stop");
                    }

                    stops.Add(s);
                }

                return stops;
            default:
                throw OpenAIErrorException.InvalidRequest("'stop' must be a string or an array of non-empty strings.", "stop");
        }
    }

    internal static string RequiredString(JsonObject body, string name)
    {
        if (body[name] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0)
        {
            return text;
        }

        throw OpenAIErrorException.InvalidRequest(body.ContainsKey(name) ? $"'{name}' must be a non-empty string." : $"'{name}' is required.", name);
    }

    internal static bool? OptionalBool(JsonObject body, string name, string? param = null) => body[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw OpenAIErrorException.InvalidRequest($"'{param ?? name}' must be a boolean.", param ?? name),
    };

    internal static int? OptionalInt(JsonObject body, string name)
    {
        var value = OptionalLong(body, name);
        if (value is > int.MaxValue or < int.MinValue)
        {
            throw OpenAIErrorException.InvalidRequest($"'{name}' is out of range.", name);
        }

        return (int?)value;
    }

    internal static long? OptionalLong(JsonObject body, string name)
    {
        switch (body[name])
        {
            case null:
                return null;
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number:
                if (v.TryGetValue<long>(out var l))
                {
                    return l;
                }

                var d = v.GetValue<double>();
                if (Math.Floor(d) == d && d is >= long.MinValue and <= long.MaxValue)
                {
                    return (long)d;
                }

                throw OpenAIErrorException.InvalidRequest($"'{name}' must be an integer.", name);
            default:
                throw OpenAIErrorException.InvalidRequest($"'{name}' must be an integer.", name);
        }
    }

    internal static double? OptionalDouble(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        _ => throw OpenAIErrorException.InvalidRequest($"'{name}' must be a number.", name),
    };
}
