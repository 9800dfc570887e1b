using DistillGuard.Policy.Ladder;
using DistillGuard.Policy.RateLimiting;

namespace DistillGuard.Policy.Configuration;

/// <summary>The response policy: per-tier thresholds, allowlist, and what each risk band triggers.</summary>
/// <remarks>Loaded from a JSON file, validated as a whole, and swapped atomically on reload.</remarks>
public sealed class PolicyDocument
{
    /// <summary>Per-tier scaling of the detector's calibrated band thresholds (1 = as calibrated).</summary>
    public Dictionary<string, TierRule> Tiers { get; set; } = new(StringComparer.Ordinal)
    {
        ["free"] = new(),
        ["standard"] = new(),
        ["enterprise"] = new() { ReviewMultiplier = 1.25, FrictionMultiplier = 1.25 },
        ["education"] = new() { ReviewMultiplier = 1.5, FrictionMultiplier = 1.5 },
        ["verified-research"] = new() { ReviewMultiplier = 2, FrictionMultiplier = 2 },
    };

    /// <summary>Accounts an analyst has vouched for: scored and recorded, never acted on automatically.</summary>
    public List<string> Allowlist { get; set; } = [];

    /// <summary>What the review band (FPR ≤ 1e-3 per account-week) brings.</summary>
    /// <remarks>
    /// Its reduction is milder than the friction band's: nobody has looked yet and one benign account-week in a thousand
    /// lands here, so only long answers are capped and reasoning traces sealed (the bulk of what a student learns from,
    /// returned as a blob only the gateway opens, so the account's own multi-turn agents keep working); logprobs and extra
    /// choices, which benchmark harnesses need, are kept until the friction band.
    /// </remarks>
    public BandRule Review { get; set; } = new()
    {
        Actions = ["watermark_boost", "reduce_distillability"],
        Queue = true,
        Reduce = new() { DropLogprobs = false, MaxChoices = null, MaxTokens = 512, StripReasoning = true, SealReasoning = true },
    };

    /// <summary>What the friction band (FPR ≤ 1e-4 per account-week) brings.</summary>
    public BandRule Friction { get; set; } = new() { Actions = ["watermark_boost", "reduce_distillability", "throttle", "require_verification"], Queue = true };

    /// <summary>What "reduce distillability" changes, unless a band sets its own <see cref="BandRule.Reduce"/>.</summary>
    public ReductionRule Reduce { get; set; } = new();

    /// <summary>The reduction that applies in <paramref name="band"/>.</summary>
    public ReductionRule ReductionFor(RiskBand band) =>
        (band == RiskBand.Friction ? Friction.Reduce : band == RiskBand.Review ? Review.Reduce : null) ?? Reduce;

    public ThrottleRule Throttle { get; set; } = new();

    public WatermarkBoostRule WatermarkBoost { get; set; } = new();

    /// <summary>How long sealed reasoning stays openable, and how often its key changes.</summary>
    public SealRule Sealing { get; set; } = new();

    /// <summary>Where a 403 asking for verification sends the customer.</summary>
    public string VerificationUrl { get; set; } = "https://example.com/verify";

    /// <summary>Days an analyst's "clear" keeps automatic actions off the account (unless the risk climbs a band).</summary>
    public double ClearGraceDays { get; set; } = 7;

    /// <summary>Every problem, as (JSON path, reason).</summary>
    public IEnumerable<(string Path, string Reason)> Validate()
    {
        foreach (var (tier, rule) in Tiers)
        {
            if (rule.ReviewMultiplier is < 0.1 or > 100 || double.IsNaN(rule.ReviewMultiplier))
            {
                yield return ($"$.tiers.{tier}.reviewMultiplier", $"must be between 0.1 and 100, not {rule.ReviewMultiplier}");
            }

            if (rule.FrictionMultiplier is < 0.1 or > 100 || double.IsNaN(rule.FrictionMultiplier))
            {
                yield return ($"$.tiers.{tier}.frictionMultiplier", $"must be between 0.1 and 100, not {rule.FrictionMultiplier}");
            }

            if (rule.FrictionMultiplier < rule.ReviewMultiplier)
            {
                yield return ($"$.tiers.{tier}.frictionMultiplier", "is below reviewMultiplier: the friction band would open before the review band");
            }
        }

        foreach (var problem in Review.Validate("$.review").Concat(Friction.Validate("$.friction")))
        {
            yield return problem;
        }

        var reviewRungs = Review.Parsed().Select(a => (int)a).DefaultIfEmpty(-1).Max();
        var frictionRungs = Friction.Parsed().Select(a => (int)a).DefaultIfEmpty(-1).Max();
        if (frictionRungs < reviewRungs)
        {
            yield return ("$.friction.actions", "is milder than review.actions: the friction band must reach at least the review band's highest rung");
        }

        foreach (var (at, reduce) in new[] { ("$.reduce", Reduce), ("$.review.reduce", Review.Reduce), ("$.friction.reduce", Friction.Reduce) })
        {
            foreach (var problem in reduce?.Validate(at) ?? [])
            {
                yield return problem;
            }
        }

        foreach (var (field, reason) in Throttle.Account.Validate())
        {
            yield return ($"$.throttle.account.{field}", reason);
        }

        foreach (var (field, reason) in Throttle.Campaign.Validate())
        {
            yield return ($"$.throttle.campaign.{field}", reason);
        }

        if (Throttle.Account.IsUnlimited)
        {
            yield return ("$.throttle.account", "sets no limit: a throttle must limit something");
        }

        if (WatermarkBoost.Delta is <= 0 or > 20 || double.IsNaN(WatermarkBoost.Delta))
        {
            yield return ("$.watermarkBoost.delta", $"must be greater than 0 and at most 20, not {WatermarkBoost.Delta}");
        }

        if (Sealing.LifetimeHours is < 0.01 or > 24 * 90 || double.IsNaN(Sealing.LifetimeHours))
        {
            yield return ("$.sealing.lifetimeHours", $"must be between 0.01 and 2160 (90 days), not {Sealing.LifetimeHours}");
        }

        if (Sealing.KeyRotationDays is < 0.01 or > 365 || double.IsNaN(Sealing.KeyRotationDays))
        {
            yield return ("$.sealing.keyRotationDays", $"must be between 0.01 and 365, not {Sealing.KeyRotationDays}");
        }

        if (!Uri.TryCreate(VerificationUrl, UriKind.Absolute, out _))
        {
            yield return ("$.verificationUrl", $"must be an absolute URL, not '{VerificationUrl}'");
        }

        if (ClearGraceDays is < 0 or > 365)
        {
            yield return ("$.clearGraceDays", $"must be between 0 and 365, not {ClearGraceDays}");
        }
    }
}

