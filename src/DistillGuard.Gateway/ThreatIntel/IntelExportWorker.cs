using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Engine;
using DistillGuard.Storage.ThreatIntel;
using DistillGuard.Storage.Usage;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;
using DistillGuard.Usage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.ThreatIntel;

/// <summary>How the gateway shares indicators.</summary>
public sealed class IntelHostOptions
{
    /// <summary>How often flagged campaigns and accounts are exported into the indicators collection.</summary>
    public TimeSpan ExportInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Traffic read back to describe each flagged operator.</summary>
    public TimeSpan Lookback { get; init; } = TimeSpan.FromDays(7);

    public TlpLevel Tlp { get; init; } = TlpLevel.Amber;

    public string ProducerName { get; init; } = "DistillGuard provider";

    /// <summary>How often the partner-indicator matcher looks for newly imported indicators.</summary>
    public TimeSpan MatchRefresh { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>Exports the live detector's flagged operators into the TAXII indicators collection on a schedule.</summary>
/// <remarks>
/// Object versions are the operator's last-seen time, so an export with nothing new adds nothing, and a partner polling
/// with <c>added_after</c> receives only what changed.
/// </remarks>
internal sealed partial class IntelExportWorker(
    DetectionEngine engine,
    CampaignGraph campaigns,
    IUsageEventStore usage,
    SqliteIntelStore store,
    ProducerKeys keys,
    IntelHostOptions options,
    TimeProvider time,
    ILogger<IntelExportWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.ExportInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var added = await ExportAsync(stoppingToken);
                    LogExported(logger, added);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogExportFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One export now; returns the number of new object versions in the collection.</summary>
    public async Task<int> ExportAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var candidates = OperatorSelection.Select(engine.AssessAll(now), campaigns.AssessAll(now));
        var events = new List<UsageEvent>();
        foreach (var member in candidates.SelectMany(c => c.Members).Distinct(StringComparer.Ordinal))
        {
            await foreach (var e in usage.ReadAsync(new UsageQuery(member, now - options.Lookback), cancellationToken))
            {
                events.Add(e);
            }
        }

        var bundle = IndicatorExport.Build(OperatorSelection.Describe(candidates, events), keys.Sharing, new IndicatorExportOptions
        {
            IdSecret = keys.IdSecret,
            ProducerName = options.ProducerName,
            Tlp = options.Tlp,
        }, now);
        var objects = SignedContentObjects(bundle);
        var added = await store.AddObjectsAsync(IntelCollections.Indicators, "self", objects, cancellationToken);
        return added.Count;
    }

    private static List<(string Id, string Type, string Version, string Json)> SignedContentObjects(StixBundle bundle)
    {
        var canonical = StixJson.Canonical(bundle);
        var list = DistillGuard.ThreatIntel.Exchange.SignedContent.Objects(canonical, "bundle")
            .Select(o => (o.Id, o.Type, o.Version, o.Json)).ToList();
        var definition = StixJson.ToElement(DistillationExtension.Definition());
        list.Insert(0, (DistillationExtension.Id, "extension-definition", TaxiiMedia.Timestamp(DistillationExtension.Definition().Modified!.Value), definition.GetRawText()));
        return list;
    }

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Threat-intel export: {Added} new object versions in the indicators collection")]
    private static partial void LogExported(ILogger logger, int added);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "Threat-intel export failed; the next tick retries")]
    private static partial void LogExportFailed(ILogger logger, Exception error);
}
