namespace DistillGuard.Detection.Engine;

/// <summary>
/// Evidence about an account that comes from outside its traffic's features — a partner provider's indicator it matches
/// (<c>DistillGuard.ThreatIntel</c>) — added to the combined score as one more term with its own reason.
/// </summary>
/// <remarks>
/// A deliberate extension point. The source owns the calibration of its term (a p-value turned into nats as the
/// combination does); the engine adds it to S as a group of its own. Called on every assessment: must be fast and thread-safe.
/// </remarks>
public interface IEvidenceSource
{
    /// <summary>The term for the account at <paramref name="now"/>, or null (or zero evidence) when there is none.</summary>
    RiskContribution? Evidence(string accountId, DateTimeOffset now);
}
