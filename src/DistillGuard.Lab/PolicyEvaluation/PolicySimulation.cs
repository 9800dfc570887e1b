using DistillGuard.Detection.Calibration;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.Simulation;
using DistillGuard.Policy.Configuration;
using DistillGuard.Policy.Ladder;
using DistillGuard.Policy.RateLimiting;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

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

    /// <summary>
    /// How often (virtual time) decisions are refreshed, at aligned boundaries: hourly by default, as the gateway decides
    /// (<c>PolicyHostOptions.DecisionInterval</c>, ADR 3), so that <c>policy replay</c> shows what the gateway would have done.
    /// </summary>
    public TimeSpan DecisionInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Accounts an analyst has allowlisted (e.g. the licensed synthetic-data customer).</summary>
    public IReadOnlySet<string> Allowlist { get; init; } = new HashSet<string>();

    /// <summary>When set, a human reviews every review-queue entry after this delay and approves the suspension of attackers (and rejects legitimate accounts).</summary>
    public TimeSpan? HumanReviewDelay { get; init; }

    /// <summary>Link accounts into campaigns and let a campaign's pooled risk raise its members' bands (as the gateway does).</summary>
    public bool LinkCampaigns { get; init; } = true;

    /// <summary>Also decide an account when its request count reaches a milestone (10, 14, 20, …), as the gateway does.</summary>
    public bool DecideAtMilestones { get; init; } = true;
}

