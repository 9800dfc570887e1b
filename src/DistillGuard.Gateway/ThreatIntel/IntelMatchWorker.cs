using System.Globalization;
using System.Text.Json;
using DistillGuard.Detection.Engine;
using DistillGuard.Gateway.Usage;
using DistillGuard.Storage.ThreatIntel;
using DistillGuard.Storage.Usage;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Matching;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;
using DistillGuard.Usage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.ThreatIntel;

/// <summary>Hands usage events to the partner-indicator matcher; never blocks the request.</summary>
internal sealed class IntelMatchFeed() : UsageEventQueue(65_536)
{
    public bool TryRead(out UsageEvent usageEvent) => Reader.TryRead(out usageEvent!);
}

/// <summary>
/// Keeps the partner-indicator matcher current — indicators imported by <c>intel import|pull</c> or pushed to our
/// submissions collection — and gives the detection engine its evidence, so that the ladder acts on it like on any detector.
/// </summary>
/// <remarks>
/// When the indicators change, a new matcher is built: its null distribution is fitted on this provider's traffic of
/// the look-back window recorded before the newest indicator arrived (accounts as they were before we knew the
/// indicator), and the window's traffic is replayed into it, so an account that had already moved here matches at once.
/// Matches of a partner's indicator are reported back as STIX sightings (counts only) when the partner asked for them.
/// </remarks>
internal sealed partial class IntelMatchWorker(
    IntelMatchFeed feed,
    SqliteIntelStore store,
    IUsageEventStore usage,
    ProducerKeys keys,
    DetectionEngine engine,
    IntelHostOptions options,
    TimeProvider time,
    ILogger<IntelMatchWorker> logger) : BackgroundService, IEvidenceSource
{
    private volatile IndicatorMatcher _matcher = new(IndicatorLibrary.Empty, keys.Sharing, MatchCalibration.None);
    private long _seen = -1;

    public IndicatorMatcher Matcher => _matcher;

    public RiskContribution? Evidence(string accountId, DateTimeOffset now)
    {
        var matches = _matcher.Matches(accountId, now);
        var best = matches.Count > 0 ? matches[0] : null;
        return best is null ? null : new RiskContribution("partner_indicator", best.Reason, best.Kinds, Math.Round(100 * (1 - best.PValue), 3), best.Evidence);
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        engine.EvidenceSource = this;
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), time);
        var nextRefresh = DateTimeOffset.MinValue;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (time.GetUtcNow() >= nextRefresh)
                    {
                        await RefreshAsync(stoppingToken);
                        nextRefresh = time.GetUtcNow() + options.MatchRefresh;
                    }

                    var matcher = _matcher;
                    while (feed.TryRead(out var e))
                    {
                        matcher.Observe(e);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogMatchFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Rebuilds the matcher when partners' indicators changed, and reports sightings.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var rows = new List<StoredIntelObject>();
        foreach (var collection in new[] { IntelCollections.Imported, IntelCollections.Submissions })
        {
            rows.AddRange(store.ReadObjects(new IntelObjectQuery(collection, Types: ["indicator"], Limit: 100_000)));
        }

        var seen = rows.Count == 0 ? 0 : rows.Max(r => r.Sequence);
        if (seen != Interlocked.Read(ref _seen))
        {
            var now = time.GetUtcNow();
            var partners = store.ListPartners().ToDictionary(p => p.Id, StringComparer.Ordinal);
            var indicators = new List<ImportedIndicator>();
            foreach (var row in rows)
            {
                using var document = JsonDocument.Parse(row.Json);
                var trust = partners.GetValueOrDefault(row.Source)?.Trust ?? "medium";
                if (IndicatorLibrary.Read(document.RootElement, row.Source, trust) is { } indicator)
                {
                    indicators.Add(indicator);
                }
            }

            var library = new IndicatorLibrary(indicators, keys.Sharing.KeyId);
            var events = new List<UsageEvent>();
            await foreach (var e in usage.ReadAsync(new UsageQuery(From: now - options.Lookback), cancellationToken))
            {
                events.Add(e);
            }

            events.Sort(static (a, b) => a.Timestamp.CompareTo(b.Timestamp));
            var arrived = rows.Count == 0 ? now : rows.Max(r => r.DateAdded);
            var calibration = MatchCalibration.Fit(library, keys.Sharing, events.Where(e => e.Timestamp < arrived));
            var matcher = new IndicatorMatcher(library, keys.Sharing, calibration);
            foreach (var e in events)
            {
                matcher.Observe(e);
            }

            _matcher = matcher;
            Interlocked.Exchange(ref _seen, seen);
            LogRebuilt(logger, library.Count, calibration.Accounts);
        }

        await ReportSightingsAsync(cancellationToken);
    }

    private async Task ReportSightingsAsync(CancellationToken cancellationToken)
    {
        var matcher = _matcher;
        if (matcher.Library.Count == 0)
        {
            return;
        }

        var wanted = store.ListPartners().Where(p => p.WantsSightings).Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        var byIndicator = new Dictionary<string, (ImportedIndicator Indicator, int Accounts, long Requests)>(StringComparer.Ordinal);
        foreach (var account in matcher.Accounts)
        {
            foreach (var m in matcher.Matches(account))
            {
                if (wanted.Contains(m.Indicator.Partner))
                {
                    var entry = byIndicator.GetValueOrDefault(m.Indicator.Id, (m.Indicator, 0, 0));
                    byIndicator[m.Indicator.Id] = (m.Indicator, entry.Accounts + 1, entry.Requests + m.MatchedRequests);
                }
            }
        }

        if (byIndicator.Count == 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        var producer = IndicatorExport.ProducerIdentityId(keys.IdSecret);
        var ns = IndicatorExport.Namespace(new IndicatorExportOptions { IdSecret = keys.IdSecret });
        var objects = new List<(string, string, string, string)>();
        foreach (var (id, (indicator, accounts, requests)) in byIndicator)
        {
            // Counts only: which of our accounts matched never leaves. The version moves when the count does.
            var sighting = new StixSighting
            {
                Id = StixIdentifiers.Deterministic("sighting", ns, "sighting " + id + " " + producer),
                Created = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero),
                Modified = now,
                CreatedByRef = producer,
                SightingOfRef = id,
                Count = (int)Math.Min(999_999_999, accounts),
                WhereSightedRefs = [producer],
                Description = string.Create(CultureInfo.InvariantCulture, $"{accounts} account(s) here matched this indicator ({requests} requests)."),
                ObjectMarkingRefs = [Tlp.MarkingId(options.Tlp)],
            };
            var json = StixJson.ToElement(sighting);
            var previous = store.ReadObjects(new IntelObjectQuery(IntelCollections.Indicators, Ids: [sighting.Id], Limit: 1));
            if (previous.Count == 1 && JsonDocument.Parse(previous[0].Json).RootElement.GetProperty("count").GetInt32() == sighting.Count)
            {
                continue;
            }

            objects.Add((sighting.Id, "sighting", DistillGuard.ThreatIntel.Exchange.SignedContent.Normalise(now), json.GetRawText()));
        }

        if (objects.Count > 0)
        {
            await store.AddObjectsAsync(IntelCollections.Indicators, "self", objects, cancellationToken);
        }
    }

    [LoggerMessage(EventId = 1711, Level = LogLevel.Information, Message = "Partner-indicator matcher rebuilt: {Indicators} indicators, null fitted on {Accounts} accounts")]
    private static partial void LogRebuilt(ILogger logger, int indicators, int accounts);

    [LoggerMessage(EventId = 1712, Level = LogLevel.Warning, Message = "Partner-indicator matching failed; the next tick retries")]
    private static partial void LogMatchFailed(ILogger logger, Exception error);
}
