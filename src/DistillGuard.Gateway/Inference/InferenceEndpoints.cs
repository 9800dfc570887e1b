using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using DistillGuard.Gateway.Anthropic;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.Usage;
using DistillGuard.Gateway.Watermarking;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace DistillGuard.Gateway.Inference;

/// <summary>The OpenAI-compatible inference API under <c>/v1</c>.</summary>
internal static class InferenceEndpoints
{
    // A duplicate key is refused: readers disagree on which copy wins (the gateway's checks could read one copy and an
    // upstream act on the other), and the lazily built JsonObject would throw on it later as an unhandled error.
    private static readonly JsonDocumentOptions s_documentOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    public static void MapInferenceApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", (HttpContext context, InferenceHandler handler) => handler.HandleAsync(context, InferenceKind.Chat));
        app.MapPost("/v1/completions", (HttpContext context, InferenceHandler handler) => handler.HandleAsync(context, InferenceKind.Completion));
        app.MapPost("/v1/messages", (HttpContext context, InferenceHandler handler) => handler.HandleAsync(context, InferenceKind.Chat, WireApi.Messages));
        app.MapPost("/v1/messages/count_tokens", (HttpContext context, InferenceHandler handler) => handler.CountTokensAsync(context));
        app.MapPost("/v1/responses", (HttpContext context, InferenceHandler handler) => handler.HandleAsync(context, InferenceKind.Chat, WireApi.Responses));
        app.MapGet("/v1/models", (HttpContext context, InferenceHandler handler) => handler.ListModelsAsync(context, null));
        app.MapGet("/v1/models/{id}", (HttpContext context, string id, InferenceHandler handler) => handler.ListModelsAsync(context, id));
    }

    /// <summary>Reads the request body as JSON, mapping every way it can be bad to a precise 400 or 413.</summary>
    public static async Task<(JsonNode? Json, byte[] Body)> ReadJsonAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        return (ParseJson(body), body);
    }

    /// <summary>Parses a request body, refusing duplicate keys and strings that do not decode (a lone surrogate escape) with a 400.</summary>
    internal static JsonNode? ParseJson(byte[] body)
    {
        try
        {
            CheckEscapedStrings(body);
            return JsonNode.Parse(body, documentOptions: s_documentOptions);
        }
        catch (JsonException e)
        {
            throw OpenAIErrorException.InvalidRequest("We could not parse the JSON body of your request: " + Reason(e), code: "invalid_json");
        }
    }

    /// <summary>
    /// Whether <paramref name="json"/> holds a string escape that decodes to no string (a lone surrogate), which throws
    /// wherever the string or property name is later read; false for JSON that does not parse (its parser says so).
    /// </summary>
    internal static bool HasUndecodableEscape(ReadOnlySpan<byte> json)
    {
        try
        {
            CheckEscapedStrings(json);
            return false;
        }
        catch (OpenAIErrorException)
        {
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Decodes every escaped string once: a lone surrogate escape such as <c>"\ud800"</c> is valid JSON syntax but
    /// no string, and reading it later throws from deep inside a handler. Unescaped strings are valid UTF-8 (checked before).
    /// </summary>
    private static void CheckEscapedStrings(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = s_documentOptions.MaxDepth });
        while (reader.Read())
        {
            if (reader.ValueIsEscaped && reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
            {
                try
                {
                    _ = reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    throw OpenAIErrorException.InvalidRequest(
                        $"We could not parse the JSON body of your request: a string holds an escape that is not valid UTF-16 (a lone surrogate) at byte {reader.TokenStartIndex}.",
                        code: "invalid_json");
                }
            }
        }
    }

    /// <summary>
    /// Reads a JSON body for a typed reader (the admin API): the same checks as an inference body first, so a duplicate
    /// key is a 400 instead of the deserialiser quietly keeping the last copy.
    /// </summary>
    public static async Task<byte[]> ReadUnambiguousJsonAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        _ = ParseJson(body);
        return body;
    }

    /// <summary>Reads the whole (size-limited) body and checks that it is UTF-8.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        // The body is bounded by the configured limit, so reading it whole is safe; it lets us check the
        // UTF-8 up front (the JSON reader only notices bad UTF-8 inside strings when they are read later).
        byte[] body;
        try
        {
            using var buffer = new MemoryStream(context.Request.ContentLength is > 0 and < int.MaxValue ? (int)context.Request.ContentLength.Value : 4096);
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (context.RequestAborted.IsCancellationRequested || IsCutShort(e))
        {
            // A body cut short by a client that closed the connection: nobody gets the 400, so it is a 499.
            throw new ClientDisconnectedException();
        }
        catch (BadHttpRequestException e)
        {
            throw BodyError(e);
        }

        if (!Utf8.IsValid(body))
        {
            throw OpenAIErrorException.InvalidRequest("The request body is not valid UTF-8.", code: "invalid_json");
        }

        return body;
    }

    /// <summary>
    /// Kestrel's rejection of a body whose connection ended before its length: Kestrel then closes the connection
    /// without answering. Its reason code is internal and <c>RequestAborted</c> is cancelled on the thread pool, after
    /// the throw, so the (unlocalised) message is what tells it apart.
    /// </summary>
    private static bool IsCutShort(BadHttpRequestException e) =>
        e.StatusCode == StatusCodes.Status400BadRequest && e.Message.StartsWith("Unexpected end of request content", StringComparison.Ordinal);

    internal static OpenAIErrorException BodyError(BadHttpRequestException e) => e.StatusCode == StatusCodes.Status413PayloadTooLarge
        ? new OpenAIErrorException(StatusCodes.Status413PayloadTooLarge, "The request body is larger than this gateway accepts.", "invalid_request_error", "request_too_large")
        : OpenAIErrorException.InvalidRequest("The request body could not be read: " + e.Message, code: "invalid_body");

    internal static string Reason(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        var reason = cut > 0 ? message[..cut] : message;
        return e.LineNumber is { } line ? $"{reason} (line {line + 1}, byte {e.BytePositionInLine})" : reason;
    }
}

