using System.Text.Json.Serialization;

namespace DistillGuard.Gateway.Hosting;

/// <summary>Everything <c>distillguard serve</c> can be told, from the config file and the command line.</summary>
/// <remarks>Defaults make an embedded single-process gateway: built-in model, SQLite under <c>./data</c>.</remarks>
public sealed class GatewayOptions
{
    /// <summary>TCP port to listen on (0 picks a free port).</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Interface to bind: <c>localhost</c>, an IP address, or <c>*</c> for all interfaces.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>Where the usage log, accounts, secrets and built model files live.</summary>
    public string DataDirectory { get; set; } = "./data";

    public LimitOptions Limits { get; set; } = new();

    public AccountOptions Accounts { get; set; } = new();

    public GatewayUsageLogOptions UsageLog { get; set; } = new();

    public RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>State shared by a fleet of gateway replicas; none by default (one process, exact in memory).</summary>
    public SharedStateOptions SharedState { get; set; } = new();

    /// <summary>Where the usage log lives beyond the data directory; none by default (SQLite, <c>usage.db</c>).</summary>
    public GatewayStorageOptions Storage { get; set; } = new();

    /// <summary>The response-policy file (JSON; reloaded on change); the shipped default policy when null.</summary>
    public string? PolicyFile { get; set; }

    public BuiltInModelOptions BuiltInModel { get; set; } = new();

    /// <summary>The watermark of the built-in model's output and its detector.</summary>
    public DistillGuard.Gateway.Watermarking.WatermarkOptions Watermark { get; set; } = new();

    /// <summary>OpenAI-compatible servers the gateway forwards to, by model name.</summary>
    public List<UpstreamOptions> Upstreams { get; set; } = [];

    /// <summary>Peers whose <c>X-Forwarded-For</c> is honoured: IP addresses or CIDR networks. None when empty.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>
    /// Run request handlers on the thread that read the request instead of queueing them to the thread pool
    /// (Kestrel's inline scheduling): one hand-off fewer per request, which is most of the gateway's added
    /// latency on a small machine. Safe because the request path never blocks: CPU-bound work (the built-in
    /// model, admin queries) moves itself to the thread pool first.
    /// </summary>
    public bool InlineScheduling { get; set; } = true;

    /// <summary>
    /// Run socket completions (the upstream's answer arriving, a client's next bytes) on the socket event threads instead
    /// of queueing each to the thread pool: the second hand-off of a proxied request. Process-wide, so <c>serve</c> applies
    /// it before it opens a socket (<see cref="SocketCompletions"/>); a gateway hosted in another program ignores it. Off by
    /// default: with the background loops at a lower priority it no longer changed the measured latency
    /// (docs/benchmarks.md), and anything that blocks on a socket event thread would stall every connection on it.
    /// </summary>
    public bool InlineSocketCompletions { get; set; }

    /// <summary>Sentence-embedding detectors (on by default).</summary>
    public DistillGuard.Gateway.Semantics.GatewaySemanticOptions Semantics { get; set; } = new();

    /// <summary>Admin token; normally left out of the file (environment or data directory).</summary>
    [JsonIgnore]
    public string? AdminToken { get; set; }
}

/// <summary>Bounds on what one request may ask for.</summary>
public sealed class LimitOptions
{
    /// <summary>Largest accepted request body; larger bodies get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>Largest <c>max_tokens</c> a request may ask for.</summary>
    public int MaxCompletionTokens { get; set; } = 4096;

    /// <summary>Largest <c>n</c> (choices per request).</summary>
    public int MaxChoices { get; set; } = 8;

    /// <summary>Completion length when the request names none.</summary>
    public int DefaultMaxTokens { get; set; } = 256;
}

/// <summary>How API keys map to accounts.</summary>
public sealed class AccountOptions
{
    /// <summary>Lets an unknown API key register itself as a new account (demos and simulation only).</summary>
    public bool SelfRegister { get; set; }
}

/// <summary>Static per-key limits by account tier (requests and tokens per minute and per day).</summary>
public sealed class RateLimitOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Limits of tiers not listed in <see cref="Tiers"/>.</summary>
    public string DefaultTier { get; set; } = "standard";

    /// <summary>Limits per tier name; a tier with no limits set is unlimited.</summary>
    public Dictionary<string, DistillGuard.Policy.RateLimiting.RateLimits> Tiers { get; set; } = new(StringComparer.Ordinal)
    {
        ["free"] = new() { RequestsPerMinute = 20, TokensPerMinute = 40_000, RequestsPerDay = 2_000, TokensPerDay = 1_000_000 },
        ["standard"] = new() { RequestsPerMinute = 600, TokensPerMinute = 400_000, RequestsPerDay = 200_000, TokensPerDay = 50_000_000 },
        ["education"] = new() { RequestsPerMinute = 600, TokensPerMinute = 400_000, RequestsPerDay = 200_000, TokensPerDay = 50_000_000 },
        ["verified-research"] = new() { RequestsPerMinute = 1_200, TokensPerMinute = 1_000_000, RequestsPerDay = 500_000, TokensPerDay = 200_000_000 },
        ["enterprise"] = new() { RequestsPerMinute = 6_000, TokensPerMinute = 4_000_000 },
    };

    /// <summary>The limits for an account of <paramref name="tier"/>.</summary>
    internal DistillGuard.Policy.RateLimiting.RateLimits For(string tier) =>
        Tiers.TryGetValue(tier, out var limits) ? limits
        : Tiers.TryGetValue(DefaultTier, out var fallback) ? fallback
        : DistillGuard.Policy.RateLimiting.RateLimits.Unlimited;
}

