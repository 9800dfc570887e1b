using DistillGuard.Detection.Engine;
using DistillGuard.Gateway.Admin;

namespace DistillGuard.Gateway.Detection;

/// <summary>The admin API's view of the detection engine: an account's current assessment, computed on read (microseconds).</summary>
internal sealed class EngineRiskSource(DetectionEngine engine, TimeProvider time) : IAccountRiskSource
{
    public AccountRisk? GetRisk(string accountId)
    {
        if (engine.Assess(accountId, time.GetUtcNow()) is not { } assessment)
        {
            return null;
        }

        return new AccountRisk(
            assessment.Score,
            assessment.Level,
            assessment.Flagged,
            [.. assessment.Reasons.Select(r => new RiskReason(r.Code, r.Detail, r.Value, r.Percentile))],
            assessment.Action,
            CampaignId: null);
    }
}
