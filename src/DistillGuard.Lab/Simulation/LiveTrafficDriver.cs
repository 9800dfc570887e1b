using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace DistillGuard.Lab.Simulation;

/// <summary>How to replay a scenario against a running gateway.</summary>
public sealed class LiveTrafficOptions
{
    /// <summary>The gateway's base address (e.g. http://localhost:8080/); must be a loopback address.</summary>
    public required Uri Gateway { get; init; }

    /// <summary>Admin token used to create one account per simulated account; null with <see cref="SelfRegister"/>.</summary>
    public string? AdminToken { get; init; }

    /// <summary>Let the gateway self-register accounts from their API keys (it must run with --self-register).</summary>
    public bool SelfRegister { get; init; }

    /// <summary>Stop after this many requests.</summary>
    public int MaxRequests { get; init; } = 1000;

    /// <summary>Virtual seconds per wall-clock second (e.g. 3600: an hour a second); 0 sends as fast as allowed.</summary>
    public double TimeCompression { get; init; }

    /// <summary>Requests in flight at once.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Caps max_tokens sent (and sets it where the event had none), to keep a replay against a slow model short; null sends the event's.</summary>
    public int? MaxTokensCap { get; init; }

    /// <summary>Seeds the API keys of self-registered accounts (so a replay reuses the same accounts).</summary>
    public int KeySeed { get; init; }

    /// <summary>
    /// Ask for each simulated answer's length with <c>min_tokens</c> (the extension vLLM and the built-in model accept),
    /// capped by the request's <c>max_tokens</c> (or <see cref="DefaultAnswerTokens"/> when it has none), so a replay
    /// reproduces the simulator's lengths exactly. Off: every answer is as long as the gateway's model makes it — the
    /// built-in teacher plans chat answers by request kind (a few tokens for a label, a paragraph or a few for a chat
    /// question, 400–8,192 tokens for step-by-step or in-depth requests, capped by max_tokens; docs/language-model.md).
    /// </summary>
    public bool ReplayAnswerLengths { get; init; } = true;

    /// <summary>The gateway's answer limit for requests without <c>max_tokens</c> (its default; 256).</summary>
    public int DefaultAnswerTokens { get; init; } = 256;

    /// <summary>
    /// With an admin token, how long to let the gateway's detection worker fold the last requests in before reading each
    /// account's verdict from the admin API; null reads none.
    /// </summary>
    public TimeSpan? VerdictDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Also score the replayed events offline (the shipped calibration, virtual time) for the parity table.</summary>
    public bool CompareOffline { get; init; } = true;
}

/// <summary>The gateway's verdict on one replayed account, read from the admin API after the replay, with the simulator's label.</summary>
/// <param name="Authorised">A licensed distillation customer: distillation-like, and cleared by contract rather than by the detector.</param>
public sealed record LiveVerdict(string AccountId, string GatewayAccountId, string Archetype, bool IsAttacker, bool Authorised, string RiskLevel, bool Flagged, double RiskScore)
{
    /// <summary>The admin API's reasons, <c>code: detail</c>, largest first.</summary>
    public IReadOnlyList<string> Reasons { get; init; } = [];

    /// <summary>The campaign the gateway linked the account into, if any.</summary>
    public string? CampaignId { get; init; }

    /// <summary>That campaign's level (<c>low</c>, <c>review</c>, <c>friction</c>, <c>insufficient_evidence</c>), if any.</summary>
    public string? CampaignLevel { get; init; }

    /// <summary>That campaign's pooled evidence S, if any.</summary>
    public double? CampaignEvidence { get; init; }

    /// <summary>Flagged on its own or as a member of a campaign in the review band: what an analyst's queue shows.</summary>
    public bool FlaggedWithCampaign => Flagged || CampaignLevel is "review" or "friction";
}

