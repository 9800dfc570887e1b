using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>The child side of the crash test: writes events flat out, reports each committed batch, then dies with FailFast.</summary>
internal static class CrashChild
{
    public const int Capacity = 4_096;
    public const int BatchSize = 256;

    public static async Task RunAsync(string directory, int killAfterBatches)
    {
        var store = SqliteUsageEventStore.Open(directory, new StorageOptions(), TimeProvider.System, NullLogger.Instance);
        var committed = 0;
        var reporting = new ReportingStore(store, batch =>
        {
            // Printed only after AppendAsync returned, i.e. after the commit: exactly what UsageLog counts as Written.
            Console.Out.WriteLine($"W {batch[0].RequestId} {batch[^1].RequestId} {batch.Count}");
            Console.Out.Flush();
            Interlocked.Increment(ref committed);
        });
        var log = new UsageLog(reporting, new UsageLogOptions { Capacity = Capacity, BatchSize = BatchSize, PromptRetention = null }, TimeProvider.System);
        await log.StartAsync(default);

        var producer = new Thread(() =>
        {
            for (var i = 0; ; i++)
            {
                var e = UsageEvents.Make($"req-{i}", UsageEvents.Epoch.AddMilliseconds(i));
                var spin = new SpinWait();
                while (!log.TryWrite(e))
                {
                    spin.SpinOnce();
                }

                if (Volatile.Read(ref committed) >= killAfterBatches)
                {
                    // The writer is busy with the next batch right now: the kill lands mid-transaction.
                    Console.Out.WriteLine($"A {log.Enqueued}");
                    Console.Out.Flush();
                    Environment.FailFast("DistillGuard crash test: killing the process while the usage log writes.");
                }
            }
        })
        { IsBackground = true };
        producer.Start();
        producer.Join();
    }

    private sealed class ReportingStore(IUsageEventStore inner, Action<IReadOnlyList<UsageEvent>> committed) : IUsageEventStore
    {
        public async Task AppendAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
        {
            await inner.AppendAsync(events, cancellationToken);
            committed(events);
        }

        public IAsyncEnumerable<UsageEvent> ReadAsync(UsageQuery query, CancellationToken cancellationToken) => inner.ReadAsync(query, cancellationToken);

        public Task<AccountUsage> GetAccountUsageAsync(string accountId, CancellationToken cancellationToken) =>
            inner.GetAccountUsageAsync(accountId, cancellationToken);

        public Task<long> CountAsync(CancellationToken cancellationToken) => inner.CountAsync(cancellationToken);

        public Task<int> PurgePromptTextAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) =>
            inner.PurgePromptTextAsync(olderThan, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