/// <summary>The wire API a request came by; every one is served by the same pipeline.</summary>
internal enum WireApi
{
    /// <summary>Chat Completions or legacy Completions.</summary>
    OpenAI,

    /// <summary>The OpenAI Responses API.</summary>
    Responses,

    /// <summary>The Anthropic Messages API.</summary>
    Messages,
}

/// <summary>Authenticates, validates and routes one inference request.</summary>
internal sealed class InferenceHandler(ApiKeyAuthentication authentication, ModelCatalog catalog, GatewayOptions options, RateLimitAdmission admission, PolicyEnforcement policy, ReasoningKeyring keyring, EngineWatermarkIngress watermarkIngress, TimeProvider time)
{
    public async Task HandleAsync(HttpContext context, InferenceKind kind, WireApi api = WireApi.OpenAI)
    {
        var usage = context.Features.GetRequiredFeature<RequestUsage>();
        // The other APIs are this pipeline with their own wire format: everything it writes passes through the translation.
        ApiTranslation? translation = api switch
        {
            WireApi.Messages => new MessagesTranslation(context, usage.RequestId),
            WireApi.Responses => new ResponsesTranslation(context, usage.RequestId, time),
            _ => null,
        };

        try
        {
            await ServeAsync(context, kind, api, usage, translation);
        }
        catch
        {
            // Unhandled: the host's error handler answers on the real body.
            translation?.Abandon();
            throw;
        }

        if (translation is not null)
        {
            await CompleteAsync(context, translation, usage);
        }
    }

