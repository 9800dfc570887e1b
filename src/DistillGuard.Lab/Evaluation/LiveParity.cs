using System.Globalization;
using DistillGuard.Detection.Calibration;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.Simulation;

namespace DistillGuard.Lab.Evaluation;

/// <summary>What the offline detector concluded about one account from the simulated events a live replay sent.</summary>
/// <param name="FlaggedEver">Flagged at any hourly tick or milestone of the replayed events (the gateway re-scores every 30 s).</param>
/// <param name="FlaggedAtEnd">Flagged at the last replayed event's time, as the admin API is read after a replay.</param>
/// <param name="Reasons">The reasons of the highest-scoring assessment, as an analyst reads them.</param>
public sealed record OfflineVerdict(string AccountId, string Archetype, bool IsAttacker, bool Authorised, int Requests, bool FlaggedEver, bool FlaggedAtEnd,
    double MaxEvidence, IReadOnlyList<string> Reasons);

/// <summary>One archetype offline against live: accounts flagged by each, and by both.</summary>
/// <param name="Kind"><c>attacker</c>, <c>legitimate</c> or <c>authorised</c>.</param>
/// <param name="LiveWithCampaign">Flagged live on their own or as members of a campaign in the review band.</param>
public sealed record ParityRow(string Archetype, string Kind, bool HeldOut, int Accounts, int OfflineFlagged, int LiveFlagged, int Both, int LiveWithCampaign);

/// <summary>
/// Offline against live on the same replayed events: the simulator's events scored by the detection engine with the
/// calibration the gateway ships, beside the gateway's own verdicts read from its admin API.
/// </summary>
public static class LiveParity
{
    /// <summary>
    /// Scores <paramref name="events"/> offline in their own (virtual) time, with hourly ticks and milestones as the
    /// evaluation does, using <paramref name="calibration"/> (default: the one shipped in the detection library).
    /// </summary>
    public static IReadOnlyList<OfflineVerdict> Score(IReadOnlyList<LabelledEvent> events, DetectionCalibration? calibration = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        calibration ??= DetectionCalibration.LoadDefault() ?? throw new InvalidOperationException("The detection library ships no calibration.");
        var engine = new DetectionEngine(calibration);
        var accounts = new Dictionary<string, (LabelledEvent First, int Requests)>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            var id = e.Event.AccountId ?? "anonymous";
            accounts[id] = accounts.TryGetValue(id, out var a) ? (a.First, a.Requests + 1) : (e, 1);
        }

        var ever = new HashSet<string>(StringComparer.Ordinal);
        var best = new Dictionary<string, AccountAssessment>(StringComparer.Ordinal);
        AccountProfile? Profile(string id) => accounts.TryGetValue(id, out var a) && a.First.Account is { } account ? new AccountProfile(account.Tier, account.Verified) : null;
        foreach (var snapshot in TrafficReplay.Snapshots(engine, events.Select(e => e.Event), SimulatedCalibration.Tick, Profile))
        {
            var assessment = RiskScoring.Assess(snapshot.AccountId, snapshot.Time, snapshot.Cohort, snapshot.Features, calibration, engine.Options);
            if (assessment.Flagged)
            {
                ever.Add(snapshot.AccountId);
            }

            if (!best.TryGetValue(snapshot.AccountId, out var b) || assessment.Evidence > b.Evidence)
            {
                best[snapshot.AccountId] = assessment;
            }
        }

        var end = events.Count == 0 ? DateTimeOffset.UnixEpoch : events.Max(e => e.Event.Timestamp);
        return [.. accounts.Select(p =>
        {
            var first = p.Value.First;
            var final = engine.Assess(p.Key, end);
            var top = best.GetValueOrDefault(p.Key);
            return new OfflineVerdict(p.Key, first.Archetype, first.Account?.IsAttacker ?? first.IsAttacker, first.Account?.Authorised ?? first.Authorised, p.Value.Requests,
                ever.Contains(p.Key) || final?.Flagged == true, final?.Flagged == true, Math.Round(top?.Evidence ?? 0, 3),
                top is null ? [] : [.. top.Reasons.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Code}: {r.Detail}"))]);
        })];
    }

    /// <summary>The per-archetype table: accounts, flagged offline (at any time), flagged live (after the replay), both.</summary>
    public static IReadOnlyList<ParityRow> Table(IReadOnlyList<OfflineVerdict> offline, IReadOnlyList<LiveVerdict> live)
    {
        ArgumentNullException.ThrowIfNull(offline);
        ArgumentNullException.ThrowIfNull(live);
        var liveById = live.ToDictionary(v => v.AccountId, StringComparer.Ordinal);
        return [.. offline.GroupBy(o => o.Archetype, StringComparer.Ordinal)
            .Select(g =>
            {
                var first = g.First();
                var kind = first.IsAttacker ? "attacker" : first.Authorised ? "authorised" : "legitimate";
                var liveFlagged = g.Count(o => liveById.TryGetValue(o.AccountId, out var v) && v.Flagged);
                var both = g.Count(o => o.FlaggedEver && liveById.TryGetValue(o.AccountId, out var v) && v.Flagged);
                var withCampaign = g.Count(o => liveById.TryGetValue(o.AccountId, out var v) && v.FlaggedWithCampaign);
                return new ParityRow(g.Key, kind, TrafficSimulator.HeldOutArchetypes.Contains(g.Key), g.Count(), g.Count(o => o.FlaggedEver), liveFlagged, both, withCampaign);
            })
            .OrderBy(r => r.Kind, StringComparer.Ordinal)
            .ThenBy(r => r.Archetype, StringComparer.Ordinal)];
    }
}
