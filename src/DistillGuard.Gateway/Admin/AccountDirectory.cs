using System.Globalization;
using DistillGuard.Gateway.Policy;
using DistillGuard.Policy.Ladder;
using DistillGuard.Storage.Accounts;
using DistillGuard.Storage.Usage;

namespace DistillGuard.Gateway.Admin;

/// <summary>Which accounts a ranked listing keeps; a null field keeps every account.</summary>
/// <param name="Band">The ladder band (<c>none</c>, <c>review</c>, <c>friction</c>).</param>
/// <param name="Campaign">A campaign id the account belongs to.</param>
internal sealed record AccountFilter(string? Band = null, string? Tier = null, string? Campaign = null, bool? Flagged = null);

/// <summary>One page of a ranked listing.</summary>
/// <param name="Next">The cursor of the next page, or null on the last one.</param>
/// <param name="Matched">How many accounts the filter kept, over all pages.</param>
internal sealed record AccountPage(IReadOnlyList<RankedAccount> Items, string? Next, int Matched, int Total);

/// <summary>An account with its risk, its ladder band and its usage totals, at its place in the ranking.</summary>
internal sealed record RankedAccount(int Rank, AccountView View, string Band);

/// <summary>Accounts ranked by risk, filtered and paged: the dashboard's account list, read from the stores the admin API reads.</summary>
/// <remarks>
/// Risk lives in memory (the detection engine and the ladder's decisions), so ranking is one pass over the account table
/// and an in-memory sort; usage totals are read only for the page shown, through the usage log's account index.
/// Pages are keyset-paged on (score, id): a cursor stays valid while scores move.
/// </remarks>
internal sealed class AccountDirectory(IAccountStore accounts, IUsageEventStore usage, IAccountRiskSource risk, PolicyState state)
{
    /// <summary>The page of accounts after <paramref name="after"/> (a cursor from a previous page), riskiest first.</summary>
    public async Task<AccountPage> RankAsync(AccountFilter filter, string? after, int limit, CancellationToken cancellationToken)
    {
        var all = await accounts.ListAsync(cancellationToken);
        var ranked = new List<(Account Account, AccountRisk? Risk, string Band, double Score)>(all.Count);
        foreach (var account in all)
        {
            if (filter.Tier is { } tier && !string.Equals(account.Tier, tier, StringComparison.Ordinal))
            {
                continue;
            }

            var accountRisk = risk.GetRisk(account.Id);
            var decision = state.DecisionFor(account.Id);
            var band = ActionLadder.Name(decision.Band);
            var campaign = accountRisk?.CampaignId ?? decision.CampaignId;
            if ((filter.Band is { } wanted && band != wanted)
                || (filter.Flagged is { } flagged && (accountRisk?.Flagged ?? false) != flagged)
                || (filter.Campaign is { } c && campaign != c))
            {
                continue;
            }

            ranked.Add((account, accountRisk is null ? null : accountRisk with { CampaignId = campaign }, band, accountRisk?.Score ?? -1));
        }

        ranked.Sort(static (a, b) => b.Score.CompareTo(a.Score) is var byScore and not 0 ? byScore : string.CompareOrdinal(a.Account.Id, b.Account.Id));
        var start = 0;
        if (ParseCursor(after) is { } cursor)
        {
            start = ranked.FindIndex(r => r.Score < cursor.Score || (r.Score == cursor.Score && string.CompareOrdinal(r.Account.Id, cursor.Id) > 0));
            start = start < 0 ? ranked.Count : start;
        }

        var items = new List<RankedAccount>(Math.Min(limit, ranked.Count - start));
        for (var i = start; i < ranked.Count && items.Count < limit; i++)
        {
            var (account, accountRisk, band, _) = ranked[i];
            var totals = await usage.GetAccountUsageAsync(account.Id, cancellationToken);
            items.Add(new RankedAccount(i + 1, ToView(account, totals, accountRisk), band));
        }

        var last = start + items.Count;
        var next = last < ranked.Count && items.Count > 0 ? Cursor(ranked[last - 1].Score, ranked[last - 1].Account.Id) : null;
        return new AccountPage(items, next, ranked.Count, all.Count);
    }

    /// <summary>The account as the admin API shows it, or null when there is no such account.</summary>
    public async Task<AccountView?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (await accounts.GetAsync(id, cancellationToken) is not { } account)
        {
            return null;
        }

        return ToView(account, await usage.GetAccountUsageAsync(account.Id, cancellationToken), risk.GetRisk(account.Id));
    }

    /// <summary>An account with its usage totals and risk, in the admin API's shape.</summary>
    public static AccountView ToView(Account account, AccountUsage? usage, AccountRisk? risk) => new()
    {
        RiskScore = risk?.Score,
        RiskLevel = risk?.Level ?? "unscored",
        Flagged = risk?.Flagged ?? false,
        Reasons = risk?.Reasons ?? [],
        Action = risk?.Action ?? "none",
        CampaignId = risk?.CampaignId,
        Id = account.Id,
        Org = account.Org,
        Tier = account.Tier,
        Verified = account.Verified,
        CreatedAt = account.CreatedAt,
        Requests = usage?.Requests ?? 0,
        TokensIn = usage?.PromptTokens ?? 0,
        TokensOut = usage?.CompletionTokens ?? 0,
    };

    private static string Cursor(double score, string id) => score.ToString("R", CultureInfo.InvariantCulture) + "~" + id;

    private static (double Score, string Id)? ParseCursor(string? cursor)
    {
        var split = cursor?.IndexOf('~', StringComparison.Ordinal) ?? -1;
        return split > 0 && double.TryParse(cursor.AsSpan(0, split), NumberStyles.Float, CultureInfo.InvariantCulture, out var score)
            ? (score, cursor![(split + 1)..])
            : null;
    }
}
