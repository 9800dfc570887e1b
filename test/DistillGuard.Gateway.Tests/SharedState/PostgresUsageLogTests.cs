using System.Net;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.Storage;
using DistillGuard.Storage.Tests.Servers;
using DistillGuard.Storage.Usage;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Gateway.Tests.SharedState;

/// <summary>One PostgreSQL server for the class.</summary>
public sealed class SharedPostgresFixture : IDisposable
{
    public PostgresServer Server { get; } = PostgresServer.Start();

    public void Dispose() => Server.Dispose();
}

/// <summary>Two real gateway replicas writing one usage log in a real PostgreSQL (<c>storage.postgres</c>).</summary>
public sealed class PostgresUsageLogTests(SharedPostgresFixture postgres) : IClassFixture<SharedPostgresFixture>
{
    private const string ApiKey = "dg-postgres-usage-test-key-0123456789";

    [Fact]
    public async Task Requests_ThroughTwoReplicas_LandInOneUsageLog()
    {
        var connectionString = postgres.Server.CreateSchema();
        const string body = """{"model":"dg-teacher","messages":[{"role":"user","content":"The town"}],"max_tokens":3}""";
        await using (var a = await TestGateway.StartAsync(o => o.Storage.Postgres = connectionString))
        await using (var b = await TestGateway.StartAsync(o => o.Storage.Postgres = connectionString))
        {
            await a.CreateAccountAsync("acct-pg", ApiKey);
            await b.CreateAccountAsync("acct-pg", ApiKey);
            for (var i = 0; i < 6; i++)
            {
                var replica = i % 2 == 0 ? a : b;
                using var response = await replica.Http.SendAsync(replica.Post("v1/chat/completions", body, ApiKey));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        // Both replicas stopped, so their usage logs drained; a third reader sees every event of the account once.
        await using var store = await PostgresUsageEventStore.OpenAsync(
            new PostgresStorageOptions { ConnectionString = connectionString }, TimeProvider.System, NullLogger.Instance, default);
        var events = await store.ReadAsync(new UsageQuery("acct-pg"), default).ToListAsync();
        Assert.Equal(6, events.Count);
        Assert.Equal(6, events.Select(e => e.RequestId).Distinct().Count());
        Assert.All(events, e => Assert.Equal(("chat.completions", 200, "dg-teacher"), (e.Endpoint, e.Status, e.Model)));
        Assert.Equal(new AccountUsage("acct-pg", 6, events.Sum(e => (long)e.PromptTokens), events.Sum(e => (long)e.CompletionTokens)),
            await store.GetAccountUsageAsync("acct-pg", default));
    }

    [Fact]
    public void Config_BadPostgresSettings_AreRejectedWithTheirPath()
    {
        var options = new GatewayOptions();
        options.Storage.Postgres = "Hots=db";
        options.Storage.EventRetentionDays = 0;

        var problems = GatewayConfigFile.Validate(options).ToArray();

        Assert.Contains(problems, p => p.Path == "$.storage.postgres" && p.Reason.Contains("Npgsql connection string", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "$.storage.eventRetentionDays");
        var sqlite = new GatewayOptions();
        sqlite.Storage.EventRetentionDays = 7;
        Assert.Contains(GatewayConfigFile.Validate(sqlite), p => p.Path == "$.storage.eventRetentionDays" && p.Reason.Contains("storage.postgres", StringComparison.Ordinal));
    }
}
