using System.Globalization;
using System.Text;
using DistillGuard.Detection.Calibration;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.Simulation;
using DistillGuard.ThreatIntel.Exchange;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Matching;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;
using DistillGuard.Usage;

namespace DistillGuard.Lab.Intel;

/// <summary>The exchange experiment's settings.</summary>
public sealed class IntelExchangeOptions
{
    /// <summary>Seed of provider A's traffic; B's legitimate population is seed + 1000, the matcher's null is fitted on seed + 2000.</summary>
    public int Seed { get; init; } = 21;

    public TimeSpan Duration { get; init; } = TimeSpan.FromDays(3);

    public double Scale { get; init; } = 0.5;

    /// <summary>The simulated campaign (or attacker archetype) whose accounts move from A to B.</summary>
    public string Campaign { get; init; } = "hydra-1";

    /// <summary>When the operator arrives at B, after the start of B's traffic.</summary>
    public TimeSpan ArrivalAfter { get; init; } = TimeSpan.FromHours(6);
}

/// <summary>How quickly B flagged the moved operator, in one condition.</summary>
/// <param name="Hours">Hours from the operator's first request at B to its first flag (null: never within the run).</param>
/// <param name="Requests">The operator's requests at B up to its first flag (the exchanges it got before being flagged).</param>
/// <param name="AccountsFlagged">Operator accounts flagged by the end of the run.</param>
/// <param name="LegitimateFlagged">B's legitimate accounts flagged at any assessment.</param>
/// <param name="LegitimateMatched">B's legitimate accounts that matched a partner indicator with evidence.</param>
public sealed record ExchangeCondition(double? Hours, long? Requests, int AccountsFlagged, int OperatorAccounts, int LegitimateFlagged, int LegitimateMatched, int LegitimateAccounts);

/// <summary>One seed's exchange.</summary>
/// <param name="BundleBytes">Size of A's signed bundle.</param>
/// <param name="Leaks">Prompt texts, account ids, addresses or payment fingerprints of A's traffic found in the exported bytes (must be 0).</param>
public sealed record ExchangeResult(int Seed, int AFlaggedOperators, int Indicators, int BundleBytes, int Leaks, ExchangeCondition Without, ExchangeCondition With)
{
    /// <summary>How many times sooner B flagged the operator with A's indicators (by its requests at B).</summary>
    public double? SpeedUp => With.Requests is > 0 && Without.Requests is { } w ? (double)w / With.Requests.Value : Without.Requests is null && With.Requests is not null ? double.PositiveInfinity : null;
}

/// <summary>
/// Two providers in one run: a fleet harvests A and is flagged; A's indicators go to B as a signed STIX bundle; the same
/// operator (same templates and infrastructure, new accounts) moves to B. Measures how soon B flags it with and without
/// A's indicators, and whether any of B's legitimate population matches them.
/// </summary>
/// <remarks>
/// Pure and deterministic: virtual time, simulated traffic, the detectors and campaign linker the gateway runs. B's
/// matcher null is fitted on a third seed's legitimate population, never on the traffic it scores; the detector's own
/// calibration is the shipped one (fitted on seeds 1–3).
/// </remarks>
public static class IntelExchangeEvaluation
{
    private static readonly TimeSpan Tick = TimeSpan.FromHours(1);

