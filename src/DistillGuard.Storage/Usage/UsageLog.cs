using System.Threading.Channels;
using DistillGuard.Threading;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Storage.Usage;

/// <summary>The gateway's writer of usage events: a bounded channel on the request path, one background loop appending batches.</summary>
/// <remarks>
/// Thread safety: <see cref="TryWrite"/> may be called from any number of threads; it never blocks and never throws.
/// When the channel is full the event is dropped and counted in <see cref="Dropped"/>: the request never waits on the log.
/// A failed append keeps its batch and is retried with exponential backoff until it succeeds or <see cref="StopAsync"/>'s
/// token fires. After a stop, <c>Enqueued == Written + Abandoned</c>.
/// </remarks>
public sealed class UsageLog : IAsyncDisposable
{
    private readonly IUsageEventStore _store;
    private readonly UsageLogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<UsageEvent> _channel;
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private Task? _loop;
    private long _enqueued;
    private long _written;
    private long _dropped;
    private long _failedAttempts;
    private long _abandoned;
    private long _promptTextPurged;
    private long _droppedReported;

    /// <summary>Creates a log writing to <paramref name="store"/>; call <see cref="StartAsync"/> to begin writing.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public UsageLog(IUsageEventStore store, UsageLogOptions options, TimeProvider timeProvider, ILogger<UsageLog>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        _store = store;
        _options = options;
        _time = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        // FullMode.Wait makes TryWrite return false when full (DropWrite would report success for a dropped event).
        _channel = Channel.CreateBounded<UsageEvent>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Events accepted into the channel.</summary>
    public long Enqueued => Interlocked.Read(ref _enqueued);

    /// <summary>Events committed to the store.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Events refused by <see cref="TryWrite"/> (channel full, log stopped, or a null event).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Append attempts that failed (each was retried).</summary>
    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);

    /// <summary>Accepted events given up because <see cref="StopAsync"/>'s token fired before they were written.</summary>
    public long Abandoned => Interlocked.Read(ref _abandoned);

    /// <summary>Events whose prompt text the retention purge removed.</summary>
    public long PromptTextPurged => Interlocked.Read(ref _promptTextPurged);

    /// <summary>Events waiting in the channel.</summary>
    public int Pending => _channel.Reader.Count;

    /// <summary>Capacity of the channel.</summary>
    public int Capacity => _options.Capacity;

    /// <summary>Queues an event for writing; false when it was dropped. Never blocks, never throws.</summary>
    public bool TryWrite(UsageEvent usageEvent)
    {
        // Counted before the write so Enqueued - Written never goes negative while the loop races ahead.
        Interlocked.Increment(ref _enqueued);
        if (usageEvent is not null && _channel.Writer.TryWrite(usageEvent))
        {
            return true;
        }

        Interlocked.Decrement(ref _enqueued);
        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Starts the background writer loop.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _loop ??= BackgroundThread.Run("usage-log writer", RunAsync);
        }

        return Task.CompletedTask;
    }

    /// <summary>Refuses new events and returns once every accepted event is written, or once <paramref name="cancellationToken"/> fires.</summary>
    /// <remarks>When the token fires first, the events not yet written are counted in <see cref="Abandoned"/> and logged.</remarks>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task loop;
        lock (_gate)
        {
            _channel.Writer.TryComplete();
            // A log stopped before it started still drains what it accepted.
            loop = _loop ??= BackgroundThread.Run("usage-log writer", RunAsync);
        }

        using (cancellationToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), _abort))
        {
            await loop.ConfigureAwait(false);
        }
    }

    /// <summary>Stops the log, draining it for at most 30 seconds of the injected clock.</summary>
    public async ValueTask DisposeAsync()
    {
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time))
        {
            await StopAsync(deadline.Token).ConfigureAwait(false);
        }

        _abort.Dispose();
    }

    private async Task RunAsync()
    {
        var abort = _abort.Token;
        var reader = _channel.Reader;
        var batch = new List<UsageEvent>(Math.Min(_options.BatchSize, _options.Capacity));
        var nextPurge = _time.GetUtcNow();
        Task<bool>? waiting = null;
        try
        {
            while (true)
            {
                while (batch.Count < _options.BatchSize && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                if (batch.Count > 0)
                {
                    await WriteBatchAsync(batch, abort);
                    batch.Clear();
                    ReportDrops();
                }

                if (_options.PromptRetention is { } retention && _time.GetUtcNow() >= nextPurge)
                {
                    await PurgeAsync(_time.GetUtcNow() - retention, abort);
                    nextPurge = _time.GetUtcNow() + _options.PurgeInterval;
                }

                if (reader.Count > 0)
                {
                    continue;
                }

                waiting ??= reader.WaitToReadAsync(abort).AsTask();
                if (!waiting.IsCompleted && _options.PromptRetention is not null)
                {
                    var untilPurge = nextPurge - _time.GetUtcNow();
                    if (untilPurge > TimeSpan.Zero)
                    {
                        using var stopDelay = CancellationTokenSource.CreateLinkedTokenSource(abort);
                        var delay = Task.Delay(untilPurge, _time, stopDelay.Token);
                        var first = await Task.WhenAny(waiting, delay);
                        await stopDelay.CancelAsync();
                        if (first != waiting)
                        {
                            // The purge is due; the pending wait is kept for the next round.
                            continue;
                        }
                    }
                    else
                    {
                        continue;
                    }
                }

                var more = await waiting;
                waiting = null;
                if (!more)
                {
                    break;
                }
            }

            StorageLog.Drained(_logger, Written);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            var left = batch.Count;
            while (reader.TryRead(out _))
            {
                left++;
            }

            Interlocked.Add(ref _abandoned, left);
            StorageLog.EventsAbandoned(_logger, left);
        }
        catch (Exception ex)
        {
            StorageLog.LoopFailed(_logger, ex);
        }
    }

    private async Task WriteBatchAsync(List<UsageEvent> batch, CancellationToken abort)
    {
        var started = _time.GetTimestamp();
        var attempt = 0;
        while (true)
        {
            attempt++;
            try
            {
                await _store.AppendAsync(batch, abort);
                break;
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _failedAttempts);
                var delay = Backoff(attempt);
                // The exception is the store's (SQLite messages name no values); the batch's prompt text is never logged.
                StorageLog.AppendFailed(_logger, ex, batch.Count, attempt, delay);
                await Task.Delay(delay, _time, abort);
            }
        }

        Interlocked.Add(ref _written, batch.Count);
        if (_options.OnBatchWritten is { } callback)
        {
            try
            {
                callback(new UsageBatchWritten(batch.Count, attempt, _time.GetElapsedTime(started)));
            }
            catch (Exception ex)
            {
                StorageLog.CallbackFailed(_logger, ex);
            }
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var factor = Math.Pow(2, Math.Min(attempt - 1, 30));
        var ticks = Math.Min(_options.RetryInitialDelay.Ticks * factor, _options.RetryMaxDelay.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    private async Task PurgeAsync(DateTimeOffset cutoff, CancellationToken abort)
    {
        try
        {
            var purged = await _store.PurgePromptTextAsync(cutoff, abort);
            Interlocked.Add(ref _promptTextPurged, purged);
            if (purged > 0)
            {
                StorageLog.PromptTextPurged(_logger, purged, cutoff);
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            StorageLog.PromptPurgeFailed(_logger, ex, cutoff);
        }
    }

    private void ReportDrops()
    {
        var dropped = Dropped;
        if (dropped != _droppedReported)
        {
            StorageLog.EventsDropped(_logger, dropped - _droppedReported, _options.Capacity);
            _droppedReported = dropped;
        }
    }
}