/// <summary>What a live replay did.</summary>
/// <param name="Sent">Requests sent.</param>
/// <param name="StatusCounts">HTTP status → count (0 for transport failures).</param>
/// <param name="RequestsPerAccount">Simulated account id → requests sent for it.</param>
/// <param name="GatewayAccountIds">Simulated account id → the gateway's account id (differs under self-registration).</param>
/// <param name="Elapsed">Wall-clock time of the replay.</param>
/// <param name="Verdicts">The gateway's verdict on each account (admin token and <see cref="LiveTrafficOptions.VerdictDelay"/> only; else empty).</param>
public sealed record LiveTrafficResult(int Sent, IReadOnlyDictionary<int, int> StatusCounts, IReadOnlyDictionary<string, int> RequestsPerAccount,
    IReadOnlyDictionary<string, string> GatewayAccountIds, TimeSpan Elapsed, IReadOnlyList<LiveVerdict> Verdicts)
{
    /// <summary>The same replayed events scored offline (<see cref="LiveTrafficOptions.CompareOffline"/>); else empty.</summary>
    public IReadOnlyList<Evaluation.OfflineVerdict> Offline { get; init; } = [];

    /// <summary>Offline against live per archetype (with verdicts and the offline scores only; else empty).</summary>
    public IReadOnlyList<Evaluation.ParityRow> Parity { get; init; } = [];
}

/// <summary>Replays labelled events against a running gateway over HTTP with the official OpenAI .NET client, one API key per account.</summary>
/// <remarks>
/// Sends each event's messages and sampling parameters; the gateway decides status codes and lengths itself. The OpenAI
/// client has no <c>n</c> parameter, so <c>n</c> &gt; 1 is added to the body as an extra field. Loopback only: it is a load generator.
/// </remarks>
public static class LiveTrafficDriver
{
    /// <summary>Replays at most <see cref="LiveTrafficOptions.MaxRequests"/> events in time order.</summary>
    public static async Task<LiveTrafficResult> RunAsync(IEnumerable<LabelledEvent> events, LiveTrafficOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(options);
        if (!IsLoopback(options.Gateway))
        {
            throw new ArgumentException($"The live driver only targets loopback gateways, not {options.Gateway.Host}.", nameof(options));
        }

        if (options.AdminToken is null && !options.SelfRegister)
        {
            throw new ArgumentException("Give an admin token or use self-registration.", nameof(options));
        }

        var baseAddress = options.Gateway.AbsoluteUri.EndsWith('/') ? options.Gateway : new Uri(options.Gateway.AbsoluteUri + "/");
        using var admin = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (options.AdminToken is not null)
        {
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.AdminToken);
        }

        var clients = new Dictionary<string, ChatClient>(StringComparer.Ordinal);
        var gatewayIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var perAccount = new Dictionary<string, int>(StringComparer.Ordinal);
        var labels = new Dictionary<string, (string Archetype, bool IsAttacker, bool Authorised)>(StringComparer.Ordinal);
        var statuses = new Dictionary<int, int>();
        var gate = new object();
        using var slots = new SemaphoreSlim(Math.Max(1, options.Concurrency));
        var inFlight = new List<Task>();
        var clock = Stopwatch.StartNew();
        DateTimeOffset? first = null;
        var sent = 0;
        var replayed = new List<LabelledEvent>();
        foreach (var e in events)
        {
            if (sent >= options.MaxRequests)
            {
                break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var accountId = e.Event.AccountId ?? "anonymous";
            if (!clients.TryGetValue(accountId, out var client))
            {
                var (key, gatewayId) = await ProvisionAsync(admin, e, accountId, options, cancellationToken).ConfigureAwait(false);
                client = CreateClient(baseAddress, key, e, e.Event.Model ?? "dg-teacher");
                clients[accountId] = client;
                gatewayIds[accountId] = gatewayId;
                labels[accountId] = (e.Archetype, e.Account?.IsAttacker ?? e.IsAttacker, e.Account?.Authorised ?? e.Authorised);
            }

            first ??= e.Event.Timestamp;
            if (options.TimeCompression > 0)
            {
                var due = TimeSpan.FromSeconds((e.Event.Timestamp - first.Value).TotalSeconds / options.TimeCompression);
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                }
            }

            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            sent++;
            replayed.Add(e);
            perAccount[accountId] = perAccount.GetValueOrDefault(accountId) + 1;
            inFlight.Add(SendAsync(client, e, options, cancellationToken).ContinueWith(t =>
            {
                slots.Release();
                lock (gate)
                {
                    var status = t.IsCompletedSuccessfully ? t.Result : 0;
                    statuses[status] = statuses.GetValueOrDefault(status) + 1;
                }
            }, TaskScheduler.Default));
            inFlight.RemoveAll(t => t.IsCompleted);
        }

