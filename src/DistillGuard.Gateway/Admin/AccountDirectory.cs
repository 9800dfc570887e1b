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
/// <param name="RankedAt">When the order was computed (the rows themselves are read live).</param>
internal sealed record AccountPage(IReadOnlyList<RankedAccount> Items, string? Next, int Matched, int Total, DateTimeOffset RankedAt);

/// <summary>An account with its risk, its ladder band and its usage totals, at its place in the ranking.</summary>
internal sealed record RankedAccount(int Rank, AccountView View, string Band);

/// <summary>Accounts ranked by risk, filtered and paged: the dashboard's account list, read from the stores the admin API reads.</summary>
/// <remarks>
/// Risk lives in memory (the detection engine, computed on read, and the ladder's decisions), so the ranking is one pass
/// over the account table, every account assessed, and a sort: seconds at 100,000 accounts (docs/benchmarks.md). It is
/// kept as a snapshot for <see cref="RankingMaxAge"/> and rebuilt in the background once older, so a page is a filter
/// over the snapshot plus a live read of the 50 accounts shown (risk from the engine, usage totals through the usage
/// log's account index). Pages are keyset-paged on (score, id): a cursor stays valid while scores move.
/// </remarks>
internal sealed class AccountDirectory(IAccountStore accounts, IUsageEventStore usage, IAccountRiskSource risk, PolicyState state, TimeProvider time)
{
    /// <summary>How old the ranking may be before a page asks for a new one (the rows shown are always read live).</summary>
    public static readonly TimeSpan RankingMaxAge = TimeSpan.FromSeconds(15);

    private readonly Lock _gate = new();
    private Ranking? _ranking;
    private Task<Ranking>? _building;

    /// <summary>The order accounts were in at <see cref="BuiltAt"/>.</summary>
    internal sealed record Ranking(DateTimeOffset BuiltAt, RankEntry[] Entries);

    internal readonly record struct RankEntry(Account Account, double Score, bool Flagged, string Band, string? Campaign);

    /// <summary>The page of accounts after <paramref name="after"/> (a cursor from a previous page), riskiest first.</summary>
    public async Task<AccountPage> RankAsync(AccountFilter filter, string? after, int limit, CancellationToken cancellationToken)
    {
        var ranking = await CurrentRankingAsync();
        var matched = new List<RankEntry>();
        foreach (var entry in ranking.Entries)
        {
            if ((filter.Tier is null || string.Equals(entry.Account.Tier, filter.Tier, StringComparison.Ordinal))
                && (filter.Band is null || entry.Band == filter.Band)
                && (filter.Flagged is null || entry.Flagged == filter.Flagged)
                && (filter.Campaign is null || entry.Campaign == filter.Campaign))
            {
                matched.Add(entry);
            }
        }

        var start = 0;
        if (ParseCursor(after) is { } cursor)
        {
            start = matched.FindIndex(r => r.Score < cursor.Score || (r.Score == cursor.Score && string.CompareOrdinal(r.Account.Id, cursor.Id) > 0));
            start = start < 0 ? matched.Count : start;
        }

        var items = new List<RankedAccount>(Math.Max(0, Math.Min(limit, matched.Count - start)));
        for (var i = start; i < matched.Count && items.Count < limit; i++)
        {
            var entry = matched[i];
            var totals = await usage.GetAccountUsageAsync(entry.Account.Id, cancellationToken);
            var live = risk.GetRisk(entry.Account.Id);
            var decision = state.DecisionFor(entry.Account.Id);
            var campaign = live?.CampaignId ?? decision.CampaignId;
            items.Add(new RankedAccount(i + 1, ToView(entry.Account, totals, live is null ? null : live with { CampaignId = campaign }), ActionLadder.Name(decision.Band)));
        }

        var last = start + items.Count;
        var next = last < matched.Count && items.Count > 0 ? Cursor(matched[last - 1].Score, matched[last - 1].Account.Id) : null;
        return new AccountPage(items, next, matched.Count, ranking.Entries.Length, ranking.BuiltAt);
    }

    /// <summary>The snapshot, built now when there is none, else rebuilt in the background once older than <see cref="RankingMaxAge"/>.</summary>
    private Task<Ranking> CurrentRankingAsync()
    {
        lock (_gate)
        {
            var current = _ranking;
            if (current is not null && time.GetUtcNow() - current.BuiltAt <= RankingMaxAge)
            {
                return Task.FromResult(current);
            }

            if (_building is null)
            {
                var building = Task.Run(BuildRankingAsync);
                _building = building;
                _ = building.ContinueWith(done =>
                {
                    lock (_gate)
                    {
                        if (done.IsCompletedSuccessfully)
                        {
                            _ranking = done.Result;
                        }

                        _building = null;
                    }
                }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            // A stale ranking is served while the new one is built; only the first page ever waits.
            return current is not null ? Task.FromResult(current) : _building;
        }
    }

    private async Task<Ranking> BuildRankingAsync()
    {
        var builtAt = time.GetUtcNow();
        var all = await accounts.ListAsync(CancellationToken.None);
        var entries = new RankEntry[all.Count];
        for (var i = 0; i < all.Count; i++)
        {
            var account = all[i];
            var accountRisk = risk.GetRisk(account.Id);
            var decision = state.DecisionFor(account.Id);
            entries[i] = new RankEntry(account, accountRisk?.Score ?? -1, accountRisk?.Flagged ?? false, ActionLadder.Name(decision.Band), accountRisk?.CampaignId ?? decision.CampaignId);
        }

        Array.Sort(entries, static (a, b) => b.Score.CompareTo(a.Score) is var byScore and not 0 ? byScore : string.CompareOrdinal(a.Account.Id, b.Account.Id));
        return new Ranking(builtAt, entries);
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