/// <summary>How a tier's band thresholds relate to the calibrated ones.</summary>
/// <remarks>Higher multipliers ask for more evidence before acting; no tier is exempt.</remarks>
public sealed class TierRule
{
    public double ReviewMultiplier { get; set; } = 1;
    public double FrictionMultiplier { get; set; } = 1;
}

/// <summary>What one risk band triggers.</summary>
public sealed class BandRule
{
    /// <summary>Ladder actions, by name (<c>suspend</c> is refused: suspension needs a human).</summary>
    public List<string> Actions { get; set; } = [];

    /// <summary>Decide and record, but do not apply (a new rule's trial run).</summary>
    public bool Shadow { get; set; }

    /// <summary>Open a review-queue entry when an account enters this band.</summary>
    public bool Queue { get; set; }

    /// <summary>This band's own reduction (null: the policy-wide <see cref="PolicyDocument.Reduce"/>).</summary>
    public ReductionRule? Reduce { get; set; }

    /// <summary>The actions, parsed (unknown names are skipped; <see cref="Validate"/> reports them).</summary>
    public IEnumerable<LadderAction> Parsed()
    {
        foreach (var name in Actions)
        {
            if (LadderActionNames.TryParse(name, out var action))
            {
                yield return action;
            }
        }
    }

    internal IEnumerable<(string Path, string Reason)> Validate(string at)
    {
        for (var i = 0; i < Actions.Count; i++)
        {
            if (!LadderActionNames.TryParse(Actions[i], out var action))
            {
                yield return ($"{at}.actions[{i}]", $"unknown action '{Actions[i]}'; known: {string.Join(", ", LadderActionNames.All)}");
            }
            else if (action == LadderAction.Suspend)
            {
                yield return ($"{at}.actions[{i}]", "'suspend' cannot be automatic: it follows only a human approval in the review queue");
            }
        }

        if (Actions.Distinct(StringComparer.Ordinal).Count() != Actions.Count)
        {
            yield return ($"{at}.actions", "lists an action twice");
        }
    }
}

/// <summary>What "reduce distillability" changes in a request and its answer.</summary>
public sealed class ReductionRule
{
    public bool DropLogprobs { get; set; } = true;
    public int? MaxChoices { get; set; } = 1;
    public int? MaxTokens { get; set; } = 512;
    public bool StripReasoning { get; set; } = true;

    /// <summary>Return reasoning sealed (an opaque blob only the gateway opens, for the account's next turn) instead of removing it; wins over <see cref="StripReasoning"/>.</summary>
    public bool SealReasoning { get; set; } = true;

    internal IEnumerable<(string Path, string Reason)> Validate(string at)
    {
        if (MaxTokens is < 16)
        {
            yield return ($"{at}.maxTokens", $"must be at least 16, not {MaxTokens}");
        }

        if (MaxChoices is < 1)
        {
            yield return ($"{at}.maxChoices", $"must be at least 1, not {MaxChoices}");
        }
    }
}

/// <summary>The tighter limits of the throttle rung.</summary>
public sealed class ThrottleRule
{
    public RateLimits Account { get; set; } = new() { RequestsPerMinute = 6, TokensPerMinute = 6_000, RequestsPerDay = 1_000, TokensPerDay = 500_000 };

    /// <summary>Shared by all accounts of one campaign (hydra fleets); unlimited when empty.</summary>
    public RateLimits Campaign { get; set; } = new() { RequestsPerMinute = 30, TokensPerMinute = 30_000 };
}

/// <summary>Sealed reasoning's lifetime and key rotation.</summary>
/// <remarks>A key seals for <see cref="KeyRotationDays"/> and is kept <see cref="LifetimeHours"/> longer, so a blob opens for its whole lifetime across a rotation.</remarks>
public sealed class SealRule
{
    /// <summary>Hours a sealed blob can be sent back (a stateless agent's conversation must continue within it).</summary>
    public double LifetimeHours { get; set; } = 24;

    /// <summary>Days one key seals before the next is made.</summary>
    public double KeyRotationDays { get; set; } = 7;
}

/// <summary>The watermark boost rung.</summary>
public sealed class WatermarkBoostRule
{
    /// <summary>Green-list bias while boosted (the default watermark uses 2.0).</summary>
    public double Delta { get; set; } = 4.0;

    /// <summary>Turn the account-bucket tracing payload on.</summary>
    public bool Tracing { get; set; } = true;
}
