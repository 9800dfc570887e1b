using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Storage.Accounts;
using DistillGuard.Storage.Usage;
using DistillGuard.Threading;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Detection;

/// <summary>Feeds queued usage events to the engine and re-scores every account periodically, off the request path.</summary>
internal sealed class DetectionWorker(
    DetectionObserver observer,
    DetectionEngine engine,
    AccountMilestones milestones,
    IAccountStore accounts,
    IUsageEventStore usage,
    DetectionWarmStart warmStart,
    DetectionHostOptions options,
    TimeProvider time,
    ILogger<DetectionWorker> logger) : BackgroundService
{
    // Events the usage log holds from before this moment are the previous process's: the warm start folds them in, and
    // everything this process serves reaches the engine through the observer.
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    private readonly Dictionary<string, string> _levels = new(StringComparer.Ordinal);
    private long _reportedDrops;

    /// <summary>Events folded into the engine so far.</summary>
    public long Observed => Interlocked.Read(ref _observed);

    private long _observed;
    private readonly List<(long Count, TaskCompletionSource Done)> _waiters = [];

    // On a lower-priority thread of its own: folding events in and re-scoring every account are bursts the request path should not wait behind.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => BackgroundThread.Run("detection worker", () => RunAsync(stoppingToken));

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var reader = observer.Reader;
        try
        {
            await WarmStartAsync(stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            DetectionLog.WarmStartFailed(logger, e);
        }
        finally
        {
            warmStart.Complete();
        }

        var nextRescore = time.GetUtcNow() + options.RescoreInterval;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                wait.CancelAfter(Until(nextRescore));
                try
                {
                    if (await reader.WaitToReadAsync(wait.Token) is false)
                    {
                        return;
                    }
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Rescore time.
                }

                while (reader.TryRead(out var usageEvent))
                {
                    try
                    {
                        if (usageEvent.AccountId is { Length: > 0 } id && !engine.HasProfile(id) && await accounts.GetAsync(id, stoppingToken) is { } account)
                        {
                            engine.SetProfile(id, new AccountProfile(account.Tier, account.Verified));
                        }

                        engine.Observe(usageEvent);
                        if (DetectionEngine.Counts(usageEvent))
                        {
                            // Only a request the engine counted can bring the account to a milestone.
                            milestones.Observed(usageEvent.AccountId!, engine.RequestCount(usageEvent.AccountId!));
                        }

                        Interlocked.Increment(ref _observed);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        DetectionLog.ObserveFailed(logger, e);
                    }
                }

                CompleteWaiters();
                if (time.GetUtcNow() >= nextRescore)
                {
                    Rescore();
                    nextRescore = time.GetUtcNow() + options.RescoreInterval;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Folds the usage log's last <see cref="DetectionHostOptions.WarmStartWindow"/> (events from before this process
    /// started) into the engine, so that a restart forgets no account's history: a harvester half-way to its flag is
    /// still half-way after a deploy. New requests queue in the observer meanwhile (and are folded in after, in order).
    /// </summary>
    private async Task WarmStartAsync(CancellationToken cancellationToken)
    {
        if (options.WarmStartWindow <= TimeSpan.Zero || options.WarmStartLimit <= 0)
        {
            return;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var from = _startedAt - options.WarmStartWindow;
        long events = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var e in usage.ReadAsync(new UsageQuery(From: from, Limit: options.WarmStartLimit), cancellationToken))
        {
            if (e.Timestamp >= _startedAt)
            {
                break;
            }

            if (e.AccountId is { Length: > 0 } id && seen.Add(id) && !engine.HasProfile(id) && await accounts.GetAsync(id, cancellationToken) is { } account)
            {
                engine.SetProfile(id, new AccountProfile(account.Tier, account.Verified));
            }

            engine.Observe(e);
            events++;
        }

        if (events > 0)
        {
            DetectionLog.WarmStarted(logger, events, seen.Count, clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>
    /// Completes once the worker has folded in at least <paramref name="count"/> events: what a caller that knows how
    /// many requests it sent waits for instead of polling the clock.
    /// </summary>
    internal Task WhenObservedAsync(long count)
    {
        lock (_waiters)
        {
            if (Observed >= count)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, done));
            return done.Task;
        }
    }

    private void CompleteWaiters()
    {
        lock (_waiters)
        {
            var observed = Observed;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Count <= observed)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Scores every account, logs band transitions, and drops idle accounts.</summary>
    internal void Rescore()
    {
        var now = time.GetUtcNow();
        foreach (var assessment in engine.AssessAll(now))
        {
            var previous = _levels.GetValueOrDefault(assessment.AccountId, "low");
            if (assessment.Flagged && previous != assessment.Level && Rank(assessment.Level) > Rank(previous))
            {
                DetectionLog.AccountFlagged(logger, assessment.AccountId, assessment.Level, assessment.Score, string.Join(", ", assessment.Reasons.Select(r => r.Code)));
            }

            _levels[assessment.AccountId] = assessment.Level;
        }

        engine.Prune(now);
        var dropped = observer.Dropped;
        if (dropped > _reportedDrops)
        {
            DetectionLog.EventsDropped(logger, dropped);
            _reportedDrops = dropped;
        }
    }

    private static int Rank(string level) => level switch { "review" => 1, "friction" => 2, _ => 0 };

    private TimeSpan Until(DateTimeOffset when)
    {
        var wait = when - time.GetUtcNow();
        return wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait;
    }
}
