using System.Text.Json.Serialization;

namespace DistillGuard.Lab.Evaluation;

/// <summary>What <c>distillguard evaluate</c> measured: per-archetype rates, TPR at fixed FPR, harvest before the flag.</summary>
public sealed record EvaluationReport
{
    public required IReadOnlyList<int> CalibrationSeeds { get; init; }
    public required IReadOnlyList<int> EvaluationSeeds { get; init; }
    public required double Scale { get; init; }
    public double AttackerScale { get; init; } = 1;
    public double RareLegitimateScale { get; init; } = 1;

    public double CalibrationRareLegitimateScale { get; init; } = 1;
    public required double Days { get; init; }

    /// <summary>Hours from an attacker's first flag to its closure by a reviewer, in the cost-of-extraction model.</summary>
    public double ReviewHours { get; init; } = 24;
    public required string CalibrationSource { get; init; }
    public required double ReviewThreshold { get; init; }
    public required double FrictionThreshold { get; init; }
    public required int CalibrationHeldOutAccountWeeks { get; init; }

    /// <summary>The benign population whose own held-out weeks set the review threshold (null: all weeks together did).</summary>
    public string? ReviewThresholdPopulation { get; init; }

    /// <summary>Each legitimate population's own thresholds on its held-out calibration weeks (and the pooled fit, as <c>all</c>).</summary>
    public IReadOnlyList<PopulationThreshold> PopulationThresholds { get; init; } = [];
    public required long Events { get; init; }
    public required double Seconds { get; init; }
    public required IReadOnlyList<ArchetypeResult> Archetypes { get; init; }
    public required IReadOnlyList<OperatingPoint> OperatingPoints { get; init; }
    public required IReadOnlyList<ResellerShareResult> ResellerShares { get; init; }
    public required IReadOnlyList<AdaptiveCost> AdaptiveCosts { get; init; }
    public required BinomialInterval BenignReview { get; init; }
    public required BinomialInterval BenignFriction { get; init; }
    public required BinomialInterval AttackerReview { get; init; }

    /// <summary>ROC points (FPR over benign account-weeks, TPR over attacker accounts) for the chart, pooled and per attacker archetype.</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, IReadOnlyList<(double Fpr, double Tpr)>> Roc { get; init; } = new Dictionary<string, IReadOnlyList<(double, double)>>();

    /// <summary>Where the scored scenarios' templated prompts came from (simulator, wordnet or heldout); calibration used the simulator's.</summary>
    public string Phrasings { get; init; } = "simulator";

    /// <summary>The held-out families that were scored (none unless asked for).</summary>
    public IReadOnlyList<string> HeldOutFamilies { get; init; } = [];

    /// <summary>
    /// Every scored family at the review threshold (1e-3 per account-week), held-out families marked. The calibration
    /// holds legitimate traffic only, so every attacker family — held out or not — is scored by a detector calibrated
    /// without it; held-out families were also kept out of development.
    /// </summary>
    public IReadOnlyList<FamilyResult> Families { get; init; } = [];

    /// <summary>Every scored account's outcome, when <see cref="EvaluationOptions.IncludeAccounts"/> asked for it.</summary>
    public IReadOnlyList<AccountOutcome>? Accounts { get; init; }

    /// <summary>Score over time for a few accounts per archetype, for the chart.</summary>
    [JsonIgnore]
    public IReadOnlyList<ScoreTimeline> Timelines { get; init; } = [];
}

/// <summary>One archetype's outcome on the evaluation seeds.</summary>
/// <param name="Review">Attackers: accounts flagged (review band or above) at any time. Legitimate: account-weeks flagged.</param>
/// <param name="Friction">The same at the friction band.</param>
/// <param name="FlaggedWithin1000">Accounts flagged by the time they had sent 1,000 requests, of all accounts (attackers' target; legitimate: false flags that early).</param>
/// <param name="MedianRequestsBeforeFlag">Attackers: median requests an account had sent when first flagged (flagged accounts only).</param>
public sealed record ArchetypeResult(
    string Archetype,
    bool Attacker,
    bool Authorised,
    int Accounts,
    int AccountWeeks,
    long Requests,
    BinomialInterval Review,
    BinomialInterval Friction,
    BinomialInterval FlaggedWithin1000,
    double? MedianRequestsBeforeFlag,
    double? P90RequestsBeforeFlag,
    double? MedianTokensBeforeFlag,
    double? MedianHoursToFlag,
    double? MedianRequestsAtEnd,
    double MedianMaxEvidence,
    IReadOnlyList<string> TopReasons);

