using System.Diagnostics;
using System.Globalization;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Scoring;
using DistillGuard.Usage;

namespace DistillGuard.Benchmarks.Campaigns;

/// <summary>
/// How long a fleet runs before the campaign linker flags it, in virtual time: the gateway's policy-worker loop (a link
/// pass every 2 s, a full rebuild and every campaign scored at each hour, history pooled when a campaign forms or grows)
/// over a fleet and a legitimate background. Run: <c>dotnet run -c Release --project bench/DistillGuard.Benchmarks -- campaign-timeline</c>.
/// </summary>
internal static class CampaignTimeline
{
    private static readonly TimeSpan s_pass = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_tick = TimeSpan.FromHours(1);

    public sealed record Outcome(
        string Scenario, int Seed, TimeSpan? FirstFlag, long FleetExchangesAtFirstFlag, double AttributedAtFirstFlag,
        TimeSpan? Attributed90, long FleetExchangesAt90, int LegitimateInFlaggedCampaigns, int LegitimateLinked, long EventsReplayed, TimeSpan Wall, double MaxPassMs);

    public static async Task<int> RunAsync(string[] args)
    {
        var calibration = DetectionCalibration.LoadDefault() ?? throw new InvalidOperationException("No shipped calibration.");
        var seeds = args.Length > 0 ? args[0].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [1, 2, 3];
        var scenarios = new (string Name, CampaignTraffic.FleetShape Shape, TimeSpan Max)[]
        {
            ("1,000 accounts x 10/day, in waves, 20 per /24", new(1_000, 10, 20, InWaves: true), TimeSpan.FromDays(3)),
            ("1,000 accounts x 10/day, own random times, 20 per /24", new(1_000, 10, 20, InWaves: false), TimeSpan.FromDays(3)),
            ("25,000 accounts x 25.6/day (28.8 M in 45 days), own times, 50 per /24", new(25_000, 28_800_000.0 / 45 / 25_000, 50, InWaves: false), TimeSpan.FromHours(30)),
        };
        if (args.Length > 1)
        {
            scenarios = [.. scenarios.Where((_, i) => args[1].Contains((i + 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))];
        }

        Console.WriteLine($"campaign timeline, {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
        foreach (var (name, shape, max) in scenarios)
        {
            foreach (var seed in seeds)
            {
                var o = await RunAsync(name, shape, max, seed, calibration);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{o.Scenario} | seed {o.Seed} | first flag {Hours(o.FirstFlag)} after {o.FleetExchangesAtFirstFlag:N0} fleet exchanges, {o.AttributedAtFirstFlag:P1} attributed | ≥ 90 % attributed {Hours(o.Attributed90)} after {o.FleetExchangesAt90:N0} | legitimate linked {o.LegitimateLinked}, in a flagged campaign {o.LegitimateInFlaggedCampaigns} | {o.EventsReplayed:N0} events in {o.Wall.TotalSeconds:F0} s, slowest pass {o.MaxPassMs:F0} ms"));
            }
        }

        return 0;
    }

    private static string Hours(TimeSpan? t) => t is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v.TotalHours:F1} h") : "never";

    public static async Task<Outcome> RunAsync(string name, CampaignTraffic.FleetShape shape, TimeSpan max, int seed, DetectionCalibration calibration)
    {
        var wall = Stopwatch.StartNew();
        var identities = CampaignTraffic.FleetIdentities(shape, seed)
            .Concat(CampaignTraffic.BackgroundIdentities(casual: 10_000, harness: 2_000, students: 400, seed + 1000))
            .ToDictionary(i => i.AccountId, StringComparer.Ordinal);
        var events = CampaignTraffic.Merge(CampaignTraffic.Fleet(shape, max, seed), CampaignTraffic.Background([.. identities.Values.Where(i => !i.AccountId.StartsWith("fleet-", StringComparison.Ordinal))], max, 5, seed + 2000));
        var graph = new CampaignGraph(calibration);
        var history = new MemoryUsageHistory();
        var start = CampaignTraffic.Start;
        var nextPass = start + s_pass;
        var nextTick = start + s_tick;
        long fleetExchanges = 0, replayed = 0;
        TimeSpan? first = null, ninety = null;
        long atFirst = 0, atNinety = 0;
        double attributedAtFirst = 0, maxPass = 0;
        var legitFlagged = new HashSet<string>(StringComparer.Ordinal);
        var flaggedCampaigns = new HashSet<string>(StringComparer.Ordinal);
        var passTimer = new Stopwatch();

        foreach (var e in events)
        {
            while (e.Timestamp >= nextPass)
            {
                passTimer.Restart();
                IReadOnlyList<CampaignChange> changes;
                IEnumerable<string> assess;
                if (nextPass >= nextTick)
                {
                    nextTick += s_tick;
                    changes = graph.RebuildWithChanges(nextPass).Changes;
                    assess = graph.Campaigns.Select(c => c.Id);
                }
                else
                {
                    changes = graph.Link(nextPass);
                    assess = changes.Select(c => c.CampaignId);
                }

                foreach (var change in changes)
                {
                    await graph.BackfillAsync(change, history, nextPass, CancellationToken.None);
                }

                foreach (var id in assess.ToList())
                {
                    if (graph.Assess(id, nextPass) is { Level: "review" or "friction" })
                    {
                        flaggedCampaigns.Add(id);
                    }
                    else
                    {
                        flaggedCampaigns.Remove(id);
                    }
                }

                flaggedCampaigns.RemoveWhere(id => graph.Find(id) is null);
                var fleetInFlagged = 0;
                foreach (var id in flaggedCampaigns)
                {
                    var members = graph.Find(id)!.Members;
                    var fleetMembers = members.Count(m => m.StartsWith("fleet-", StringComparison.Ordinal));
                    fleetInFlagged = Math.Max(fleetInFlagged, fleetMembers);
                    foreach (var m in members.Where(m => !m.StartsWith("fleet-", StringComparison.Ordinal)))
                    {
                        legitFlagged.Add(m);
                    }
                }

                if (first is null && fleetInFlagged > 0)
                {
                    first = nextPass - start;
                    atFirst = fleetExchanges;
                    attributedAtFirst = fleetInFlagged / (double)shape.Accounts;
                }

                if (ninety is null && fleetInFlagged >= 0.9 * shape.Accounts)
                {
                    ninety = nextPass - start;
                    atNinety = fleetExchanges;
                }

                maxPass = Math.Max(maxPass, passTimer.Elapsed.TotalMilliseconds);
                nextPass += s_pass;
            }

            if (ninety is not null)
            {
                break;
            }

            // As the gateway does: the usage log holds the event, and the linker learns the account's identity with its first request.
            history.Add(e);
            if (!graph.HasIdentity(e.AccountId!) && identities.TryGetValue(e.AccountId!, out var identity))
            {
                graph.SetIdentity(identity);
            }

            graph.Observe(e);
            replayed++;
            fleetExchanges += e.AccountId!.StartsWith("fleet-", StringComparison.Ordinal) ? 1 : 0;
        }

        var legitLinked = graph.Campaigns.SelectMany(c => c.Members).Count(m => !m.StartsWith("fleet-", StringComparison.Ordinal));
        if (Environment.GetEnvironmentVariable("DG_TIMELINE_DEBUG") is not null)
        {
            foreach (var c in graph.Campaigns.Where(c => c.Members.Any(m => !m.StartsWith("fleet-", StringComparison.Ordinal))))
            {
                Console.WriteLine($"  {c.Id}: {c.Members.Count} members ({string.Join(",", c.Members.Take(4))}), links {string.Join("; ", c.Links.Take(4).Select(l => $"{l.Code} {l.Artifact} x{l.Accounts}"))}");
            }
        }

        return new Outcome(name, seed, first, atFirst, attributedAtFirst, ninety, atNinety, legitFlagged.Count, legitLinked, replayed, wall.Elapsed, maxPass);
    }
}
