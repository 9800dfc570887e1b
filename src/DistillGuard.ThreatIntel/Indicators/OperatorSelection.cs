using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Usage;

namespace DistillGuard.ThreatIntel.Indicators;

/// <summary>One operator chosen for export, before its traffic is read.</summary>
/// <param name="LocalId">The campaign id, or the account id of a flagged account in no campaign (never exported).</param>
/// <param name="Members">The accounts whose traffic describes the operator.</param>
public sealed record OperatorCandidate(string LocalId, IReadOnlyList<string> Members, double Score, string Level);

/// <summary>Which detections become indicators: campaigns whose pooled traffic reached the review band, and flagged accounts outside them.</summary>
/// <remarks>
/// A campaign shares only its core members' traffic: fringe members are linked by one kind of artifact alone (a shared
/// card, a colliding hash), the classic false link, and exporting their templates or networks would put a bystander's
/// artifacts into another provider's detector.
/// </remarks>
public static class OperatorSelection
{
    public static IReadOnlyList<OperatorCandidate> Select(IEnumerable<AccountAssessment> accounts, IEnumerable<CampaignAssessment> campaigns)
    {
        var chosen = new List<OperatorCandidate>();
        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in campaigns)
        {
            foreach (var m in c.Campaign.Members)
            {
                covered.Add(m);
            }

            if (c.Pooled is { Flagged: true } pooled)
            {
                var core = c.Campaign.Members.Where(c.Campaign.IsCore).ToList();
                if (core.Count > 0)
                {
                    chosen.Add(new OperatorCandidate(c.Campaign.Id, core, pooled.Score, pooled.Level));
                }
            }
        }

        foreach (var a in accounts)
        {
            if (a.Flagged && !covered.Contains(a.AccountId))
            {
                chosen.Add(new OperatorCandidate(a.AccountId, [a.AccountId], a.Score, a.Level));
            }
        }

        return chosen;
    }

    /// <summary>The traits of each candidate from <paramref name="events"/> (any order; other accounts' events are skipped).</summary>
    public static IReadOnlyList<FlaggedOperator> Describe(IReadOnlyList<OperatorCandidate> candidates, IEnumerable<UsageEvent> events)
    {
        var byAccount = new Dictionary<string, OperatorTraits>(StringComparer.Ordinal);
        var traits = candidates.Select(_ => new OperatorTraits()).ToArray();
        for (var i = 0; i < candidates.Count; i++)
        {
            foreach (var m in candidates[i].Members)
            {
                byAccount[m] = traits[i];
            }
        }

        foreach (var e in events)
        {
            if (e.AccountId is { } id && byAccount.TryGetValue(id, out var t))
            {
                t.Observe(e);
            }
        }

        return [.. candidates.Select((c, i) => new FlaggedOperator(c.LocalId, traits[i], c.Score, c.Level))];
    }
}

/// <summary>Replays recorded traffic through a detection engine and the campaign linker, as the gateway would have seen it.</summary>
public static class DetectionReplay
{
    /// <summary>The operators flagged by the end of <paramref name="events"/> (time-ordered).</summary>
    /// <param name="identities">What the account store knows (payment hash, org, tier, sign-up), by account id.</param>
    public static IReadOnlyList<FlaggedOperator> FlaggedOperators(IReadOnlyList<UsageEvent> events, IReadOnlyDictionary<string, CampaignIdentity> identities, DetectionCalibration calibration, TimeSpan? rebuildEvery = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        var engine = new DetectionEngine(calibration);
        var graph = new CampaignGraph(calibration);
        var every = rebuildEvery ?? TimeSpan.FromHours(1);
        DateTimeOffset? nextRebuild = null;
        var last = DateTimeOffset.MinValue;
        foreach (var e in events)
        {
            if (e.AccountId is { } id && !engine.HasProfile(id))
            {
                var identity = identities.GetValueOrDefault(id);
                engine.SetProfile(id, new AccountProfile(identity?.Tier, identity?.Verified ?? false));
                if (identity is not null)
                {
                    graph.SetIdentity(identity);
                }
            }

            // The gateway relinks campaigns periodically; from then on members' requests feed the campaign's pool.
            nextRebuild ??= e.Timestamp + every;
            if (e.Timestamp >= nextRebuild)
            {
                graph.Rebuild(e.Timestamp);
                nextRebuild = e.Timestamp + every;
            }

            engine.Observe(e);
            graph.Observe(e);
            last = e.Timestamp > last ? e.Timestamp : last;
        }

        if (events.Count == 0)
        {
            return [];
        }

        graph.Rebuild(last);
        var candidates = OperatorSelection.Select(engine.AssessAll(last), graph.AssessAll(last));
        return OperatorSelection.Describe(candidates, events);
    }
}
