using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.Simulation;
using DistillGuard.Policy.Configuration;
using DistillGuard.Policy.Ladder;
using DistillGuard.Policy.RateLimiting;
using DistillGuard.Storage.Usage;

namespace DistillGuard.Lab.PolicyEvaluation;

/// <summary>What happened to one request under the policy.</summary>
public enum RequestTreatment
{
    Served,

    /// <summary>Served, but reshaped (no logprobs, one choice, capped length).</summary>
    Degraded,

    /// <summary>Refused by the throttle rung (429).</summary>
    Throttled,

    /// <summary>Refused until the account verifies (403).</summary>
    VerificationRequired,

    /// <summary>Refused: the account is suspended (only after a human approved it).</summary>
    Suspended,
}

/// <summary>Settings of a policy replay.</summary>
public sealed class PolicySimulationOptions
{
    public PolicyDocument Policy { get; init; } = new();

    /// <summary>How often (virtual time) an active account's decision is refreshed; the gateway refreshes every few seconds.</summary>
    public TimeSpan DecisionInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Accounts an analyst has allowlisted (e.g. the licensed synthetic-data customer).</summary>
    public IReadOnlySet<string> Allowlist { get; init; } = new HashSet<string>();

    /// <summary>When set, a human reviews every review-queue entry after this delay and approves the suspension of attackers (and rejects legitimate accounts).</summary>
    public TimeSpan? HumanReviewDelay { get; init; }
}

/// <summary>Per-account outcome of a replay.</summary>
public sealed class AccountOutcome
{
    public required string AccountId { get; init; }
    public required string Archetype { get; init; }
    public required bool IsAttacker { get; init; }
    public long Requests { get; set; }
    public long AttackRequests { get; set; }
    public long Degraded { get; set; }
    public long Throttled { get; set; }
    public long Refused { get; set; }
    public long TokensAsked { get; set; }
    public long TokensServed { get; set; }
    public long AttackTokensAsked { get; set; }
    public long AttackTokensServed { get; set; }
    public long LogprobRequestsServedWithLogprobs { get; set; }
    public RiskBand MaxBand { get; set; }
    public bool Queued { get; set; }
    public bool Suspended { get; set; }

    /// <summary>Requests the account had sent when it first reached the review band (null: never).</summary>
    public long? RequestsAtFirstBand { get; set; }
}

/// <summary>Replays traffic through the detector and the ladder in virtual time and counts what each request would have met.</summary>
/// <remarks>
/// The same <see cref="DetectionEngine"/>, <see cref="ActionLadder"/> and <see cref="TokenBucketRateLimiter"/> the gateway
/// runs, fed the simulator's (or a recorded) event stream; refused requests still reach the detector, as in the gateway.
/// </remarks>
public static class PolicySimulation
{
    /// <summary>Replays <paramref name="events"/>; <paramref name="label"/> says which requests are distillation (null: none are).</summary>
    public static IReadOnlyDictionary<string, AccountOutcome> Run(
        IEnumerable<UsageEvent> events,
        DetectionCalibration calibration,
        PolicySimulationOptions options,
        Func<string, (string Archetype, bool IsAttacker, string Tier, bool Verified)> account,
        Func<UsageEvent, bool>? isAttack = null)
    {
        var engine = new DetectionEngine(calibration);
        var limiter = new TokenBucketRateLimiter();
        var policy = options.Policy;
        var decisions = new Dictionary<string, PolicyDecision>(StringComparer.Ordinal);
        var lastDecided = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var queuedAt = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var manual = new Dictionary<string, (ManualStatus Status, DateTimeOffset At, RiskBand Band)>(StringComparer.Ordinal);
        var outcomes = new Dictionary<string, AccountOutcome>(StringComparer.Ordinal);

        foreach (var e in events)
        {
            if (e.AccountId is not { Length: > 0 } id)
            {
                continue;
            }

            var now = e.Timestamp;
            if (!outcomes.TryGetValue(id, out var outcome))
            {
                var (archetype, attacker, tier, verified) = account(id);
                outcomes[id] = outcome = new AccountOutcome { AccountId = id, Archetype = archetype, IsAttacker = attacker };
                engine.SetProfile(id, new AccountProfile(tier, verified));
                if (options.Allowlist.Contains(id))
                {
                    manual[id] = (ManualStatus.Allowlisted, now, RiskBand.None);
                }
            }

            // A human works the queue: attackers are suspended, legitimate accounts cleared.
            if (options.HumanReviewDelay is { } delay && queuedAt.TryGetValue(id, out var queued) && now - queued >= delay && !manual.ContainsKey(id))
            {
                var band = decisions.TryGetValue(id, out var d) ? d.Band : RiskBand.Review;
                manual[id] = outcome.IsAttacker ? (ManualStatus.Suspended, now, band) : (ManualStatus.Cleared, now, band);
                outcome.Suspended |= outcome.IsAttacker;
                lastDecided.Remove(id);
            }

            // Decide at calibration-tick boundaries (aligned, as the calibration's snapshots are): the first request
            // after a boundary finds the account's state exactly as it was at the boundary.
            var boundary = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % options.DecisionInterval.Ticks), TimeSpan.Zero);
            if (!lastDecided.TryGetValue(id, out var last) || boundary > last)
            {
                lastDecided[id] = boundary;
                var decided = Decide(engine, policy, id, account(id), manual, boundary);
                decisions[id] = decided;
                if (decided.Band > outcome.MaxBand)
                {
                    outcome.MaxBand = decided.Band;
                    outcome.RequestsAtFirstBand ??= outcome.Requests;
                    var rule = decided.Band == RiskBand.Friction ? policy.Friction : policy.Review;
                    if (rule.Queue && !queuedAt.ContainsKey(id))
                    {
                        queuedAt[id] = now;
                        outcome.Queued = true;
                    }
                }
            }

