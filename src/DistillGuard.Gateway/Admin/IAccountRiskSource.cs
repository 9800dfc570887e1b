namespace DistillGuard.Gateway.Admin;

/// <summary>Where the admin API reads an account's current risk (the detection engine, once wired in).</summary>
public interface IAccountRiskSource
{
    /// <summary>The account's current risk, or null when it has not been scored.</summary>
    AccountRisk? GetRisk(string accountId);
}

/// <summary>An account's risk as the admin API reports it.</summary>
/// <param name="Score">Combined score in [0, 1].</param>
/// <param name="Level">e.g. <c>low</c>, <c>review</c>, <c>friction</c>.</param>
/// <param name="Flagged">True once the account has reached the review band.</param>
public sealed record AccountRisk(double Score, string Level, bool Flagged, IReadOnlyList<RiskReason> Reasons, string Action, string? CampaignId);

/// <summary>No detection engine: every account is unscored.</summary>
internal sealed class UnscoredRiskSource : IAccountRiskSource
{
    public AccountRisk? GetRisk(string accountId) => null;
}