    private async Task ServeAsync(HttpContext context, InferenceKind kind, WireApi api, RequestUsage usage, ApiTranslation? translation)
    {
        try
        {
            if (!await AuthenticateAsync(context, usage))
            {
                return;
            }

            if (translation is MessagesTranslation messages)
            {
                var account = usage.Caller!.Account.Id;
                messages.Sign = reasoning => keyring.Seal(account, reasoning);
            }

            if (!await admission.AdmitAsync(context, usage) || !await policy.AdmitAsync(context, usage))
            {
                await RecordRefusedAsync(context, kind, api, usage);
                return;
            }

            var request = await ReadRequestAsync(context, kind, api);
            Record(usage, request);

            // Reasoning sealed for this account in an earlier turn goes upstream readable, whatever the account's band
            // now; a blob that does not open (altered, another account's, expired) is a 400 like any bad field.
            keyring.OpenInto(request, usage.Caller!.Account.Id);
            if (translation is not null)
            {
                translation.Model = request.Model;
                translation.Request = request;
            }

            var backend = catalog.Find(request.Model);
            if (backend is null)
            {
                await OpenAIError.NotFound(context, $"The model '{Shorten(request.Model)}' does not exist or you do not have access to it.", "model_not_found");
                return;
            }

            // Untrusted callers cannot switch an engine's watermark off (stripped, or refused with a 400, by tier; audited).
            await watermarkIngress.ApplyAsync(request, usage, context.RequestAborted);

            usage.ServedModel = request.Model;
            if (!await admission.ReserveAsync(context, usage, request))
            {
                return;
            }

            // The usage log keeps what the client asked for; the backend serves what the policy allows.
            await backend.HandleAsync(context, policy.Shape(request, usage), usage);
        }
        catch (OpenAIErrorException e)
        {
            await OpenAIError.WriteAsync(context, e);
        }
        catch (OperationCanceledException e) when (context.RequestAborted.IsCancellationRequested || e is ClientDisconnectedException)
        {
            // The client went away; the usage event records status 499.
            usage.StatusOverride = 499;
        }
    }

    /// <summary>Reads and validates the body as the pipeline's request: a chat or completion request, or another API's request stated as a chat request.</summary>
    private async Task<InferenceRequest> ReadRequestAsync(HttpContext context, InferenceKind kind, WireApi api)
    {
        var (json, body) = await InferenceEndpoints.ReadJsonAsync(context);
        if (api == WireApi.Messages)
        {
            MessagesRequest.CheckVersion(context.Request);
        }

        return ParseRequest(json, body, kind, api, options.Limits);
    }

    /// <summary>Validates a parsed body of <paramref name="api"/> as the pipeline's request (the fuzz tests drive this directly).</summary>
    internal static InferenceRequest ParseRequest(JsonNode? json, byte[] body, InferenceKind kind, WireApi api, LimitOptions limits)
    {
        switch (api)
        {
            case WireApi.Messages:
                return InferenceRequest.Parse(InferenceKind.Chat, AsReceived(MessagesRequest.ToChat(json)), limits);
            case WireApi.Responses:
                return InferenceRequest.Parse(InferenceKind.Chat, AsReceived(ResponsesRequest.ToChat(json)), limits);
            default:
                var request = InferenceRequest.Parse(kind, json, limits);
                request.RawBody = body;
                return request;
        }
    }

    /// <summary>A translated body as if it had been received: parsed from its text, so its values read like any client's.</summary>
    private static JsonNode AsReceived(JsonObject chat) => JsonNode.Parse(chat.ToJsonString())!;

    private static async Task CompleteAsync(HttpContext context, ApiTranslation translation, RequestUsage usage)
    {
        try
        {
            await translation.CompleteAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            usage.StatusOverride ??= 499;
        }
    }

    /// <summary>
    /// Records what a refused request asked for (model, n, logprobs, sampling settings, prompt) in its usage event.
    /// A refusal answers before the body is read, but what the caller kept asking for while refused is evidence too:
    /// without it a prober held at the verification step would show n = 1 and no settings on every refused request, and
    /// its sweep would dilute instead of sharpen. A body that does not parse leaves the fields unset; the refusal stands.
    /// </summary>
    private async Task RecordRefusedAsync(HttpContext context, InferenceKind kind, WireApi api, RequestUsage usage)
    {
        try
        {
            Record(usage, await ReadRequestAsync(context, kind, api));
        }
        catch (OpenAIErrorException)
        {
            // The answer already sent (the refusal) is the one the client gets; a malformed body adds nothing to it.
        }
    }

    private static void Record(RequestUsage usage, InferenceRequest request)
    {
        usage.Model = request.Model;
        usage.Stream = request.Stream;
        usage.N = request.N;
        usage.MaxTokens = request.MaxTokens;
        usage.Temperature = request.Temperature;
        usage.TopP = request.TopP;
        usage.Seed = request.Seed;
        usage.StopCount = request.Stop.Count;
        usage.Logprobs = request.Logprobs;
        usage.TopLogprobs = request.TopLogprobs;
        usage.Echo = request.Echo;
        usage.PromptText = request.PromptText;
    }