    public static ExchangeResult Run(IntelExchangeOptions options, DetectionCalibration calibration)
    {
        ArgumentNullException.ThrowIfNull(options);
        var aEvents = TrafficSimulator.Generate(new ScenarioOptions { Seed = options.Seed, Duration = options.Duration, Scale = options.Scale }).ToList();
        var aIdentities = Identities(aEvents);

        // Provider A: replay, flag, export, sign.
        var flagged = DetectionReplay.FlaggedOperators([.. aEvents.Select(e => e.Event)], aIdentities, calibration);
        var sharing = new SharingKey(Enumerable.Range(0, SharingKey.KeyBytes).Select(i => (byte)(i * 7 + options.Seed)).ToArray());
        using var signer = SigningKey.Generate();
        var bundle = IndicatorExport.Build(flagged, sharing, new IndicatorExportOptions { IdSecret = Encoding.UTF8.GetBytes("provider A id secret " + options.Seed), ProducerName = "Provider A" }, aEvents[^1].Event.Timestamp);
        var bytes = StixJson.Canonical(bundle);
        var signature = signer.SignDetached(bytes);
        var leaks = Leaks(bytes, aEvents);

        // Provider B: verifies and imports.
        var imported = SignedContent.Verify(bytes, signature, signer.PublicKey, "bundle");
        var indicators = imported.Where(o => o.Type == "indicator")
            .Select(o => IndicatorLibrary.Read(System.Text.Json.JsonDocument.Parse(o.Json).RootElement, "provider-a", "high"))
            .OfType<ImportedIndicator>().ToList();
        var library = new IndicatorLibrary(indicators, sharing.KeyId);

        // B's own legitimate population, the operator's moved traffic, and a separate population for the matcher's null.
        // B's traffic starts the day after A's ends, so that A's indicators are within their validity.
        var aEnd = aEvents[^1].Event.Timestamp;
        var bStart = new DateTimeOffset(aEnd.UtcTicks - (aEnd.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero).AddDays(1);
        var bLegit = TrafficSimulator.Generate(new ScenarioOptions { Seed = options.Seed + 1000, Duration = options.Duration, Scale = options.Scale, IncludeAttackers = false, Start = bStart }).ToList();
        var nullPopulation = TrafficSimulator.Generate(new ScenarioOptions { Seed = options.Seed + 2000, Duration = options.Duration, Scale = options.Scale, IncludeAttackers = false, Start = bStart }).Select(e => e.Event);
        var matchCalibration = MatchCalibration.Fit(library, sharing, nullPopulation);
        var moved = Moved(aEvents, options.Campaign, bStart + options.ArrivalAfter);
        var bEvents = bLegit.Concat(moved).OrderBy(e => e.Event.Timestamp).ToList();
        var bIdentities = Identities(bEvents);

        var without = Replay(bEvents, bIdentities, calibration, null);
        var with = Replay(bEvents, bIdentities, calibration, new IndicatorMatcher(library, sharing, matchCalibration));
        return new ExchangeResult(options.Seed, flagged.Count, indicators.Count, bytes.Length, leaks, without, with);
    }

    /// <summary>The campaign's traffic at A as new accounts at B: same prompts, addresses and client, new ids, shifted in time.</summary>
    private static List<LabelledEvent> Moved(List<LabelledEvent> a, string campaign, DateTimeOffset arrival)
    {
        var events = a.Where(e => e.IsAttacker && (e.CampaignId == campaign || e.Archetype == campaign)).ToList();
        if (events.Count == 0)
        {
            throw new InvalidOperationException($"Campaign '{campaign}' has no traffic at this scale and duration.");
        }

        var shift = arrival - events[0].Event.Timestamp;
        return [.. events.Select(e => e with
        {
            Event = e.Event with { AccountId = "b-" + e.Event.AccountId, RequestId = "b-" + e.Event.RequestId, Timestamp = e.Event.Timestamp + shift },
            Account = e.Account is null ? null : e.Account with { Id = "b-" + e.Account.Id, CreatedAt = e.Account.CreatedAt + shift },
        })];
    }

    private static Dictionary<string, CampaignIdentity> Identities(IEnumerable<LabelledEvent> events)
    {
        var identities = new Dictionary<string, CampaignIdentity>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.Account is { } a && !identities.ContainsKey(a.Id))
            {
                identities[a.Id] = new CampaignIdentity(a.Id, a.Org, a.Tier, a.Verified, a.PaymentFingerprint, a.CreatedAt);
            }
        }