/// <summary>What the replay knows about one account: the label (for counting) and what the account store would hold.</summary>
/// <param name="PaymentFingerprintHash">Keyed hash of the payment instrument, as the account store keeps it.</param>
public sealed record ReplayAccount(
    string Archetype,
    bool IsAttacker,
    string Tier,
    bool Verified,
    string? Org = null,
    string? PaymentFingerprintHash = null,
    DateTimeOffset? CreatedAt = null);

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

    /// <summary>The account was a member of a campaign whose pooled risk reached a band.</summary>
    public bool InFlaggedCampaign { get; set; }

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
        Func<string, ReplayAccount> account,
        Func<UsageEvent, bool>? isAttack = null)
    {
        var engine = new DetectionEngine(calibration);
        var campaigns = options.LinkCampaigns ? new CampaignGraph(calibration) : null;
        var limiter = new TokenBucketRateLimiter();
        var policy = options.Policy;
        var decisions = new Dictionary<string, PolicyDecision>(StringComparer.Ordinal);
        var lastDecided = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var queuedAt = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var manual = new Dictionary<string, (ManualStatus Status, DateTimeOffset At, RiskBand Band)>(StringComparer.Ordinal);
        var outcomes = new Dictionary<string, AccountOutcome>(StringComparer.Ordinal);
        var profiles = new Dictionary<string, ReplayAccount>(StringComparer.Ordinal);
        var campaignRisk = new Dictionary<string, CampaignRisk>(StringComparer.Ordinal);
        var campaignReview = new CampaignReview(policy, options.HumanReviewDelay);
        var tick = DateTimeOffset.MinValue;
        var milestonesDue = new HashSet<string>(StringComparer.Ordinal);

        foreach (var e in events)
        {
            if (e.AccountId is not { Length: > 0 } id)
            {
                continue;
            }

            var now = e.Timestamp;
            if (!outcomes.TryGetValue(id, out var outcome))
            {
                var profile = profiles[id] = account(id);
                outcomes[id] = outcome = new AccountOutcome { AccountId = id, Archetype = profile.Archetype, IsAttacker = profile.IsAttacker };
                engine.SetProfile(id, new AccountProfile(profile.Tier, profile.Verified));
                campaigns?.SetIdentity(new CampaignIdentity(id, profile.Org, profile.Tier, profile.Verified, profile.PaymentFingerprintHash, profile.CreatedAt));
                if (options.Allowlist.Contains(id))
                {
                    manual[id] = (ManualStatus.Allowlisted, now, RiskBand.None);
                }
            }

            // Decide at calibration-tick boundaries (aligned, as the calibration's snapshots are): the first request
            // after a boundary finds the account's state exactly as it was at the boundary.
            var boundary = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % options.DecisionInterval.Ticks), TimeSpan.Zero);
            if (campaigns is not null && boundary > tick)
            {
                // Once per tick for the whole population: re-link, score the pools, and let the analyst work campaign entries.
                tick = boundary;
                campaigns.Rebuild(boundary);
                campaignRisk.Clear();
                foreach (var assessed in campaigns.AssessAll(boundary))
                {
                    var risk = new CampaignRisk(assessed.Campaign.Id, assessed.Campaign.Members.Count, assessed.Evidence, assessed.ReviewThreshold, assessed.FrictionThreshold, assessed.Sufficient);
                    foreach (var (member, verdict) in campaignReview.Update(assessed.Campaign, risk, boundary, m => outcomes.TryGetValue(m, out var o) && o.IsAttacker))
                    {
                        if (!outcomes.TryGetValue(member, out var memberOutcome) || manual.ContainsKey(member))
                        {
                            continue;
                        }

                        manual[member] = (verdict, boundary, RiskBand.Friction);
                        memberOutcome.Suspended |= verdict == ManualStatus.Suspended;
                        lastDecided.Remove(member);
                    }

                    if (!campaignReview.IsCleared(assessed.Campaign.Id, boundary))
                    {
                        campaignRisk[assessed.Campaign.Id] = risk;
                    }
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

            // Or as soon as the account's count reaches a milestone: the request after it finds the state the
            // calibration's milestone snapshot saw (the gateway decides on its next pass, within seconds).
            var milestone = milestonesDue.Remove(id);
            if (!lastDecided.TryGetValue(id, out var last) || boundary > last || milestone)
            {
                lastDecided[id] = boundary;
                var member = campaigns?.CampaignOf(id) is { } campaignId && campaignRisk.TryGetValue(campaignId, out var pooled)
                    ? pooled with { Core = campaigns.Find(campaignId)?.IsCore(id) ?? true }
                    : null;
                var (decided, own) = Decide(engine, policy, id, profiles[id], member, manual, milestone ? now : boundary);
                decisions[id] = decided;
                outcome.InFlaggedCampaign |= member is not null && ActionLadder.CampaignBand(policy, profiles[id].Tier, new RiskInput(0, 1, 1, false, Campaign: member)) > RiskBand.None;
                if (decided.Band > outcome.MaxBand)
                {
                    outcome.MaxBand = decided.Band;
                    outcome.RequestsAtFirstBand ??= outcome.Requests;
                }

                // The account's own entry; members raised only by their campaign are reviewed through the campaign's entry.
                var rule = own == RiskBand.Friction ? policy.Friction : policy.Review;
                if (own > RiskBand.None && rule.Queue && !queuedAt.ContainsKey(id))
                {
                    queuedAt[id] = now;
                    outcome.Queued = true;
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
            // Marked as the gateway's detection worker marks it: only a request the engine counted reaches a milestone.
            if (options.DecideAtMilestones && DetectionEngine.Counts(e) && TrafficReplay.IsMilestone(engine.RequestCount(id)))
            {
                milestonesDue.Add(id);
            }

            campaigns?.Observe(e);
        }

        foreach (var (id, outcome) in outcomes)
        {
            outcome.Queued |= campaignReview.WasQueued(campaigns?.CampaignOf(id));
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
            // The account's bucket, then the campaign's bucket that all its members share, as the gateway checks them.
            var key = "throttle:" + decision.AccountId;
            var admitted = limiter.TryAcquire(key, policy.Throttle.Account, now).Admitted;
            if (admitted && decision.CampaignId is { } campaign && !policy.Throttle.Campaign.IsUnlimited)
            {
                admitted = limiter.TryAcquire("campaign:" + campaign, policy.Throttle.Campaign, now).Admitted;
            }

            if (!admitted)
            {
                return (RequestTreatment.Throttled, 0);
            }

            limiter.ConsumeTokens(key, policy.Throttle.Account, e.PromptTokens + e.CompletionTokens, now);
        }

        if (!decision.Has(LadderAction.ReduceDistillability))
        {
            return (RequestTreatment.Served, e.CompletionTokens);
        }

        var reduce = policy.ReductionFor(decision.Band);

        // max_tokens bounds each choice, so the cap applies to the average choice; cut choices are not served at all.
        var choices = Math.Max(1, e.N);
        var perChoice = (double)e.CompletionTokens / choices;
        var keptPerChoice = reduce.MaxTokens is { } cap ? Math.Min(perChoice, cap) : perChoice;
        var kept = reduce.MaxChoices is { } maxChoices ? Math.Min(choices, maxChoices) : choices;
        var served = (long)Math.Round(keptPerChoice * kept);
        var changed = keptPerChoice < perChoice || kept < choices || (reduce.DropLogprobs && e.Logprobs);
        return (changed ? RequestTreatment.Degraded : RequestTreatment.Served, served);
    }

    private static (PolicyDecision Decision, RiskBand Own) Decide(
        DetectionEngine engine,
        PolicyDocument policy,
        string id,
        ReplayAccount account,
        CampaignRisk? campaign,
        Dictionary<string, (ManualStatus Status, DateTimeOffset At, RiskBand Band)> manual,
        DateTimeOffset now)
    {
        var (status, at, band) = manual.TryGetValue(id, out var m) ? m : (ManualStatus.None, default, RiskBand.None);
        var standing = new AccountStanding(id, account.Tier, account.Verified, status, status == ManualStatus.None ? null : at, band);
        var risk = new RiskInput(0, 1, 1, Sufficient: false, Campaign: campaign);
        if (engine.Assess(id, now) is { } assessment)
        {
            var thresholds = engine.Calibration.ThresholdsFor(assessment.Cohort);
            risk = new RiskInput(assessment.Evidence, thresholds.Review, thresholds.Friction, assessment.Level != "insufficient_evidence", Campaign: campaign);
        }

        return (ActionLadder.Decide(policy, standing, risk, now), ActionLadder.OwnBand(policy, account.Tier, risk));
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
            DecideAtMilestones = options.DecideAtMilestones,
            Allowlist = allowlist,
            HumanReviewDelay = options.HumanReviewDelay,
            LinkCampaigns = options.LinkCampaigns,
        };
        return Run(
            events,
            calibration,
            withAllowlist,
            id => accounts.TryGetValue(id, out var a)
                ? new ReplayAccount(a.Archetype, a.IsAttacker, a.Tier, a.Verified, a.Org, a.PaymentFingerprint, a.CreatedAt)
                : new ReplayAccount("unknown", false, "standard", false),
            e => attackRequests.Remove(e.RequestId));
    }
}
