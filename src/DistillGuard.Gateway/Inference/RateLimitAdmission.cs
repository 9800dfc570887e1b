using System.Globalization;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Usage;
using DistillGuard.Policy.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Inference;

/// <summary>Applies the static per-key, per-tier limits at admission and meters tokens as they flow.</summary>
internal sealed class RateLimitAdmission(IRateLimiter limiter, GatewayOptions options, TimeProvider time)
{
    /// <summary>Admits the authenticated request or answers 429; sets <c>x-ratelimit-*</c> headers either way.</summary>
    public async ValueTask<bool> AdmitAsync(HttpContext context, RequestUsage usage)
    {
        if (!options.RateLimits.Enabled || usage.Caller is not { } caller)
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

        var seconds = Math.Max(1, (long)Math.Ceiling(decision.RetryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var (what, limit) = decision.LimitedBy switch
        {
            RateLimitKind.RequestsPerMinute => ("requests per minute", limits.RequestsPerMinute),
            RateLimitKind.RequestsPerDay => ("requests per day", limits.RequestsPerDay),
            RateLimitKind.TokensPerMinute => ("tokens per minute", limits.TokensPerMinute),
            _ => ("tokens per day", limits.TokensPerDay),
        };
        var type = decision.LimitedBy is RateLimitKind.RequestsPerMinute or RateLimitKind.RequestsPerDay ? "requests" : "tokens";
        await OpenAIError.WriteAsync(context, StatusCodes.Status429TooManyRequests,
            $"Rate limit reached for {what} (limit {limit} for tier '{caller.Account.Tier}'). Try again in {seconds} s.", type, "rate_limit_exceeded");
        return false;
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