        return identities;
    }

    /// <summary>Replays B's traffic through its engine and campaign linker (and, in the second condition, the matcher as evidence).</summary>
    private static ExchangeCondition Replay(List<LabelledEvent> events, Dictionary<string, CampaignIdentity> identities, DetectionCalibration calibration, IndicatorMatcher? matcher)
    {
        var engine = new DetectionEngine(calibration);
        var graph = new CampaignGraph(calibration);
        var adapter = matcher is null ? null : new MatcherEvidence(matcher);
        engine.EvidenceSource = adapter;
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var dirty = new HashSet<string>(StringComparer.Ordinal);
        var operatorAccounts = new HashSet<string>(StringComparer.Ordinal);
        var legitimate = new HashSet<string>(StringComparer.Ordinal);
        var flaggedOperator = new HashSet<string>(StringComparer.Ordinal);
        var flaggedLegit = new HashSet<string>(StringComparer.Ordinal);
        DateTimeOffset? firstRequest = null, firstFlag = null;
        long operatorRequests = 0;
        long? requestsAtFlag = null;
        DateTimeOffset? nextTick = null;

        void Check(string account, DateTimeOffset now)
        {
            if (engine.Assess(account, now) is not { Flagged: true })
            {
                return;
            }

            if (operatorAccounts.Contains(account))
            {
                Flag(now);
                flaggedOperator.Add(account);
            }
            else
            {
                flaggedLegit.Add(account);
            }
        }

        void Flag(DateTimeOffset now)
        {
            if (firstFlag is null)
            {
                firstFlag = now;
                requestsAtFlag = operatorRequests;
            }
        }

        foreach (var labelled in events)
        {
            var e = labelled.Event;
            nextTick ??= e.Timestamp + Tick;
            while (e.Timestamp >= nextTick)
            {
                var now = nextTick.Value;
                graph.Rebuild(now);
                foreach (var c in graph.AssessAll(now))
                {
                    if (c.Pooled is { Flagged: true } && c.Campaign.Members.Any(operatorAccounts.Contains))
                    {
                        Flag(now);
                    }
                }

                foreach (var account in dirty)
                {
                    Check(account, now);
                }

                dirty.Clear();
                nextTick = now + Tick;
            }

            if (e.AccountId is not { } id)
            {
                continue;
            }

            if (!engine.HasProfile(id) && identities.TryGetValue(id, out var identity))
            {
                engine.SetProfile(id, new AccountProfile(identity.Tier, identity.Verified));
                graph.SetIdentity(identity);
            }

            (labelled.IsAttacker ? operatorAccounts : legitimate).Add(id);
            if (labelled.IsAttacker)
            {
                operatorRequests++;
                firstRequest ??= e.Timestamp;
            }

            engine.Observe(e);
            graph.Observe(e);
            matcher?.Observe(e);
            dirty.Add(id);
            if (DetectionEngine.Counts(e))
            {
                counts[id] = counts.GetValueOrDefault(id) + 1;
                if (TrafficReplay.IsMilestone(counts[id]))
                {
                    Check(id, e.Timestamp);
                }
            }
        }

        var matched = matcher is null ? 0 : legitimate.Count(a => matcher.Matches(a).Any(m => m.Evidence > 0));
        return new ExchangeCondition(
            firstFlag is { } f && firstRequest is { } r ? Math.Round((f - r).TotalHours, 2) : null,
            requestsAtFlag, flaggedOperator.Count, operatorAccounts.Count, flaggedLegit.Count, matched, legitimate.Count);
    }

    /// <summary>Counts A's private values found in the exported bytes: prompt texts (their first 40 characters), account ids, key ids, client addresses, payment fingerprints.</summary>
    public static int Leaks(byte[] exported, IEnumerable<LabelledEvent> events)
    {
        var text = Encoding.UTF8.GetString(exported);
        var secrets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.Event.PromptText is { Length: >= 20 } prompt)
            {
                secrets.Add(prompt.Length > 40 ? prompt[..40] : prompt);
            }

            foreach (var value in new[] { e.Event.AccountId, e.Event.KeyId, e.Event.ClientAddress, e.Account?.PaymentFingerprint, e.Event.RequestId })
            {
                if (value is { Length: >= 6 })
                {
                    secrets.Add(value);
                }
            }
        }

        return secrets.Count(s => text.Contains(s, StringComparison.Ordinal) || text.Contains(System.Text.Json.JsonEncodedText.Encode(s).ToString(), StringComparison.Ordinal));
    }

    private sealed class MatcherEvidence(IndicatorMatcher matcher) : IEvidenceSource
    {
        public RiskContribution? Evidence(string accountId, DateTimeOffset now)
        {
            var matches = matcher.Matches(accountId, now);
            var best = matches.Count > 0 ? matches[0] : null;
            return best is null ? null : new RiskContribution("partner_indicator", best.Reason, best.Kinds, Math.Round(100 * (1 - best.PValue), 3), best.Evidence);
        }
    }

    /// <summary>One line per seed, for the console.</summary>
    public static string Describe(ExchangeResult r) => string.Create(CultureInfo.InvariantCulture,
        $"seed {r.Seed}: A flagged {r.AFlaggedOperators} operators, {r.Indicators} indicators, bundle {r.BundleBytes:N0} bytes, {r.Leaks} leaks; B without: {Condition(r.Without)}; with: {Condition(r.With)}; {(r.SpeedUp is { } s ? (double.IsPositiveInfinity(s) ? "only with" : s.ToString("F1", CultureInfo.InvariantCulture) + "x sooner") : "n/a")}");

    private static string Condition(ExchangeCondition c) => string.Create(CultureInfo.InvariantCulture,
        $"first flag after {(c.Requests is { } q ? q.ToString(CultureInfo.InvariantCulture) + " requests / " + c.Hours!.Value.ToString("F1", CultureInfo.InvariantCulture) + " h" : "never")}, {c.AccountsFlagged}/{c.OperatorAccounts} operator accounts flagged, {c.LegitimateFlagged}/{c.LegitimateAccounts} legitimate flagged, {c.LegitimateMatched} legitimate matched");
}