    /// <summary>
    /// <c>POST /v1/messages/count_tokens</c>: the prompt's length in tokens as the gateway counts it (the built-in
    /// model's GPT-2 tokenizer; an estimate for an upstream with its own tokenizer).
    /// </summary>
    public async Task CountTokensAsync(HttpContext context)
    {
        var usage = context.Features.GetRequiredFeature<RequestUsage>();
        var translation = new MessagesTranslation(context, usage.RequestId) { Verbatim = true };
        try
        {
            await CountAsync(context, usage);
        }
        catch (OpenAIErrorException e)
        {
            await OpenAIError.WriteAsync(context, e);
        }
        catch
        {
            translation.Abandon();
            throw;
        }

        await CompleteAsync(context, translation, usage);
    }

    private async Task CountAsync(HttpContext context, RequestUsage usage)
    {
        if (!await AuthenticateAsync(context, usage) || !await admission.AdmitAsync(context, usage) || !await policy.AdmitAsync(context, usage))
        {
            return;
        }

        var (json, _) = await InferenceEndpoints.ReadJsonAsync(context);
        MessagesRequest.CheckVersion(context.Request);
        var request = InferenceRequest.Parse(InferenceKind.Chat, AsReceived(MessagesRequest.ToChat(json, requireMaxTokens: false)), options.Limits);
        usage.Model = request.Model;
        usage.PromptText = request.PromptText;
        if (catalog.Find(request.Model) is null)
        {
            await OpenAIError.NotFound(context, $"The model '{Shorten(request.Model)}' does not exist or you do not have access to it.", "model_not_found");
            return;
        }

        usage.ServedModel = request.Model;
        usage.PromptTokens = DistillGuard.LanguageModels.Tokenization.TextTokenizer.Gpt2.Encode(BuiltInBackend.PromptText(request)).Length;
        await WriteJsonAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("input_tokens", usage.PromptTokens);
            w.WriteEndObject();
        });
        usage.Completed = true;
    }

    public async Task ListModelsAsync(HttpContext context, string? id)
    {
        var usage = context.Features.GetRequiredFeature<RequestUsage>();
        if (!await AuthenticateAsync(context, usage))
        {
            return;
        }

        if (id is not null)
        {
            if (catalog.Find(id) is not { } backend)
            {
                await OpenAIError.NotFound(context, $"The model '{id}' does not exist.", "model_not_found");
                return;
            }

            await WriteJsonAsync(context, w => WriteModel(w, id, backend.Name));
            usage.Completed = true;
            return;
        }

        await WriteJsonAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var (model, backend) in catalog.Entries.OrderBy(e => e.Model, StringComparer.Ordinal))
            {
                WriteModel(w, model, backend.Name);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
        usage.Completed = true;
    }

    /// <summary>A client-chosen name as echoed in an error: bounded, so a huge name does not make a huge error body.</summary>
    private static string Shorten(string value) => value.Length <= 256 ? value : value[..256] + "…";

    private void WriteModel(Utf8JsonWriter w, string id, string backend)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "model");
        w.WriteNumber("created", catalog.Created);
        w.WriteString("owned_by", backend == "built-in" ? "distillguard" : backend);
        w.WriteEndObject();
    }

    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        write(writer);
        await writer.FlushAsync(context.RequestAborted);
    }

    private async Task<bool> AuthenticateAsync(HttpContext context, RequestUsage usage)
    {
        if (ApiKeyAuthentication.ApiKey(context.Request) is null)
        {
            await OpenAIError.Unauthorized(context, "You didn't provide an API key. Send it in an Authorization header: 'Authorization: Bearer YOUR_KEY'.");
            return false;
        }

        usage.Caller = await authentication.AuthenticateAsync(context);
        if (usage.Caller is null)
        {
            await OpenAIError.Unauthorized(context, "Incorrect API key provided.");
            return false;
        }

        return true;
    }
}
