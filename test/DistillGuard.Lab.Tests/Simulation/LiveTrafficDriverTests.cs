using DistillGuard.Gateway.Hosting;
using DistillGuard.Lab.Simulation;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;
using DistillGuard.Storage;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Lab.Tests.Simulation;

[Collection("live gateway")]
public sealed class LiveTrafficDriverTests
{
    private const string AdminToken = "lab-test-admin-token-0123456789abcdef";

    private static readonly Lazy<ILanguageModel> s_model = new(() =>
        KneserNeyTrainer.Train(CorpusSplits.Tokenize(CorpusSplits.TrainingBrown().Take(2000)), 3, new KneserNeyOptions { Id = "dg-teacher" }));

    [Fact]
    public async Task Replay_ThroughRealGateway_RecordsEveryRequestPerAccount()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "dg-lab-live-" + Guid.NewGuid().ToString("N"));
        var options = new GatewayOptions { Port = 0, Host = "localhost", DataDirectory = dataDirectory, AdminToken = AdminToken };
        options.Accounts.SelfRegister = true;
        // Loopback is the simulated clients' proxy, so the gateway records their simulated addresses.
        options.TrustedProxies.AddRange(["127.0.0.1", "::1"]);
        var scenario = new ScenarioOptions { Seed = 11, Duration = TimeSpan.FromHours(6), Scale = 0.05 };
        LiveTrafficResult viaAdmin;
        LiveTrafficResult viaSelfRegistration;
        try
        {
            await using (var app = GatewayApp.Create(options, new GatewayHostOptions
            {
                BuiltInModel = s_model.Value,
                ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
            }))
            {
                await app.StartAsync();
                viaAdmin = await LiveTrafficDriver.RunAsync(TrafficSimulator.Generate(scenario), new LiveTrafficOptions
                {
                    Gateway = app.BaseAddress,
                    AdminToken = AdminToken,
                    MaxRequests = 40,
                    MaxTokensCap = 16,
                });
                viaSelfRegistration = await LiveTrafficDriver.RunAsync(TrafficSimulator.Generate(scenario).Skip(40), new LiveTrafficOptions
                {
                    Gateway = app.BaseAddress,
                    SelfRegister = true,
                    MaxRequests = 10,
                    MaxTokensCap = 16,
                    KeySeed = 5,
                });
            }

            Assert.Equal(40, viaAdmin.Sent);
            Assert.Equal(10, viaSelfRegistration.Sent);
            Assert.Equal(0, viaAdmin.StatusCounts.GetValueOrDefault(0));
            Assert.True(viaAdmin.StatusCounts.GetValueOrDefault(200) >= 30, string.Join(", ", viaAdmin.StatusCounts));

            var recorded = await ReadUsageAsync(dataDirectory);
            var perAccount = recorded.Where(e => e.Endpoint == "chat.completions").GroupBy(e => e.AccountId!).ToDictionary(g => g.Key, g => g.ToList());
            foreach (var (simulated, count) in viaAdmin.RequestsPerAccount.Concat(viaSelfRegistration.RequestsPerAccount))
            {
                var gatewayId = viaAdmin.GatewayAccountIds.GetValueOrDefault(simulated) ?? viaSelfRegistration.GatewayAccountIds[simulated];
                Assert.True(perAccount.TryGetValue(gatewayId, out var events), $"no usage recorded for {gatewayId}");
                Assert.True(events.Count >= count, $"{gatewayId}: {events.Count} recorded, {count} sent");
            }

            // The admin-created accounts keep the simulated ids and their simulated client addresses.
            var first = TrafficSimulator.Generate(scenario).First();
            Assert.Contains(perAccount[first.Event.AccountId!], e => e.ClientAddress == first.Event.ClientAddress);
            Assert.Contains(perAccount.Keys, id => id.StartsWith("self-", StringComparison.Ordinal));

            // With the admin token the driver reads the gateway's verdict on every account it replayed, with its label;
            // without it, none.
            Assert.Equal(viaAdmin.RequestsPerAccount.Keys.Order(StringComparer.Ordinal), viaAdmin.Verdicts.Select(v => v.AccountId).Order(StringComparer.Ordinal));
            Assert.All(viaAdmin.Verdicts, v => Assert.Contains(v.RiskLevel, new[] { "insufficient_evidence", "low", "review", "friction", "unscored" }));
            Assert.All(viaAdmin.Verdicts, v => Assert.Equal(v.Archetype.Length > 0 && TrafficSimulator.AttackerArchetypes.Contains(v.Archetype), v.IsAttacker));
            Assert.Empty(viaSelfRegistration.Verdicts);
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

    [Theory]
    [InlineData(1312, 1, 200, 4096, 1312)] // a harvester's long answer, within its max_tokens
    [InlineData(1312, 1, 200, 1024, 1024)] // capped by the max_tokens sent
    [InlineData(800, 4, 200, 4096, 200)]   // n = 4: min_tokens applies to each choice, so one choice's share
    [InlineData(900, 1, 429, 4096, 0)]     // a refused request asks for nothing
    public void AnswerLength_IsTheSimulatedAnswerPerChoice_WithinTheLimit(long completionTokens, int n, int status, int limit, int expected)
    {
        var e = new LabelledEvent(new UsageEvent { RequestId = "r", Timestamp = DateTimeOffset.UnixEpoch, AccountId = "a", Endpoint = "chat.completions", Model = "dg-teacher", CompletionTokens = (int)completionTokens, N = n, Status = status },
            "naive-harvester", true, null, false);
        Assert.Equal(expected, LiveTrafficDriver.AnswerLength(e, limit));
    }

    [Fact]
    public async Task Replay_RefusesNonLoopbackGateways()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => LiveTrafficDriver.RunAsync([], new LiveTrafficOptions { Gateway = new Uri("http://example.com/"), AdminToken = "x" }));
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
