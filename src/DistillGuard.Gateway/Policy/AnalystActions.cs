using DistillGuard.Gateway.OpenAI;
using DistillGuard.Policy.Ladder;
using DistillGuard.Storage.Accounts;
using DistillGuard.Storage.Policy;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Policy;

/// <summary>What an analyst does to an account or a review entry, audited: the admin API and the dashboard both act through it.</summary>
/// <remarks>Bad input throws <see cref="OpenAIErrorException"/> with the API's error; a missing account or entry returns false / null.</remarks>
internal sealed class AnalystActions(IAccountStore accounts, IPolicyStore store, PolicyState state, PolicyWorker worker, TimeProvider time)
{
    /// <summary>The account actions, as the API names them.</summary>
    public static readonly IReadOnlyList<string> AccountActions = ["allowlist", "clear", "verify", "block"];

    /// <summary>Longest analyst name the audit trail stores.</summary>
    public const int MaxActorLength = 128;

    /// <summary>Sets an analyst override on the account, audited; false when the account does not exist.</summary>
    public async Task<bool> ActOnAccountAsync(string id, string? action, string? reason, string actor, CancellationToken cancellationToken)
    {
        if (await accounts.GetAsync(id, cancellationToken) is null)
        {
            return false;
        }

        var why = RequireReason(reason);
        var now = time.GetUtcNow();
        var band = ActionLadder.Name(state.DecisionFor(id).Band);
        var status = action switch
        {
            "allowlist" => OverrideStatus.Allowlisted,
            "block" => OverrideStatus.Suspended,
            "clear" => OverrideStatus.Cleared,
            "verify" => OverrideStatus.Verified,
            _ => throw OpenAIErrorException.InvalidRequest("'action' must be one of allowlist, block, clear, verify.", "action"),
        };

        var manual = new AccountOverride(id, status, actor, why, now, band);
        await store.SetOverrideAsync(manual, new AuditRecord(0, now, id, actor, "account:" + action, why, null), cancellationToken);
        state.SetOverride(manual);
        await worker.RefreshAsync(id, cancellationToken);
        return true;
    }

    /// <summary>Approves, rejects or appeals a review entry, audited, with its effect on the account or campaign; null when there is no such entry.</summary>
    public async Task<ReviewItem?> DecideReviewAsync(long id, string? decision, string? reason, string actor, CancellationToken cancellationToken)
    {
        if (await store.GetReviewAsync(id, cancellationToken) is not { } item)
        {
            return null;
        }

        var why = RequireReason(reason);
        var now = time.GetUtcNow();
        var (status, manualStatus) = (decision, item.Status) switch
        {
            ("approve", "open" or "appealed") => ("approved", OverrideStatus.Suspended),
            ("reject", "open" or "appealed") => ("rejected", OverrideStatus.Cleared),
            ("appeal", "approved") => ("appealed", (string?)null),
            ("approve" or "reject", _) => throw new OpenAIErrorException(StatusCodes.Status409Conflict, $"Review item {id} is '{item.Status}'; only open or appealed items can be decided.", "invalid_request_error", "conflict"),
            ("appeal", _) => throw new OpenAIErrorException(StatusCodes.Status409Conflict, $"Review item {id} is '{item.Status}'; only an approved suspension can be appealed.", "invalid_request_error", "conflict"),
            _ => throw OpenAIErrorException.InvalidRequest("'decision' must be one of approve, reject, appeal.", "decision"),
        };

        var decided = await store.DecideReviewAsync(id, status, actor, why, now, new AuditRecord(0, now, item.AccountId, actor, "review:" + decision, why, item.EvidenceJson), cancellationToken);
        worker.ReviewClosed(item.AccountId);
        if (manualStatus is not null && item.AccountId.StartsWith(PolicyState.CampaignPrefix, StringComparison.Ordinal))
        {
            await DecideCampaignAsync(item, manualStatus, actor, why, now, cancellationToken);
        }
        else if (manualStatus is not null)
        {
            var manual = new AccountOverride(item.AccountId, manualStatus, actor, why, now, item.Band);
            await store.SetOverrideAsync(manual, new AuditRecord(0, now, item.AccountId, actor, manualStatus == OverrideStatus.Suspended ? "account:suspend" : "account:clear", $"review {id}: {why}", null), cancellationToken);
            state.SetOverride(manual);
            await worker.RefreshAsync(item.AccountId, cancellationToken);
        }

        return decided;
    }

    /// <summary>
    /// A campaign entry is decided for the campaign as a whole: approving suspends every current core member (each with
    /// its own audited override, so each can be undone alone; fringe members, tied by one kind of artifact only, keep their
    /// own entries); rejecting clears the campaign and all its members for the grace period.
    /// </summary>
    private async Task DecideCampaignAsync(ReviewItem item, string manualStatus, string actor, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var campaignId = item.AccountId[PolicyState.CampaignPrefix.Length..];
        var members = state.Campaigns.TryGetValue(campaignId, out var campaign) ? campaign.Campaign.Members : [];
        if (manualStatus == OverrideStatus.Cleared)
        {
            var cleared = new AccountOverride(item.AccountId, OverrideStatus.Cleared, actor, reason, now, item.Band);
            await store.SetOverrideAsync(cleared, new AuditRecord(0, now, item.AccountId, actor, "campaign:clear", $"review {item.Id}: {reason}", null), cancellationToken);
            state.SetOverride(cleared);
        }

        foreach (var member in members.Where(m => manualStatus == OverrideStatus.Cleared || campaign!.Campaign.IsCore(m)))
        {
            var manual = new AccountOverride(member, manualStatus, actor, reason, now, item.Band);
            var action = manualStatus == OverrideStatus.Suspended ? "account:suspend" : "account:clear";
            await store.SetOverrideAsync(manual, new AuditRecord(0, now, member, actor, action, $"campaign {campaignId}, review {item.Id}: {reason}", null), cancellationToken);
            state.SetOverride(manual);
            await worker.RefreshAsync(member, cancellationToken);
        }
    }

    /// <summary>A trimmed analyst name of 1 to <see cref="MaxActorLength"/> printable characters.</summary>
    public static string RequireActor(string name)
    {
        name = name.Trim();
        if (name.Length is 0 or > MaxActorLength || name.Any(char.IsControl))
        {
            throw OpenAIErrorException.InvalidRequest($"'actor' must be 1 to {MaxActorLength} printable characters.", "actor");
        }

        return name;
    }

    private static string RequireReason(string? reason) =>
        string.IsNullOrWhiteSpace(reason) ? throw OpenAIErrorException.InvalidRequest("'reason' is required: every action is audited with why.", "reason") : reason.Trim();
}
