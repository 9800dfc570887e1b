using System.Globalization;
using System.Text;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Usage;
using DistillGuard.Policy.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Inference;

/// <summary>Applies the static per-key, per-tier limits at admission and meters tokens as they flow.</summary>
/// <remarks>
/// Two modes. In one process (the default) the limits live in memory: a request is admitted before its body is read
/// while the key's token balance is positive, and its tokens are debited as they flow. With a shared store
/// (<c>sharedState.redis</c>) every replica sees the same balances: a request is admitted once its body is parsed, in
/// one atomic step that counts it, reserves its token ceiling and takes an in-flight lease, and it is settled when its
/// answer ends — so concurrent requests spread over replicas can never overdraw a limit.
/// </remarks>
internal sealed class RateLimitAdmission(IRateLimiter limiter, GatewayOptions options, TimeProvider time, IAdmissionStore? shared = null)
{
    /// <summary>Admits the authenticated request or answers 429; sets <c>x-ratelimit-*</c> headers either way.</summary>
    public async ValueTask<bool> AdmitAsync(HttpContext context, RequestUsage usage)
    {
        if (shared is not null || !options.RateLimits.Enabled || usage.Caller is not { } caller)
        {
            return true;
        }

        var limits = options.RateLimits.For(caller.Account.Tier);
        if (limits.IsUnlimited)
        {
            return true;
        }

        var key = caller.KeyId;
        var decision = limiter.TryAcquire(key, limits, time.GetUtcNow());
        WriteHeaders(context.Response.Headers, decision);
        if (decision.Admitted)
        {
            usage.TokenMeter = tokens => limiter.ConsumeTokens(key, limits, tokens, time.GetUtcNow());
            return true;
        }

        await RefuseAsync(context, decision, limits, caller.Account.Tier);
        return false;
    }

    /// <summary>
    /// With a shared store: admits the parsed request against it, reserving its token ceiling, or answers 429 (or 503
    /// when the store is unreachable and the tier fails closed). Without one, admission already happened.
    /// </summary>
    public async ValueTask<bool> ReserveAsync(HttpContext context, RequestUsage usage, InferenceRequest request)
    {
        if (shared is null || !options.RateLimits.Enabled || usage.Caller is not { } caller)
        {
            return true;
        }

        var tier = caller.Account.Tier;
        var limits = options.RateLimits.For(tier);
        if (limits.IsUnlimited)
        {
            return true;
        }

        // Every key of one account shares the account's hash tag, so a cluster keeps them on one slot.
        var key = "{" + caller.Account.Id + "}:" + caller.KeyId;
        var ceiling = TokenCeiling(request, options.Limits.DefaultMaxTokens);
        var lease = limits.ConcurrentRequests is { } most ? new InFlightLease(usage.RequestId, most, TimeSpan.FromSeconds(options.SharedState.LeaseSeconds)) : null;
        var decision = await shared.TryAdmitAsync(new Admission(key, limits, 1, ceiling, lease, time.GetUtcNow()), context.RequestAborted);
        if (decision.LimitedBy == RateLimitKind.StoreUnavailable && options.SharedState.FailsOpen(tier))
        {
            return true;
        }

        WriteHeaders(context.Response.Headers, decision);
        if (decision.Admitted)
        {
            var store = shared;
            usage.Settlement = ended => store.Settle(new Settlement(key, limits, ceiling, ended.TokensCounted, lease?.Id, time.GetUtcNow()));
            return true;
        }

        await RefuseAsync(context, decision, limits, tier);
        return false;
    }

    /// <summary>
    /// The most tokens a request can use: its prompt's UTF-8 bytes (a byte-level BPE never makes more tokens than
    /// bytes) plus a chat template's few tokens per message, and every choice at its length limit.
    /// </summary>
    internal static long TokenCeiling(InferenceRequest request, int defaultMaxTokens)
    {
        var prompt = (long)Encoding.UTF8.GetByteCount(request.PromptText) + (4L * request.Messages.Count) + 4;
        return prompt + ((long)Math.Max(1, request.N) * (request.MaxTokens ?? defaultMaxTokens));
    }

    private static async Task RefuseAsync(HttpContext context, RateLimitDecision decision, RateLimits limits, string tier)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(decision.RetryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        if (decision.LimitedBy == RateLimitKind.StoreUnavailable)
        {
            await OpenAIError.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                $"The gateway cannot reach its shared rate-limit store. Try again in {seconds} s.", "server_error", "rate_limit_store_unavailable");
            return;
        }

        var (what, limit) = decision.LimitedBy switch
        {
            RateLimitKind.RequestsPerMinute => ("requests per minute", limits.RequestsPerMinute),
            RateLimitKind.RequestsPerDay => ("requests per day", limits.RequestsPerDay),
            RateLimitKind.TokensPerMinute => ("tokens per minute", limits.TokensPerMinute),
            RateLimitKind.ConcurrentRequests => ("requests in flight", limits.ConcurrentRequests),
            _ => ("tokens per day", limits.TokensPerDay),
        };
        var type = decision.LimitedBy is RateLimitKind.TokensPerMinute or RateLimitKind.TokensPerDay ? "tokens" : "requests";
        await OpenAIError.WriteAsync(context, StatusCodes.Status429TooManyRequests,
            $"Rate limit reached for {what} (limit {limit} for tier '{tier}'). Try again in {seconds} s.", type, "rate_limit_exceeded");
    }
    private static void WriteHeaders(IHeaderDictionary headers, RateLimitDecision decision)
    {
        if (decision.Requests.IsLimited)
        {
            headers["x-ratelimit-limit-requests"] = decision.Requests.Limit.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-requests"] = decision.Requests.Remaining.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-requests"] = Duration(decision.Requests.Reset);
        }

        if (decision.Tokens.IsLimited)
        {
            headers["x-ratelimit-limit-tokens"] = decision.Tokens.Limit.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-tokens"] = decision.Tokens.Remaining.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-tokens"] = Duration(decision.Tokens.Reset);
        }
    }

    /// <summary>OpenAI's reset format: <c>1s</c>, <c>6m0s</c>, <c>250ms</c>.</summary>
    internal static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.FromSeconds(1))
        {
            return ((long)Math.Ceiling(span.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var seconds = (long)Math.Ceiling(span.TotalSeconds);
        return seconds switch
        {
            < 60 => $"{seconds}s",
            < 3600 => $"{seconds / 60}m{seconds % 60}s",
            _ => $"{seconds / 3600}h{seconds / 60 % 60}m{seconds % 60}s",
        };
    }
}