            var decision = decisions[id];
            var attack = isAttack?.Invoke(e) ?? false;
            var (treatment, served) = Treat(decision, policy, limiter, e, now);
            outcome.Requests++;
            outcome.TokensAsked += e.CompletionTokens;
            outcome.TokensServed += served;
            if (attack)
            {
                outcome.AttackRequests++;
                outcome.AttackTokensAsked += e.CompletionTokens;
                outcome.AttackTokensServed += served;
            }

            switch (treatment)
            {
                case RequestTreatment.Degraded:
                    outcome.Degraded++;
                    break;
                case RequestTreatment.Throttled:
                    outcome.Throttled++;
                    break;
                case RequestTreatment.VerificationRequired or RequestTreatment.Suspended:
                    outcome.Refused++;
                    break;
            }

            if (e.Logprobs && treatment == RequestTreatment.Served)
            {
                outcome.LogprobRequestsServedWithLogprobs++;
            }

            engine.Observe(e);
        }

        return outcomes;
    }

    /// <summary>What the ladder does to one request, and the completion tokens it then serves.</summary>
    public static (RequestTreatment Treatment, long ServedTokens) Treat(PolicyDecision decision, PolicyDocument policy, IRateLimiter limiter, UsageEvent e, DateTimeOffset now)
    {
        if (decision.Has(LadderAction.Suspend))
        {
            return (RequestTreatment.Suspended, 0);
        }

        if (decision.Has(LadderAction.RequireVerification))
        {
            return (RequestTreatment.VerificationRequired, 0);
        }

        if (decision.Has(LadderAction.Throttle))
        {
            var key = "throttle:" + decision.AccountId;
            if (!limiter.TryAcquire(key, policy.Throttle.Account, now).Admitted)
            {
                return (RequestTreatment.Throttled, 0);
            }

            limiter.ConsumeTokens(key, policy.Throttle.Account, e.PromptTokens + e.CompletionTokens, now);
        }

        if (!decision.Has(LadderAction.ReduceDistillability))
        {
            return (RequestTreatment.Served, e.CompletionTokens);
        }

        var reduce = policy.Reduce;
        var served = reduce.MaxTokens is { } cap ? Math.Min(e.CompletionTokens, cap) : e.CompletionTokens;
        if (reduce.MaxChoices is { } maxChoices && e.N > maxChoices)
        {
            served = served * maxChoices / e.N;
        }

        var changed = served < e.CompletionTokens || (reduce.DropLogprobs && e.Logprobs) || (reduce.MaxChoices is { } mc && e.N > mc);
        return (changed ? RequestTreatment.Degraded : RequestTreatment.Served, served);
    }

    private static PolicyDecision Decide(
        DetectionEngine engine,
        PolicyDocument policy,
        string id,
        (string Archetype, bool IsAttacker, string Tier, bool Verified) account,
        Dictionary<string, (ManualStatus Status, DateTimeOffset At, RiskBand Band)> manual,
        DateTimeOffset now)
    {
        var (status, at, band) = manual.TryGetValue(id, out var m) ? m : (ManualStatus.None, default, RiskBand.None);
        var standing = new AccountStanding(id, account.Tier, account.Verified, status, status == ManualStatus.None ? null : at, band);
        if (engine.Assess(id, now) is not { } assessment)
        {
            return ActionLadder.Decide(policy, standing, new RiskInput(0, 1, 1, Sufficient: false), now);
        }

        var thresholds = engine.Calibration.ThresholdsFor(assessment.Cohort);
        var risk = new RiskInput(assessment.Evidence, thresholds.Review, thresholds.Friction, assessment.Level != "insufficient_evidence");
        return ActionLadder.Decide(policy, standing, risk, now);
    }

    /// <summary>Replays one simulated scenario; the simulator's labels say which requests are distillation.</summary>
    public static IReadOnlyDictionary<string, AccountOutcome> RunScenario(ScenarioOptions scenario, DetectionCalibration calibration, PolicySimulationOptions options)
    {
        var accounts = TrafficSimulator.Accounts(scenario).ToDictionary(a => a.Id, StringComparer.Ordinal);
        var attackRequests = new HashSet<string>(StringComparer.Ordinal);
        var events = TrafficSimulator.Generate(scenario).Select(labelled =>
        {
            if (labelled.IsAttacker)
            {
                attackRequests.Add(labelled.Event.RequestId);
            }

            return labelled.Event;
        });
        var allowlist = new HashSet<string>(options.Allowlist.Concat(accounts.Values.Where(a => a.Authorised).Select(a => a.Id)), StringComparer.Ordinal);
        var withAllowlist = new PolicySimulationOptions
        {
            Policy = options.Policy,
            DecisionInterval = options.DecisionInterval,
            Allowlist = allowlist,
            HumanReviewDelay = options.HumanReviewDelay,
        };
        return Run(
            events,
            calibration,
            withAllowlist,
            id => accounts.TryGetValue(id, out var a) ? (a.Archetype, a.IsAttacker, a.Tier, a.Verified) : ("unknown", false, "standard", false),
            e => attackRequests.Remove(e.RequestId));
    }
}
