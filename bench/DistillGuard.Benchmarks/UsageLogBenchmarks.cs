using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using DistillGuard.Storage;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Benchmarks;

/// <summary>Events per second into SQLite through the <see cref="UsageLog"/>, against one-event transactions in the same run.</summary>
/// <remarks>
/// Each invocation writes <see cref="Events"/> fresh events (unique request ids, as the gateway makes them) with TryWrite and
/// then StopAsync, so the time covers the drain into a committed file. Times are per event (OperationsPerInvoke).
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 10, invocationCount: 1)]
public class UsageLogBenchmarks
{
    private const int Events = 20_000;
    private const int BaselineEvents = 2_000;
    private string _directory = "";
    private SqliteUsageEventStore _store = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "dg-bench-usage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _store = SqliteUsageEventStore.Open(_directory, new StorageOptions(), TimeProvider.System, NullLogger.Instance);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Baseline: the same pipeline committing each event in its own transaction.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = BaselineEvents)]
    public Task UsageLog_BatchSize1() => RunAsync(batchSize: 1, BaselineEvents);

    [Benchmark(OperationsPerInvoke = Events)]
    public Task UsageLog_BatchSize64() => RunAsync(batchSize: 64, Events);

    /// <summary>The default configuration the gateway runs.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public Task UsageLog_BatchSize512() => RunAsync(batchSize: 512, Events);

    /// <summary>The store alone, 512-event batches, no channel: the ceiling the log can reach.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public async Task Store_DirectAppend512()
    {
        var batch = new List<UsageEvent>(512);
        for (var i = 0; i < Events; i++)
        {
            batch.Add(NewEvent());
            if (batch.Count == 512)
            {
                await _store.AppendAsync(batch, default);
                batch.Clear();
            }
        }

        await _store.AppendAsync(batch, default);
    }

    private async Task RunAsync(int batchSize, int count)
    {
        var log = new UsageLog(_store, new UsageLogOptions { BatchSize = batchSize, PromptRetention = null }, TimeProvider.System);
        await log.StartAsync(default);
        for (var i = 0; i < count; i++)
        {
            if (!log.TryWrite(NewEvent()))
            {
                throw new InvalidOperationException("The channel was full; the benchmark would measure drops, not writes.");
            }
        }

        await log.StopAsync(default);
        if (log.Written != count)
        {
            throw new InvalidOperationException($"Wrote {log.Written} of {count} events.");
        }
    }

    private UsageEvent NewEvent()
    {
        var n = Interlocked.Increment(ref _next);
        return new UsageEvent
        {
            RequestId = "chatcmpl-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Timestamp = DateTimeOffset.UtcNow,
            AccountId = "acct-" + (n % 1_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            KeyId = "key_0123456789ab",
            ClientAddress = "203.0.113.7",
            UserAgent = "OpenAI/Python 1.50.0",
            Endpoint = "chat.completions",
            Model = "dg-ngram",
            Stream = true,
            Temperature = 0.7,
            MaxTokens = 512,
            PromptTokens = 180,
            CompletionTokens = 420,
            LatencyMs = 812.5,
            TimeToFirstTokenMs = 35.0,
            Status = 200,
            FinishReason = "stop",
            PromptText = "Solve the following problem step by step and show all of your reasoning before the final answer: a train leaves ...",
        };
    }
}
