namespace DistillGuard.Detection.Engine;

/// <summary>One detector's part in an account's score: the raw feature, where it sits in the cohort, and its evidence.</summary>
/// <param name="Code">Reason code (a detector code, or <c>thin_evidence</c>).</param>
/// <param name="Detail">One line for an analyst; never contains prompt text.</param>
/// <param name="Value">The raw feature value.</param>
/// <param name="Percentile">Percentile of the value among benign accounts of the cohort (100·(1 − p)).</param>
/// <param name="Evidence">The detector's term in the combined score (nats).</param>
public sealed record RiskContribution(string Code, string Detail, double Value, double? Percentile, double Evidence);

/// <summary>An account's risk at one instant: the combined evidence, its level against the cohort's thresholds, and the reasons.</summary>
/// <param name="Evidence">Combined evidence S (nats, ≥ 0).</param>
/// <param name="Score">S / (S + review threshold) in [0, 1): 0.5 is the review band's edge.</param>
/// <param name="Level"><c>insufficient_evidence</c>, <c>low</c>, <c>review</c> or <c>friction</c>.</param>
/// <param name="Flagged">True in the review band or above.</param>
/// <param name="Action"><c>none</c>, <c>review</c> (human review) or <c>verify</c> (friction: identity verification, lower limits).</param>
/// <param name="Reasons">The largest contributions first (at most five), or why there is no score.</param>
/// <param name="Requests">Requests in the content window (3.5–7 days).</param>
/// <param name="RequestsWeek">Requests in the last 168 hours.</param>
public sealed record AccountAssessment(
    string AccountId,
    DateTimeOffset Time,
    string Cohort,
    double Evidence,
    double Score,
    string Level,
    bool Flagged,
    string Action,
    IReadOnlyList<RiskContribution> Reasons,
    int Requests,
    int RequestsWeek);
