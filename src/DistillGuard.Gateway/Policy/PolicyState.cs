using System.Collections.Concurrent;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Policy.Ladder;
using DistillGuard.Storage.Policy;

namespace DistillGuard.Gateway.Policy;

/// <summary>The ladder's current decision per account and the analysts' overrides, read on the request path.</summary>
/// <remarks>Lock-free reads (one dictionary lookup); written by the policy worker and the admin API.</remarks>
internal sealed class PolicyState
{
    private readonly ConcurrentDictionary<string, PolicyDecision> _decisions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AccountOverride> _overrides = new(StringComparer.Ordinal);
    private volatile IReadOnlyDictionary<string, CampaignAssessment> _campaigns = new Dictionary<string, CampaignAssessment>(StringComparer.Ordinal);

    /// <summary>Override keys for a campaign's review entry and analyst status ("campaign:" + id).</summary>
    public const string CampaignPrefix = "campaign:";

    /// <summary>The campaigns as scored at the last decision tick, by id.</summary>
    public IReadOnlyDictionary<string, CampaignAssessment> Campaigns => _campaigns;

    public void SetCampaigns(IEnumerable<CampaignAssessment> campaigns) =>
        _campaigns = campaigns.ToDictionary(c => c.Campaign.Id, StringComparer.Ordinal);

    public PolicyDecision DecisionFor(string accountId)
    {
        if (_decisions.TryGetValue(accountId, out var decision))
        {
            return decision;
        }

        return _overrides.TryGetValue(accountId, out var manual) && manual.Status == OverrideStatus.Suspended
            ? new PolicyDecision(accountId, RiskBand.None, new HashSet<LadderAction> { LadderAction.Suspend }, new HashSet<LadderAction>(), null, "suspended after human review")
            : PolicyDecision.None(accountId);
    }

    public bool TryGetDecision(string accountId, out PolicyDecision decision) => _decisions.TryGetValue(accountId, out decision!);

    public void SetDecision(PolicyDecision decision) => _decisions[decision.AccountId] = decision;

    public void ForgetDecision(string accountId) => _decisions.TryRemove(accountId, out _);

    public AccountOverride? Override(string accountId) => _overrides.GetValueOrDefault(accountId);

    public IEnumerable<AccountOverride> Overrides => _overrides.Values;

    public void SetOverride(AccountOverride accountOverride) => _overrides[accountOverride.AccountId] = accountOverride;

    public void RemoveOverride(string accountId) => _overrides.TryRemove(accountId, out _);
}

/// <summary>The statuses an analyst can give an account (stored in the policy store).</summary>
internal static class OverrideStatus
{
    public const string Allowlisted = "allowlisted";
    public const string Suspended = "suspended";
    public const string Cleared = "cleared";
    public const string Verified = "verified";

    public static ManualStatus ToManual(string? status) => status switch
    {
        Allowlisted => ManualStatus.Allowlisted,
        Suspended => ManualStatus.Suspended,
        Cleared => ManualStatus.Cleared,
        _ => ManualStatus.None,
    };
}
