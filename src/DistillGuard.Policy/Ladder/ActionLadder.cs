using DistillGuard.Policy.Configuration;

namespace DistillGuard.Policy.Ladder;

/// <summary>What an analyst has decided about an account, which outranks the automatic ladder.</summary>
public enum ManualStatus
{
    None,

    /// <summary>Vouched for: scored and recorded, never acted on automatically.</summary>
    Allowlisted,

    /// <summary>Suspended after a human approved it (review queue or an admin block).</summary>
    Suspended,

    /// <summary>Judged a false positive: automatic actions pause for the grace period unless the risk climbs a band.</summary>
    Cleared,
}

/// <summary>The account facts the ladder needs.</summary>
/// <param name="Verified">The customer has completed identity verification.</param>
/// <param name="ManualAt">When the manual status was set.</param>
/// <param name="ManualBand">The band the account was in when it was cleared.</param>
public sealed record AccountStanding(string AccountId, string Tier, bool Verified, ManualStatus Manual = ManualStatus.None, DateTimeOffset? ManualAt = null, RiskBand ManualBand = RiskBand.None);

/// <summary>The detector's view of an account, as the ladder reads it.</summary>
/// <param name="Evidence">Combined evidence (nats).</param>
/// <param name="ReviewThreshold">The cohort's calibrated review-band threshold (FPR ≤ 1e-3 per account-week).</param>
/// <param name="FrictionThreshold">The cohort's calibrated friction-band threshold (FPR ≤ 1e-4 per account-week).</param>
/// <param name="Sufficient">False while the account has too little traffic to be scored.</param>
/// <param name="Campaign">The pooled risk of the campaign the account belongs to, when it is in one.</param>
public sealed record RiskInput(double Evidence, double ReviewThreshold, double FrictionThreshold, bool Sufficient, string? CampaignId = null, IReadOnlyList<string>? ReasonCodes = null, CampaignRisk? Campaign = null);

/// <summary>The detector's view of a campaign's pooled traffic, which every member inherits.</summary>
/// <param name="Members">Accounts linked into the campaign.</param>
/// <param name="Evidence">Combined evidence of the pooled traffic (nats).</param>
/// <param name="ReviewThreshold">The campaign cohort's calibrated review threshold.</param>
/// <param name="FrictionThreshold">The campaign cohort's calibrated friction threshold.</param>
/// <param name="Sufficient">False while the pooled traffic is too thin to score.</param>
/// <param name="Core">False for a fringe member (tied to the campaign by one kind of artifact only): its campaign band is one lower.</param>
public sealed record CampaignRisk(string Id, int Members, double Evidence, double ReviewThreshold, double FrictionThreshold, bool Sufficient, bool Core = true);

/// <summary>Risk bands, in order.</summary>
public enum RiskBand
{
    None,
    Review,
    Friction,
}

/// <summary>The ladder's verdict for one account: what applies now, what a shadow rule would have done, and why.</summary>
public sealed record PolicyDecision(
    string AccountId,
    RiskBand Band,
    IReadOnlySet<LadderAction> Applied,
    IReadOnlySet<LadderAction> Shadowed,
    string? CampaignId,
    string Explanation)
{
    /// <summary>Nothing applies.</summary>
    public static PolicyDecision None(string accountId) => new(accountId, RiskBand.None, s_empty, s_empty, null, "no risk band");

    private static readonly IReadOnlySet<LadderAction> s_empty = new HashSet<LadderAction>();

    public bool Has(LadderAction action) => Applied.Contains(action);

    /// <summary>True when the decision changes nothing for the request.</summary>
    public bool IsPassive => Applied.Count == 0 || (Applied.Count == 1 && Applied.Contains(LadderAction.Monitor));
}

/// <summary>Turns risk, tier and analyst decisions into proportionate, reversible actions.</summary>
/// <remarks>A pure function of its inputs: the same code decides in the gateway, in replay and in tests.</remarks>
public static class ActionLadder
{
    /// <summary>The account's band: the higher of its own and its campaign's, each against the tier's thresholds.</summary>
    public static RiskBand BandOf(PolicyDocument policy, string tier, RiskInput risk) =>
        (RiskBand)Math.Max((int)OwnBand(policy, tier, risk), (int)CampaignBand(policy, tier, risk));

