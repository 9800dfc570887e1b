using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Scoring;
using DistillGuard.Usage;

namespace DistillGuard.Benchmarks.Campaigns;

/// <summary>
/// The campaign linker over 1,000,000 events from 100,000 accounts (95,000 casual users, 4,000 users of one harness,
/// 1,000 students; two days at five requests a day): linking from nothing (a restart reading the usage log back), the
/// hourly full re-link, and one incremental pass at 1,000 requests/s (2,000 new events, then <see cref="CampaignGraph.Link"/>).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
[MemoryDiagnoser]
public class CampaignRebuildBenchmarks
{
    private const int PassEvents = 2_000;
    private CampaignIdentity[] _identities = [];
    private List<UsageEvent> _events = [];
    private UsageEvent[] _pass = [];
    private CampaignGraph _filled = null!;
    private DetectionCalibration _calibration = null!;
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        _calibration = DetectionCalibration.LoadDefault() ?? new DetectionCalibration();
        _identities = CampaignTraffic.BackgroundIdentities(casual: 95_000, harness: 4_000, students: 1_000, seed: 5);
        _events = CampaignTraffic.Background(_identities, TimeSpan.FromDays(2), perDay: 5, seed: 6);
        _filled = Fill();
        _pass = [.. _events.Skip(_events.Count / 2).Take(PassEvents)];
    }

    /// <summary>Every identity and event observed into a new graph, then one full link: what a restart costs.</summary>
    [Benchmark(Baseline = true)]
    public int FromNothing() => Fill().Campaigns.Count;

    /// <summary>The hourly full re-link of a graph that already holds the 100,000 accounts.</summary>
    [Benchmark]
    public int Relink() => _filled.Rebuild(CampaignTraffic.Start.AddDays(2)).Count;

    /// <summary>One pass at 1,000 requests/s: 2,000 events observed, then an incremental link.</summary>
    [Benchmark]
    public int Pass()
    {
        _round++;
        foreach (var e in _pass)
        {
            _filled.Observe(e with { RequestId = e.RequestId + "/" + _round });
        }

        return _filled.Link(CampaignTraffic.Start.AddDays(2)).Count;
    }

    private CampaignGraph Fill()
    {
        var graph = new CampaignGraph(_calibration);
        foreach (var identity in _identities)
        {
            graph.SetIdentity(identity);
        }

        foreach (var e in _events)
        {
            graph.Observe(e);
        }

        graph.Rebuild(CampaignTraffic.Start.AddDays(2));
        return graph;
    }
}
