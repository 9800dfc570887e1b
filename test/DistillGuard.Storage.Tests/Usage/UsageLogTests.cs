using System.Collections.Concurrent;
using DistillGuard.Storage.Usage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DistillGuard.Storage.Tests.Usage;

public sealed class UsageLogTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private SqliteUsageEventStore OpenStore(TimeProvider time) =>
        SqliteUsageEventStore.Open(_dir.Path, new StorageOptions(), time, NullLogger.Instance);

    [Fact]
    public async Task TryWrite_ManyConcurrentWriters_EveryEventLandsExactlyOnce()
    {
        await using var store = OpenStore(TimeProvider.System);
        var batches = new ConcurrentBag<int>();
        var log = new UsageLog(store, new UsageLogOptions { OnBatchWritten = b => batches.Add(b.Count) }, TimeProvider.System);
        await log.StartAsync(default);

        const int threads = 8, perThread = 5_000;
        var writers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            for (var i = 0; i < perThread; i++)
            {
                Assert.True(log.TryWrite(UsageEvents.Make($"req-{t}-{i}", UsageEvents.Epoch.AddMilliseconds(i))));
            }
        })).ToList();
        writers.ForEach(w => w.Start());
        writers.ForEach(w => w.Join());
        await log.StopAsync(new CancellationTokenSource(Patience).Token);

        var expected = Enumerable.Range(0, threads).SelectMany(t => Enumerable.Range(0, perThread).Select(i => $"req-{t}-{i}")).ToHashSet();
        var stored = await store.ReadAsync(new UsageQuery(), default).Select(e => e.RequestId).ToListAsync();
        Assert.Equal(threads * perThread, stored.Count);
        Assert.True(expected.SetEquals(stored));
        Assert.Equal(threads * perThread, log.Enqueued);
        Assert.Equal(threads * perThread, log.Written);
        Assert.Equal(threads * perThread, batches.Sum());
        Assert.All(batches, count => Assert.InRange(count, 1, 512));
        Assert.Equal(0, log.Dropped);
        Assert.Equal(0, log.Abandoned);
    }

    [Fact]
    public async Task StopAsync_DrainsEverythingAccepted_EvenWhenNeverStarted()
    {
        var store = new FakeUsageEventStore();
        var log = new UsageLog(store, new UsageLogOptions { BatchSize = 7 }, TimeProvider.System);
        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(log.TryWrite(UsageEvents.Make($"req-{i}")));
        }

        await log.StopAsync(new CancellationTokenSource(Patience).Token);

        Assert.Equal(1_000, store.Events.Count);
        Assert.Equal(1_000, log.Written);
        Assert.Equal(0, log.Pending);
        Assert.False(log.TryWrite(UsageEvents.Make("late")));
        Assert.Equal(1, log.Dropped);
    }

    [Fact]
    public async Task StopAsync_DrainsASlowStore()
    {
        var store = new FakeUsageEventStore { BeforeAppend = (_, ct) => Task.Delay(2, ct) };
        var log = new UsageLog(store, new UsageLogOptions { BatchSize = 50 }, TimeProvider.System);
        await log.StartAsync(default);
        for (var i = 0; i < 5_000; i++)
        {
            log.TryWrite(UsageEvents.Make($"req-{i}"));
        }

        await log.StopAsync(new CancellationTokenSource(Patience).Token);

        Assert.Equal(5_000, store.Events.Count);
        Assert.Equal(log.Enqueued, log.Written);
    }

    [Fact]
    public async Task TryWrite_FullChannel_DropsAndCountsWithoutWaiting()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = new FakeUsageEventStore { BeforeAppend = (_, _) => gate.Task };
        var log = new UsageLog(store, new UsageLogOptions { Capacity = 4, BatchSize = 2 }, TimeProvider.System);
        await log.StartAsync(default);

        Assert.True(log.TryWrite(UsageEvents.Make("first")));
        await WaitUntil(() => store.AppendCalls == 1);    // the loop holds "first" inside the blocked append

        var accepted = Enumerable.Range(0, 10).Count(i => log.TryWrite(UsageEvents.Make($"req-{i}")));
        Assert.Equal(4, accepted);
        Assert.Equal(6, log.Dropped);
        Assert.Equal(4, log.Pending);

        gate.SetResult();
        await log.StopAsync(new CancellationTokenSource(Patience).Token);
        Assert.Equal(5, store.Events.Count);
        Assert.Equal(5, log.Written);
        Assert.Equal(5, log.Enqueued);
        Assert.False(log.TryWrite(null!));
        Assert.Equal(7, log.Dropped);
    }

    [Fact]
    public async Task StoreFailure_IsRetried_AndNothingIsLost()
    {
        var failures = 3;
        var store = new FakeUsageEventStore
        {
            BeforeAppend = (_, _) => Interlocked.Decrement(ref failures) >= 0
                ? throw new StorageException("disk full (test)", isTransient: true)
                : Task.CompletedTask,
        };
        var attempts = new ConcurrentBag<int>();
        var log = new UsageLog(
            store,
            new UsageLogOptions { BatchSize = 100, RetryInitialDelay = TimeSpan.FromMilliseconds(1), OnBatchWritten = b => attempts.Add(b.Attempts) },
            TimeProvider.System);
        for (var i = 0; i < 1_000; i++)
        {
            log.TryWrite(UsageEvents.Make($"req-{i}"));
        }

        await log.StartAsync(default);
        await log.StopAsync(new CancellationTokenSource(Patience).Token);

        Assert.Equal(1_000, store.Events.Count);
        Assert.Equal(1_000, log.Written);
        Assert.Equal(3, log.FailedAttempts);
        Assert.Contains(4, attempts);
    }

    [Fact]
    public async Task StoreFailure_WaitsForTheBackoffOnTheInjectedClock()
    {
        var time = new FakeTimeProvider(UsageEvents.Epoch);
        var failOnce = 1;
        var store = new FakeUsageEventStore
        {
            BeforeAppend = (_, _) => Interlocked.Exchange(ref failOnce, 0) == 1 ? throw new IOException("boom") : Task.CompletedTask,
        };
        var log = new UsageLog(store, new UsageLogOptions { PromptRetention = null, RetryInitialDelay = TimeSpan.FromSeconds(10) }, time);
        log.TryWrite(UsageEvents.Make("req-0"));
        await log.StartAsync(default);

        await WaitUntil(() => log.FailedAttempts == 1);
        await Task.Delay(50);
        Assert.Equal(0, log.Written);           // no retry while the fake clock stands still

        await WaitUntil(() =>
        {
            time.Advance(TimeSpan.FromSeconds(10));
            return log.Written == 1;
        });
        await log.StopAsync(default);
        Assert.Equal(1, store.AppendCalls - 1);
    }

    [Fact]
    public async Task StopAsync_DeadlinePassed_CountsAbandonedEvents()
    {
        var store = new FakeUsageEventStore { BeforeAppend = (_, ct) => Task.Delay(Timeout.Infinite, ct) };
        var log = new UsageLog(store, new UsageLogOptions { BatchSize = 10 }, TimeProvider.System);
        await log.StartAsync(default);
        for (var i = 0; i < 95; i++)
        {
            log.TryWrite(UsageEvents.Make($"req-{i}"));
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await log.StopAsync(deadline.Token);

        Assert.Equal(0, log.Written);
        Assert.Equal(95, log.Abandoned);
        Assert.Equal(log.Enqueued, log.Written + log.Abandoned);
    }

    [Fact]
    public async Task PromptRetention_PurgesOldPromptTextOnTheInjectedClock()
    {
        var time = new FakeTimeProvider(UsageEvents.Epoch);
        await using var store = OpenStore(time);
        var log = new UsageLog(store, new UsageLogOptions { PromptRetention = TimeSpan.FromDays(30), PurgeInterval = TimeSpan.FromHours(1) }, time);
        await log.StartAsync(default);
        for (var i = 0; i < 100; i++)
        {
            log.TryWrite(UsageEvents.Make($"req-{i}", UsageEvents.Epoch));
        }

        await WaitUntil(() => log.Written == 100);
        time.Advance(TimeSpan.FromDays(29));
        await Task.Delay(50);
        Assert.Equal(0, log.PromptTextPurged);    // 29 days old: still inside the retention

        // Hour by hour, so the test never races the loop re-arming its purge timer.
        await WaitUntil(() =>
        {
            time.Advance(TimeSpan.FromHours(1));
            return log.PromptTextPurged == 100;
        });
        Assert.True(time.GetUtcNow() > UsageEvents.Epoch.AddDays(30));
        await log.StopAsync(default);

        var events = await store.ReadAsync(new UsageQuery(), default).ToListAsync();
        Assert.All(events, e => Assert.Null(e.PromptText));
        Assert.All(events, e => Assert.Equal(100, e.CompletionTokens));
    }

    [Fact]
    public async Task Failures_NeverLogPromptText()
    {
        const string Secret = "SECRET-PROMPT-7f3a";
        var logger = new CapturingLogger<UsageLog>();
        var failures = 2;
        var store = new FakeUsageEventStore
        {
            BeforeAppend = (_, _) => Interlocked.Decrement(ref failures) >= 0 ? throw new StorageException("disk full (test)") : Task.CompletedTask,
        };
        var log = new UsageLog(store, new UsageLogOptions { Capacity = 2, BatchSize = 1, RetryInitialDelay = TimeSpan.FromMilliseconds(1) }, TimeProvider.System, logger);
        for (var i = 0; i < 5; i++)
        {
            log.TryWrite(UsageEvents.Make($"req-{i}", prompt: Secret));
        }

        await log.StartAsync(default);
        await log.StopAsync(new CancellationTokenSource(Patience).Token);

        Assert.Contains(logger.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("disk full (test)"));
        Assert.Contains(logger.Lines, l => l.Text.Contains("dropped"));
        Assert.DoesNotContain(logger.Lines, l => l.Text.Contains(Secret));
    }

    [Theory]
    [InlineData(nameof(UsageLogOptions.Capacity), "Capacity must be at least 1; got 0.")]
    [InlineData(nameof(UsageLogOptions.BatchSize), "BatchSize must be between 1 and 100,000; got 0.")]
    [InlineData(nameof(UsageLogOptions.PromptRetention), "PromptRetention must be zero or positive")]
    [InlineData(nameof(UsageLogOptions.PurgeInterval), "PurgeInterval must be positive; got 00:00:00.")]
    [InlineData(nameof(UsageLogOptions.RetryMaxDelay), "RetryMaxDelay (00:00:00.0010000) must not be shorter than RetryInitialDelay")]
    public void Options_Invalid_ThrowPreciseArgumentException(string option, string message)
    {
        var options = new UsageLogOptions();
        switch (option)
        {
            case nameof(UsageLogOptions.Capacity):
                options.Capacity = 0;
                break;
            case nameof(UsageLogOptions.BatchSize):
                options.BatchSize = 0;
                break;
            case nameof(UsageLogOptions.PromptRetention):
                options.PromptRetention = TimeSpan.FromDays(-1);
                break;
            case nameof(UsageLogOptions.PurgeInterval):
                options.PurgeInterval = TimeSpan.Zero;
                break;
            case nameof(UsageLogOptions.RetryMaxDelay):
                options.RetryMaxDelay = TimeSpan.FromMilliseconds(1);
                break;
        }

        var ex = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(message, ex.Message);
        Assert.Equal(option, ex.ParamName);
        Assert.Throws<ArgumentException>(() => new UsageLog(new FakeUsageEventStore(), options, TimeProvider.System));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        // Polls a background effect on real time; the clock under test stays the fake one.
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within the test's patience");
            await Task.Delay(5);
        }
    }
}