/// <summary>Where gateway replicas share their hard limits.</summary>
public sealed class SharedStateOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string (<c>host:6379,password=…</c>) of a Redis-protocol server (Redis,
    /// Valkey, Garnet with Lua in transaction mode) holding every key's rate limits and in-flight leases; null keeps
    /// them in this process.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>What a request meets while the server cannot be reached: <c>open</c> (admitted, unlimited) or <c>closed</c> (503).</summary>
    public string OnUnreachable { get; set; } = "open";

    /// <summary>The same choice for single tiers (<c>{ "free": "closed" }</c>), over <see cref="OnUnreachable"/>.</summary>
    public Dictionary<string, string> OnUnreachableByTier { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How long an in-flight lease is held when its gateway dies before settling it.</summary>
    public double LeaseSeconds { get; set; } = 600;

    internal bool FailsOpen(string tier) => (OnUnreachableByTier.TryGetValue(tier, out var mode) ? mode : OnUnreachable) == "open";
}

/// <summary>A server-side database for what replicas write: the usage log in PostgreSQL.</summary>
public sealed class GatewayStorageOptions
{
    /// <summary>
    /// An Npgsql connection string (<c>Host=…;Database=…;Username=…;Password=…</c>): usage events go to PostgreSQL (binary
    /// COPY, partitions by day) instead of <c>usage.db</c>; null keeps them in SQLite. Accounts stay in the data directory.
    /// </summary>
    public string? Postgres { get; set; }

    /// <summary>Days of usage events kept in PostgreSQL (whole day partitions are dropped past it); null keeps them all.</summary>
    public int? EventRetentionDays { get; set; }
}

/// <summary>The usage-event pipeline.</summary>
public sealed class GatewayUsageLogOptions
{
    public int ChannelCapacity { get; set; } = 65_536;

    public int BatchSize { get; set; } = 512;

    /// <summary>Days prompt text is kept in the usage log; 0 keeps none, null keeps it forever.</summary>
    public double? PromptRetentionDays { get; set; } = 30;
}

/// <summary>The built-in n-gram model.</summary>
public sealed class BuiltInModelOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Model id clients ask for.</summary>
    public string Id { get; set; } = "dg-teacher";

    /// <summary>A saved model file to serve instead of the teacher built from the shipped corpus.</summary>
    public string? Path { get; set; }
}

/// <summary>One OpenAI-compatible upstream server.</summary>
public sealed class UpstreamOptions
{
    public string Name { get; set; } = "";

    /// <summary>Base URL including the version segment, e.g. <c>http://127.0.0.1:8000/v1</c>.</summary>
    public string BaseUrl { get; set; } = "";

    /// <summary>Bearer key sent upstream; prefer <see cref="ApiKeyEnvironmentVariable"/> to keep it out of files.</summary>
    public string? ApiKey { get; set; }

    public string? ApiKeyEnvironmentVariable { get; set; }

    /// <summary>Model ids served by this upstream, as clients name them.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Longest wait for the response headers (and for a non-streamed body).</summary>
    public double TimeoutSeconds { get; set; } = 120;

    /// <summary>Longest wait for a TCP connection.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Longest silence between two streamed chunks before the stream is cut with an error.</summary>
    public double StreamIdleTimeoutSeconds { get; set; } = 60;

    /// <summary>Largest non-streamed answer accepted from the upstream; a larger one is a 502 (the gateway holds it whole to rewrite it).</summary>
    public long MaxResponseBytes { get; set; } = 16 << 20;

    /// <summary>Largest single line of an upstream stream (one SSE event's data); a larger one cuts the stream with a 502 event.</summary>
    public int MaxEventBytes { get; set; } = 1 << 20;

    /// <summary>The watermark the upstream engine puts on its own output, for <c>detect</c> with this upstream's models; null for none.</summary>
    public DistillGuard.Gateway.Watermarking.EngineWatermarkOptions? Watermark { get; set; }

    internal string? ResolveApiKey() =>
        ApiKeyEnvironmentVariable is { Length: > 0 } name ? Environment.GetEnvironmentVariable(name) : ApiKey;
}
