using System.Diagnostics;
using System.Globalization;
using DistillGuard.Benchmarks.Campaigns;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Storage;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Benchmarks;

/// <summary>
/// What the gateway's detection warm start costs: 1,000,000 events from 100,000 accounts (two days at five requests a
/// day) in a real SQLite usage log, read back in time order as the warm start reads them, alone (the baseline) and folded
/// into a new detection engine (the rebuild), then every account scored once. Run:
/// <c>dotnet run -c Release --project bench/DistillGuard.Benchmarks -- detection-rebuild [ACCOUNTS] [ROUNDS]</c>.
/// </summary>
internal static class DetectionRebuild
{
    public static async Task<int> RunAsync(string[] args)
    {
        var accounts = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var directory = Path.Combine(Path.GetTempPath(), "dg-bench-rebuild-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        Console.WriteLine($"detection rebuild, {accounts:N0} accounts, {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
        try
        {
            var setup = Stopwatch.StartNew();
            var identities = CampaignTraffic.BackgroundIdentities(casual: accounts * 95 / 100, harness: accounts * 4 / 100, students: accounts / 100, seed: 5);
            var events = CampaignTraffic.Background(identities, TimeSpan.FromDays(2), perDay: 5, seed: 6);
            await using (var storage = SqliteStorage.Open(directory, new StorageOptions { PaymentFingerprintKey = new byte[32] }, TimeProvider.System, NullLoggerFactory.Instance))
            {
                foreach (var batch in events.Chunk(10_000))
                {
                    await storage.UsageEvents.AppendAsync(batch, CancellationToken.None);
                }
            }

            Console.WriteLine($"setup: {events.Count:N0} events written in {setup.Elapsed.TotalSeconds:F1} s");
            var calibration = DetectionCalibration.LoadDefault() ?? new DetectionCalibration();
            var from = CampaignTraffic.Start.AddDays(-1);
            for (var round = 1; round <= rounds; round++)
            {
                await using var storage = SqliteStorage.Open(directory, new StorageOptions { PaymentFingerprintKey = new byte[32] }, TimeProvider.System, NullLoggerFactory.Instance);
                var read = Stopwatch.StartNew();
                long n = 0;
                await foreach (var _ in storage.UsageEvents.ReadAsync(new UsageQuery(From: from), CancellationToken.None))
                {
                    n++;
                }

                read.Stop();
                var engine = new DetectionEngine(calibration);
                var rebuild = Stopwatch.StartNew();
                await foreach (var e in storage.UsageEvents.ReadAsync(new UsageQuery(From: from), CancellationToken.None))
                {
                    engine.Observe(e);
                }

                rebuild.Stop();
                var score = Stopwatch.StartNew();
                var scored = engine.AssessAll(CampaignTraffic.Start.AddDays(2)).Count();
                score.Stop();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round}: read {n:N0} events {read.Elapsed.TotalSeconds:F2} s (baseline); read + observe {rebuild.Elapsed.TotalSeconds:F2} s (ratio {rebuild.Elapsed / read.Elapsed:F2}); {engine.AccountCount:N0} accounts; score all {scored:N0} in {score.Elapsed.TotalSeconds:F2} s; rebuild + score {(rebuild.Elapsed + score.Elapsed).TotalSeconds:F2} s"));
            }

            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
