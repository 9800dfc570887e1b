using System.Diagnostics;
using System.Globalization;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Gateway.Admin;
using DistillGuard.Gateway.Detection;
using DistillGuard.Gateway.Policy;
using DistillGuard.Storage;
using DistillGuard.Storage.Accounts;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Benchmarks;

/// <summary>
/// How long the dashboard's ranked account list takes to build one page at 100,000 accounts: a real SQLite account
/// table and usage log, a real detection engine that has seen every account, the first page, a filtered page and a page
/// deep in the ranking. Run: <c>dotnet run -c Release --project bench/DistillGuard.Benchmarks -- dashboard-ranking [ACCOUNTS]</c>.
/// </summary>
internal static class DashboardRanking
{
    private const int EventsPerAccount = 3;
    private const int PageSize = 50;
    private const int Runs = 7;

    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var directory = Path.Combine(Path.GetTempPath(), "dg-bench-ranking-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        Console.WriteLine($"dashboard ranking, {count:N0} accounts, {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
        try
        {
            var setup = Stopwatch.StartNew();
            var start = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
            await using var storage = SqliteStorage.Open(directory, new StorageOptions { PaymentFingerprintKey = new byte[32] }, TimeProvider.System, NullLoggerFactory.Instance);
            var engine = new DetectionEngine(DetectionCalibration.LoadDefault() ?? new DetectionCalibration());
            var batch = new List<UsageEvent>(10_000);
            for (var i = 0; i < count; i++)
            {
                var id = "acct-" + i.ToString("D6", CultureInfo.InvariantCulture);
                await storage.Accounts.CreateAsync(new NewAccount { Id = id, ApiKey = "dg-bench-" + id, Tier = i % 10 == 0 ? "enterprise" : "standard", CreatedAt = start }, CancellationToken.None);
                for (var j = 0; j < EventsPerAccount; j++)
                {
                    var templated = i % 50 == 0;
                    var prompt = templated
                        ? $"You are an expert data analyst. Provide complete and transparent reasoning for every answer.\nExplain case {i * 31 + j}. Show every step of your reasoning."
                        : $"Can you help me plan a trip in {j + 1} weeks with a budget of {500 + i % 2000} euros?";
                    var e = new UsageEvent
                    {
                        RequestId = $"req_{i}_{j}",
                        Timestamp = start.AddSeconds(i + (j * 60)),
                        AccountId = id,
                        Endpoint = "chat.completions",
                        Model = "dg-teacher",
                        PromptText = prompt,
                        PromptTokens = prompt.Length / 4,
                        CompletionTokens = templated ? 2048 : 200,
                        Logprobs = templated,
                        Status = 200,
                    };
                    engine.Observe(e);
                    batch.Add(e);
                }

                if (batch.Count >= 9_000)
                {
                    await storage.UsageEvents.AppendAsync(batch, CancellationToken.None);
                    batch.Clear();
                }
            }

            await storage.UsageEvents.AppendAsync(batch, CancellationToken.None);
            var now = start.AddSeconds(count + 600);
            var time = new FixedTime(now);
            var directoryOfAccounts = new AccountDirectory(storage.Accounts, storage.UsageEvents, new EngineRiskSource(engine, time), new PolicyState());
            Console.WriteLine($"setup {setup.Elapsed.TotalSeconds:F0} s ({count * EventsPerAccount:N0} events)");

            var first = await TimeAsync("first page (riskiest 50)", () => directoryOfAccounts.RankAsync(new AccountFilter(), null, PageSize, CancellationToken.None));
            await TimeAsync("filtered page (tier enterprise, flagged)", () => directoryOfAccounts.RankAsync(new AccountFilter(Tier: "enterprise", Flagged: true), null, PageSize, CancellationToken.None));
            var deep = first;
            for (var i = 0; i < 20 && deep.Next is not null; i++)
            {
                deep = await directoryOfAccounts.RankAsync(new AccountFilter(), deep.Next, PageSize, CancellationToken.None);
            }

            await TimeAsync("page 22 (keyset cursor)", () => directoryOfAccounts.RankAsync(new AccountFilter(), deep.Next, PageSize, CancellationToken.None));
            var accountsOnly = Stopwatch.StartNew();
            _ = await storage.Accounts.ListAsync(CancellationToken.None);
            Console.WriteLine($"  of which the account table read: {accountsOnly.Elapsed.TotalMilliseconds:F0} ms");
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<AccountPage> TimeAsync(string name, Func<Task<AccountPage>> page)
    {
        var times = new List<double>(Runs);
        AccountPage result = null!;
        for (var i = 0; i < Runs; i++)
        {
            var watch = Stopwatch.StartNew();
            result = await page();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine($"{name}: median {times[Runs / 2]:F0} ms, min {times[0]:F0} ms, max {times[^1]:F0} ms over {Runs} runs; {result.Items.Count} rows of {result.Matched:N0} matching");
        return result;
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
