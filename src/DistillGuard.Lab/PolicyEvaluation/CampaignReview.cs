using DistillGuard.Detection.Campaigns;
using DistillGuard.Policy.Configuration;
using DistillGuard.Policy.Ladder;

namespace DistillGuard.Lab.PolicyEvaluation;

/// <summary>The simulated analyst's side of campaign review entries in a replay.</summary>
/// <remarks>
/// A campaign whose pooled risk reaches the review band gets one review entry. After the review delay the analyst
/// judges the campaign as a whole, by what most of its core members are: a campaign of attackers has its core members
/// suspended one by one (a legitimate account wrongly linked into the core is suspended too, and counted so; fringe
/// members, tied by one kind of artifact only, are left to their own entries); a legitimate one is cleared, and its
/// pooled risk stops raising its members for the clear grace period. Members that join an approved campaign later wait
/// for the delay again, as a new entry would.
/// </remarks>
internal sealed class CampaignReview(PolicyDocument policy, TimeSpan? delay)
{
    private readonly Dictionary<string, DateTimeOffset> _queued = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _cleared = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<string> _judged = new(StringComparer.Ordinal);

    /// <summary>Records the campaign's state at a tick; returns the members the analyst suspends now.</summary>
    public IEnumerable<(string Member, ManualStatus Verdict)> Update(Campaign campaign, CampaignRisk risk, DateTimeOffset now, Func<string, bool> isAttacker)
    {
        var flagged = risk.Sufficient && risk.Evidence >= risk.ReviewThreshold;
        if (!flagged || IsCleared(campaign.Id, now))
        {
            yield break;
        }

        var rule = risk.Evidence >= risk.FrictionThreshold ? policy.Friction : policy.Review;
        if (!rule.Queue)
        {
            yield break;
        }

        _queued.TryAdd(campaign.Id, now);
        var core = campaign.Members.Where(campaign.IsCore).ToList();
        foreach (var member in core)
        {
            if (!_judged.Contains(member))
            {
                _pending.TryAdd(member, now);
            }
        }

        if (delay is not { } wait)
        {
            yield break;
        }

        var due = core.Where(m => !_judged.Contains(m) && now - _pending[m] >= wait).ToList();
        if (due.Count == 0)
        {
            yield break;
        }

        if (core.Count(isAttacker) * 2 <= core.Count)
        {
            _cleared[campaign.Id] = now;
            yield break;
        }

        foreach (var member in due)
        {
            _judged.Add(member);
            yield return (member, ManualStatus.Suspended);
        }
    }

    /// <summary>True while an analyst's clearing of the campaign is within its grace period.</summary>
    public bool IsCleared(string campaignId, DateTimeOffset now) =>
        _cleared.TryGetValue(campaignId, out var at) && now - at < TimeSpan.FromDays(policy.ClearGraceDays);

    /// <summary>True when the campaign ever had a review entry.</summary>
    public bool WasQueued(string? campaignId) => campaignId is not null && _queued.ContainsKey(campaignId);
}
