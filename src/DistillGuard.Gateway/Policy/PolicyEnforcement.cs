using System.Globalization;
using DistillGuard.Gateway.Inference;
using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Usage;
using DistillGuard.Policy.Ladder;
using DistillGuard.Policy.RateLimiting;
using DistillGuard.Usage;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Policy;

/// <summary>Applies the cached ladder decision to one request: refuse, throttle, or reshape it.</summary>
/// <remarks>Request-path cost: one dictionary lookup, plus a token-bucket check for throttled accounts.</remarks>
internal sealed class PolicyEnforcement(PolicyState state, PolicyProvider policy, IRateLimiter limiter, PolicyHostOptions options, TimeProvider time)
{
    /// <summary>Admits the request, or answers 403 (suspended, verification required) or 429 (throttled).</summary>
    public async ValueTask<bool> AdmitAsync(HttpContext context, RequestUsage usage)
    {
        if (usage.Caller is not { } caller)
        {
            return true;
        }

        var decision = state.DecisionFor(caller.Account.Id);
        usage.Decision = decision;
        if (decision.IsPassive)
        {
            return true;
        }

        if (options.ExposeHeader)
        {
            context.Response.Headers["x-distillguard-policy"] = $"{ActionLadder.Name(decision.Band)}; actions={PolicyWorker.Names(decision.Applied)}";
        }

        var document = policy.Current;
        if (decision.Has(LadderAction.Suspend))
        {
            await OpenAIError.WriteAsync(context, StatusCodes.Status403Forbidden,
                $"This account is suspended after a review of its usage. To appeal, contact support and quote account '{caller.Account.Id}'.",
                "permission_error", PolicyRefusals.AccountSuspended);
            return false;
        }

        if (decision.Has(LadderAction.RequireVerification))
        {
            await OpenAIError.WriteAsync(context, StatusCodes.Status403Forbidden,
                $"This account's usage requires identity verification before more requests are served. Verify at {document.VerificationUrl} and retry; nothing else needs to change.",
                "permission_error", PolicyRefusals.VerificationRequired);
            return false;
        }

        if (decision.Has(LadderAction.Throttle))
        {
            var now = time.GetUtcNow();
            var accountKey = "throttle:" + caller.Account.Id;
            var refusal = limiter.TryAcquire(accountKey, document.Throttle.Account, now);
            if (refusal.Admitted && decision.CampaignId is { } campaign && !document.Throttle.Campaign.IsUnlimited)
            {
                refusal = limiter.TryAcquire("campaign:" + campaign, document.Throttle.Campaign, now);
            }

            if (!refusal.Admitted)
            {
                var seconds = Math.Max(1, (long)Math.Ceiling(refusal.RetryAfter.TotalSeconds));
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await OpenAIError.WriteAsync(context, StatusCodes.Status429TooManyRequests,
                    $"This account's request rate is reduced while its usage is reviewed. Try again in {seconds} s.",
                    "requests", "rate_limit_exceeded");
                return false;
            }

            var limits = document.Throttle.Account;
            var inner = usage.TokenMeter;
            usage.TokenMeter = tokens =>
            {
                inner?.Invoke(tokens);
                limiter.ConsumeTokens(accountKey, limits, tokens, time.GetUtcNow());
            };
        }

        return true;
    }

    /// <summary>The request as the decision allows it: fewer choices, no logprobs, capped length, no reasoning traces.</summary>
    public InferenceRequest Shape(InferenceRequest request, RequestUsage usage) =>
        usage.Decision?.Has(LadderAction.ReduceDistillability) == true ? request.Reduce(policy.Current.ReductionFor(usage.Decision.Band)) : request;
}