    /// <summary>The band the account's own traffic puts it in.</summary>
    public static RiskBand OwnBand(PolicyDocument policy, string tier, RiskInput risk) =>
        risk.Sufficient ? Band(policy, tier, risk.Evidence, risk.ReviewThreshold, risk.FrictionThreshold) : RiskBand.None;

    /// <summary>The band the account's campaign puts it in (None outside a campaign).</summary>
    /// <remarks>
    /// Each member's own tier multipliers apply, so a verified-research member needs stronger campaign evidence too; a
    /// fringe member's band is one lower (guilt by association, discounted).
    /// </remarks>
    public static RiskBand CampaignBand(PolicyDocument policy, string tier, RiskInput risk)
    {
        if (risk.Campaign is not { Sufficient: true } c)
        {
            return RiskBand.None;
        }

        var band = Band(policy, tier, c.Evidence, c.ReviewThreshold, c.FrictionThreshold);
        return c.Core || band == RiskBand.None ? band : band - 1;
    }

    /// <summary>The evidence at which <paramref name="band"/> begins for <paramref name="tier"/> (0 for <see cref="RiskBand.None"/>).</summary>
    public static double Threshold(PolicyDocument policy, string tier, RiskBand band, double review, double friction)
    {
        var rule = policy.Tiers.GetValueOrDefault(tier) ?? new TierRule();
        return band switch
        {
            RiskBand.Friction => friction * rule.FrictionMultiplier,
            RiskBand.Review => review * rule.ReviewMultiplier,
            _ => 0,
        };
    }

    private static RiskBand Band(PolicyDocument policy, string tier, double evidence, double review, double friction)
    {
        if (evidence >= Threshold(policy, tier, RiskBand.Friction, review, friction))
        {
            return RiskBand.Friction;
        }

        return evidence >= Threshold(policy, tier, RiskBand.Review, review, friction) ? RiskBand.Review : RiskBand.None;
    }

    public static PolicyDecision Decide(PolicyDocument policy, AccountStanding account, RiskInput risk, DateTimeOffset now)
    {
        var own = OwnBand(policy, account.Tier, risk);
        var band = BandOf(policy, account.Tier, risk);
        var campaign = risk.Campaign?.Id ?? risk.CampaignId;
        var via = band > own && risk.Campaign is { } linked ? $" (via campaign {linked.Id} of {linked.Members} linked accounts)" : "";

        if (account.Manual == ManualStatus.Suspended)
        {
            return new PolicyDecision(account.AccountId, band, Set(LadderAction.Suspend), Set(), campaign, "suspended after human review");
        }

        if (band == RiskBand.None)
        {
            return new PolicyDecision(account.AccountId, band, Set(), Set(), campaign, risk.Sufficient ? "below the review band" : "too little traffic to score");
        }

        var rule = band == RiskBand.Friction ? policy.Friction : policy.Review;
        var actions = new HashSet<LadderAction>(rule.Parsed()) { LadderAction.Monitor };
        if (account.Verified)
        {
            // A verified customer cannot be asked to verify again; the other rungs still apply.
            actions.Remove(LadderAction.RequireVerification);
        }

        if (account.Manual == ManualStatus.Allowlisted || policy.Allowlist.Contains(account.AccountId, StringComparer.Ordinal))
        {
            return new PolicyDecision(account.AccountId, band, Set(LadderAction.Monitor), actions, campaign, "allowlisted by an analyst: recorded, not applied");
        }

        if (account.Manual == ManualStatus.Cleared && account.ManualAt is { } clearedAt
            && now - clearedAt < TimeSpan.FromDays(policy.ClearGraceDays) && band <= account.ManualBand)
        {
            return new PolicyDecision(account.AccountId, band, Set(LadderAction.Monitor), actions, campaign, "cleared by an analyst: recorded, not applied during the grace period");
        }

        if (rule.Shadow)
        {
            return new PolicyDecision(account.AccountId, band, Set(LadderAction.Monitor), actions, campaign, $"{Name(band)} band{via} rule in shadow mode: recorded, not applied");
        }

        return new PolicyDecision(account.AccountId, band, actions, Set(), campaign, $"{Name(band)} band{via}");
    }

    public static string Name(RiskBand band) => band switch
    {
        RiskBand.Review => "review",
        RiskBand.Friction => "friction",
        _ => "none",
    };

    private static HashSet<LadderAction> Set(params LadderAction[] actions) => [.. actions];
}
