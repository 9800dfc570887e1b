using DistillGuard.Storage.Tests.Servers;
using DistillGuard.Storage.Usage;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>A PostgreSQL of its own that goes away and comes back while a usage log writes to it.</summary>
public sealed class PostgresOutageTests : IDisposable
{
    private readonly PostgresServer _server = PostgresServer.Start();

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task UsageLog_ServerStopsAndReturns_KeepsTheBatchAndLosesNothing()
    {
        var connectionString = _server.CreateSchema();
        await using var store = await PostgresUsageEventStore.OpenAsync(
            new PostgresStorageOptions { ConnectionString = connectionString }, TimeProvider.System, NullLogger.Instance, default);
        var log = new UsageLog(store, new UsageLogOptions { PromptRetention = null, RetryMaxDelay = TimeSpan.FromMilliseconds(400) }, TimeProvider.System);
        await log.StartAsync(default);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(log.TryWrite(UsageEvents.Make($"before-{i}", UsageEvents.Epoch.AddMilliseconds(i))));
        }

        await WaitUntilAsync(() => log.Written == 100);

        _server.Shutdown();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(log.TryWrite(UsageEvents.Make($"during-{i}", UsageEvents.Epoch.AddSeconds(1).AddMilliseconds(i))));
        }

        await WaitUntilAsync(() => log.FailedAttempts >= 2);
        Assert.Equal(100, log.Written);

        _server.Restart();
        await log.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

        Assert.Equal(200, log.Written);
        Assert.Equal(0, log.Dropped + log.Abandoned);
        var stored = await store.ReadAsync(new UsageQuery(), default).Select(e => e.RequestId).ToListAsync();
        Assert.Equal(200, stored.Count);
        Assert.Equal(200, stored.Distinct().Count());
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(20, patience.Token);
        }
    }
}