/// <summary>One scored account: its largest evidence, when it was first flagged and why, and its flagged account-weeks.</summary>
/// <param name="Key">Seed and account id, <c>seed/id</c>.</param>
/// <param name="DetailsAtFlag">The reasons at the first flag as an analyst reads them: code, evidence term and detail (value, cohort percentile, band).</param>
public sealed record AccountOutcome(
    string Key,
    string Archetype,
    bool Attacker,
    string Tier,
    int Requests,
    double MaxEvidence,
    long? RequestsAtFlag,
    double? HoursToFlag,
    IReadOnlyList<string> ReasonsAtFlag,
    int FlaggedWeeks,
    int Weeks,
    IReadOnlyList<string> DetailsAtFlag);

/// <summary>One family at the review threshold: attackers, accounts flagged of accounts; legitimate, account-weeks flagged of account-weeks.</summary>
/// <param name="HeldOut">Kept out of development and calibration (generated only when held-out families are asked for).</param>
public sealed record FamilyResult(string Archetype, bool Attacker, bool HeldOut, int Accounts, BinomialInterval Rate, IReadOnlyList<SeedRate> PerSeed,
    double MedianMaxEvidence, IReadOnlyList<string> TopReasons);

/// <summary>A family's rate on one scored seed.</summary>
public sealed record SeedRate(int Seed, BinomialInterval Rate);

/// <summary>Thresholds fitted on one benign population's held-out week maxima.</summary>
public sealed record PopulationThreshold(string Population, int Weeks, double Review, double LargestWeek);

/// <summary>TPR at a threshold fitted on the calibration seeds' held-out benign account-weeks for a target FPR, and the FPR it really had.</summary>
public sealed record OperatingPoint(double TargetFpr, double Threshold, BinomialInterval Tpr, BinomialInterval ObservedFpr);

/// <summary>Reseller accounts by their real distillation share: flagged within their first 1,500 requests.</summary>
public sealed record ResellerShareResult(string ShareBand, BinomialInterval FlaggedWithin1500);

/// <summary>
/// How much more an adaptive attacker sends (and how much longer it runs) before the flag than the naive harvester, and
/// how much the detector raises its cost of extraction against no detector.
/// </summary>
/// <param name="RequestMultiplier">Median requests an account sends before its flag, over the naive harvester's.</param>
/// <param name="TimeMultiplier">Median hours to the flag, over the naive harvester's.</param>
/// <param name="AccountHoursPerAnswerMultiplier">Account-hours spent per answer harvested before the flag (hours / requests), over the naive harvester's.</param>
/// <param name="MedianAnswersWithout">Median distillation answers an account harvests over the run with no detector.</param>
/// <param name="MedianAnswersBeforeClosure">Median distillation answers it harvests before a reviewer closes it (first flag + review delay).</param>
/// <param name="CostMultiplier">Accounts needed per harvested answer with the detector over without (pooled), with its 95 % bootstrap interval.</param>
public sealed record AdaptiveCost(string Archetype, BinomialInterval Detected, double? RequestMultiplier, double? TimeMultiplier, double? AccountHoursPerAnswerMultiplier,
    double? MedianAnswersWithout, double? MedianAnswersBeforeClosure, double? CostMultiplier, double? CostMultiplierLower, double? CostMultiplierUpper);

/// <summary>One account's score over time.</summary>
public sealed record ScoreTimeline(string Archetype, bool Attacker, IReadOnlyList<(double Days, double Score)> Points);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(EvaluationReport))]
internal sealed partial class EvaluationJsonContext : JsonSerializerContext;