        await Task.WhenAll(inFlight).ConfigureAwait(false);
        var elapsed = clock.Elapsed;
        var verdicts = new List<LiveVerdict>();
        if (options.AdminToken is not null && options.VerdictDelay is { } delay)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            var campaigns = new Dictionary<string, (string Level, double Evidence)?>(StringComparer.Ordinal);
            foreach (var (accountId, gatewayId) in gatewayIds)
            {
                var verdict = await VerdictAsync(admin, accountId, gatewayId, labels[accountId], cancellationToken).ConfigureAwait(false);
                if (verdict.CampaignId is { } campaignId)
                {
                    if (!campaigns.TryGetValue(campaignId, out var campaign))
                    {
                        campaigns[campaignId] = campaign = await CampaignAsync(admin, campaignId, cancellationToken).ConfigureAwait(false);
                    }

                    verdict = verdict with { CampaignLevel = campaign?.Level, CampaignEvidence = campaign?.Evidence };
                }

                verdicts.Add(verdict);
            }
        }

        var offline = options.CompareOffline ? Evaluation.LiveParity.Score(replayed) : [];
        return new LiveTrafficResult(sent, statuses, perAccount, gatewayIds, elapsed, verdicts)
        {
            Offline = offline,
            Parity = offline.Count > 0 && verdicts.Count > 0 ? Evaluation.LiveParity.Table(offline, verdicts) : [],
        };
    }

    private static async Task<LiveVerdict> VerdictAsync(HttpClient admin, string accountId, string gatewayId, (string Archetype, bool IsAttacker, bool Authorised) label, CancellationToken cancellationToken)
    {
        using var response = await admin.GetAsync("admin/v1/accounts/" + Uri.EscapeDataString(gatewayId), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Reading account {gatewayId} failed: {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var root = document.RootElement;
        // An account the detector has not seen yet (all its requests refused before the engine) has no risk fields.
        var level = root.TryGetProperty("riskLevel", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString()! : "unscored";
        var flagged = root.TryGetProperty("flagged", out var f) && f.ValueKind == JsonValueKind.True;
        var score = root.TryGetProperty("riskScore", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetDouble() : 0;
        var reasons = new List<string>();
        if (root.TryGetProperty("reasons", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var reason in list.EnumerateArray())
            {
                var code = reason.TryGetProperty("code", out var c) ? c.GetString() : null;
                var detail = reason.TryGetProperty("detail", out var d) ? d.GetString() : null;
                reasons.Add(detail is { Length: > 0 } ? $"{code}: {detail}" : code ?? "");
            }
        }

        var campaign = root.TryGetProperty("campaignId", out var cid) && cid.ValueKind == JsonValueKind.String ? cid.GetString() : null;
        return new LiveVerdict(accountId, gatewayId, label.Archetype, label.IsAttacker, label.Authorised, level, flagged, score) { Reasons = reasons, CampaignId = campaign };
    }

    /// <summary>A campaign's level and pooled evidence from the admin API; null when it is gone (re-linked since).</summary>
    private static async Task<(string Level, double Evidence)?> CampaignAsync(HttpClient admin, string campaignId, CancellationToken cancellationToken)
    {
        using var response = await admin.GetAsync("admin/v1/campaigns/" + Uri.EscapeDataString(campaignId), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Reading campaign {campaignId} failed: {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var root = document.RootElement;
        var level = root.TryGetProperty("level", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString()! : "unscored";
        var evidence = root.TryGetProperty("evidence", out var e) && e.ValueKind == JsonValueKind.Number ? e.GetDouble() : 0;
        return (level, evidence);
    }

    /// <summary>The simulated answer's length per choice (the client sends n = 1), within <paramref name="limit"/>.</summary>
    internal static int AnswerLength(LabelledEvent e, int limit)
    {
        if (e.Event.Status is < 200 or >= 300)
        {
            return 0;
        }

        var perChoice = e.Event.CompletionTokens / Math.Max(1, e.Event.N);
        return (int)Math.Clamp(perChoice, 0, Math.Max(0, limit));
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static async Task<(string Key, string GatewayId)> ProvisionAsync(HttpClient admin, LabelledEvent e, string accountId, LiveTrafficOptions options, CancellationToken cancellationToken)
    {
        if (options.SelfRegister)
        {
            // The gateway names a self-registered account after its key's hash; derive the key from the account so replays reuse it.
            var key = "sk-sim-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{options.KeySeed}:{accountId}")))[..32];
            var id = "self-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
            return (key, id);
        }

        var account = e.Account;
        using var response = await admin.PostAsJsonAsync("admin/v1/accounts", new CreateAccount
        {
            Id = accountId,
            Org = account?.Org,
            Tier = account?.Tier,
            Verified = account?.Verified,
            PaymentFingerprint = account?.PaymentFingerprint,
            CreatedAt = account?.CreatedAt,
        }, LiveDriverJsonContext.Default.CreateAccount, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Creating account {accountId} failed: {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        return (document.RootElement.GetProperty("apiKey").GetString()!, accountId);
    }

    private static ChatClient CreateClient(Uri baseAddress, string key, LabelledEvent e, string model)
    {
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(baseAddress, "v1"),
            // The simulated outcome is the gateway's to decide: no client-side retries that would change the request count.
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        };
        // The account's address travels as X-Forwarded-For: gateways that trust loopback as a proxy record it.
        if (e.Event.ClientAddress is { } address)
        {
            clientOptions.AddPolicy(new ForwardedForPolicy(address), PipelinePosition.PerCall);
        }

        return new ChatClient(model, new ApiKeyCredential(key), clientOptions);
    }

    private static async Task<int> SendAsync(ChatClient client, LabelledEvent e, LiveTrafficOptions options, CancellationToken cancellationToken)
    {
        var messages = (e.Messages ?? [new ChatTurn("user", e.Event.PromptText ?? "")]).Select(ToMessage).ToList();
        var maxTokens = options.MaxTokensCap is { } cap ? Math.Min(cap, e.Event.MaxTokens ?? cap) : e.Event.MaxTokens;
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK.
        var request = new ChatCompletionOptions
        {
            Temperature = (float?)e.Event.Temperature,
            TopP = (float?)e.Event.TopP,
            MaxOutputTokenCount = maxTokens,
            IncludeLogProbabilities = e.Event.Logprobs ? true : null,
            TopLogProbabilityCount = e.Event.Logprobs ? e.Event.TopLogprobs : null,
            Seed = e.Event.Seed,
        };
#pragma warning restore OPENAI001
        if (options.ReplayAnswerLengths && AnswerLength(e, maxTokens ?? options.DefaultAnswerTokens) is > 0 and var length)
        {
#pragma warning disable SCME0001 // JsonPatch (extra body fields) is experimental in System.ClientModel.
            request.Patch.Set("$.min_tokens"u8, length);
#pragma warning restore SCME0001
        }

        if (e.Event.N > 1)
        {
            // The SDK has no n; the gateway accepts it in the body, so a prober's n samples are asked for as recorded.
#pragma warning disable SCME0001
            request.Patch.Set("$.n"u8, e.Event.N);
#pragma warning restore SCME0001
        }

        foreach (var stop in e.Stop ?? [])
        {
            request.StopSequences.Add(stop);
        }

        try
        {
            if (e.Event.Stream)
            {
                await foreach (var _ in client.CompleteChatStreamingAsync(messages, request, cancellationToken).ConfigureAwait(false))
                {
                }

                return 200;
            }

            var result = await client.CompleteChatAsync(messages, request, cancellationToken).ConfigureAwait(false);
            return result.GetRawResponse().Status;
        }
        catch (ClientResultException ex)
        {
            return ex.Status;
        }
    }

    private static ChatMessage ToMessage(ChatTurn turn) => turn.Role switch
    {
        "system" => new SystemChatMessage(turn.Content),
        "assistant" => new AssistantChatMessage(turn.Content),
        _ => new UserChatMessage(turn.Content),
    };

    /// <summary>Adds X-Forwarded-For with the simulated client address to every request of one account.</summary>
    private sealed class ForwardedForPolicy(string address) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set("X-Forwarded-For", address);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set("X-Forwarded-For", address);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }
}

/// <summary>The admin API's account-creation body.</summary>
internal sealed record CreateAccount
{
    public string? Id { get; init; }
    public string? Org { get; init; }
    public string? Tier { get; init; }
    public bool? Verified { get; init; }
    public string? PaymentFingerprint { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
}

/// <summary>Source-generated JSON for the live driver's admin calls.</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CreateAccount))]
internal sealed partial class LiveDriverJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
