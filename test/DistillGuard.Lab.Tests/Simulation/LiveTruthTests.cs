using DistillGuard.Gateway.Hosting;
using DistillGuard.Lab.Simulation;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;
using DistillGuard.Storage;
using DistillGuard.Storage.Usage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using DistillGuard.Usage;

namespace DistillGuard.Lab.Tests.Simulation;

/// <summary>
/// A reduced bench/live-truth.sh: the held-out cast replayed through a real gateway over HTTP with the official OpenAI
/// client and no min_tokens, the gateway's verdicts and reasons read back, and the same events scored offline.
/// </summary>
/// <remarks>In one collection with the other live-gateway test, so the two gateways do not compete for the cores.</remarks>
[Collection("live gateway")]
public sealed class LiveTruthTests
{
    private const string AdminToken = "lab-truth-admin-token-0123456789abcdef";

    private static readonly Lazy<ILanguageModel> s_model = new(() =>
        KneserNeyTrainer.Train(CorpusSplits.Tokenize(CorpusSplits.TrainingBrown().Take(2000)), 3, new KneserNeyOptions { Id = "dg-teacher" }));

    private static readonly string[] s_cast = ["plain-spoken-harvester", "soft-label-harvester", "four-setting-prober", "card-fleet", "varied-human", "student-cohort"];

    [Fact]
    public async Task LiveReplay_HeldOutCast_ReadsVerdictsWithReasonsAndTheOfflineParity()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "dg-lab-truth-" + Guid.NewGuid().ToString("N"));
        var options = new GatewayOptions { Port = 0, Host = "localhost", DataDirectory = dataDirectory, AdminToken = AdminToken };
        options.TrustedProxies.AddRange(["127.0.0.1", "::1"]);
        var scenario = new ScenarioOptions
        {
            Seed = 7,
            Duration = TimeSpan.FromHours(8),
            IncludeHeldOut = true,
            AccountsPerArchetype = TrafficSimulator.Archetypes.ToDictionary(a => a, a => a switch
            {
                "card-fleet" => 8,
                "varied-human" or "student-cohort" => 6,
                _ => s_cast.Contains(a) ? 1 : 0,
            }),
        };
        // Take the cast's first requests in time order, at most 60 per account, so every account of it is replayed.
        var perAccount = new Dictionary<string, int>(StringComparer.Ordinal);
        var events = TrafficSimulator.Generate(scenario).Where(e => (perAccount[e.Event.AccountId!] = perAccount.GetValueOrDefault(e.Event.AccountId!) + 1) <= 60).ToList();
        try
        {
            LiveTrafficResult result;
            await using (var app = GatewayApp.Create(options, new GatewayHostOptions
            {
                BuiltInModel = s_model.Value,
                ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
            }))
            {
                await app.StartAsync();
                result = await LiveTrafficDriver.RunAsync(events, new LiveTrafficOptions
                {
                    Gateway = app.BaseAddress,
                    AdminToken = AdminToken,
                    MaxRequests = events.Count,
                    MaxTokensCap = 16,
                    ReplayAnswerLengths = false,
                    Concurrency = 8,
                });
            }

            Assert.Equal(events.Count, result.Sent);
            Assert.Equal(0, result.StatusCounts.GetValueOrDefault(0));
            // Every replayed account has a live verdict and an offline one, and the table has a row per archetype of the cast.
            Assert.Equal(result.RequestsPerAccount.Keys.Order(StringComparer.Ordinal), result.Verdicts.Select(v => v.AccountId).Order(StringComparer.Ordinal));
            Assert.Equal(result.RequestsPerAccount.Keys.Order(StringComparer.Ordinal), result.Offline.Select(o => o.AccountId).Order(StringComparer.Ordinal));
            Assert.Equal(events.Select(e => e.Archetype).Distinct().Order(StringComparer.Ordinal), result.Parity.Select(r => r.Archetype).Order(StringComparer.Ordinal));
            Assert.All(result.Parity, r => Assert.Equal(r.Kind == "attacker", TrafficSimulator.AttackerArchetypes.Contains(r.Archetype)));
            Assert.All(result.Parity.Where(r => r.Archetype != "student-cohort"), r => Assert.True(r.HeldOut, r.Archetype));
            Assert.All(result.Parity, r => Assert.InRange(r.Both, 0, Math.Min(r.OfflineFlagged, r.LiveFlagged)));
            // An account the gateway flags comes with the reasons an analyst reads; one with under ten requests cannot be flagged.
            Assert.All(result.Verdicts.Where(v => v.Flagged), v => Assert.NotEmpty(v.Reasons));
            Assert.All(result.Verdicts.Where(v => result.RequestsPerAccount[v.AccountId] < 10), v => Assert.False(v.Flagged, v.AccountId));
            Assert.All(result.Offline.Where(o => o.Requests < 10), o => Assert.False(o.FlaggedEver, o.AccountId));

            // The prober's n = 4 reached the gateway (the SDK has no n; the driver adds it to the body).
            var prober = events.First(e => e.Archetype == "four-setting-prober").Event.AccountId!;
            var recorded = await ReadUsageAsync(dataDirectory);
            Assert.Contains(recorded, e => e.AccountId == prober && e.N == 4 && e.Status == 200);
            Assert.Contains(recorded, e => e.AccountId == prober && e.TopLogprobs == 20);
        }
        finally
        {
            try
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<List<UsageEvent>> ReadUsageAsync(string dataDirectory)
    {
        await using var storage = SqliteStorage.Open(dataDirectory, new StorageOptions(), TimeProvider.System, NullLoggerFactory.Instance);
        var events = new List<UsageEvent>();
        await foreach (var e in storage.UsageEvents.ReadAsync(new UsageQuery(), CancellationToken.None))
        {
            events.Add(e);
        }

        return events;
    }
}
