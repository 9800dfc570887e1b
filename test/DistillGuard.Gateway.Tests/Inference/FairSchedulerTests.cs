using DistillGuard.Gateway.Inference;

namespace DistillGuard.Gateway.Tests.Inference;

/// <summary>The built-in model's slots go round the waiting accounts in turn; a waiter whose client left never runs.</summary>
public sealed class FairSchedulerTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Release_OneAccountQueuedMany_OtherAccountWaitsOneTurnOnly()
    {
        var scheduler = new FairScheduler(slots: 1);
        await scheduler.AcquireAsync("heavy", CancellationToken.None);
        var pending = new Dictionary<Task, string>();
        foreach (var name in new[] { "heavy-1", "heavy-2", "heavy-3", "light-1", "heavy-4" })
        {
            pending[scheduler.AcquireAsync(name.Split('-')[0], CancellationToken.None).AsTask()] = name;
        }

        Assert.Equal(5, scheduler.Waiting);
        var order = new List<string>();
        while (pending.Count > 0)
        {
            // One release grants exactly one waiter.
            scheduler.Release();
            var granted = await Task.WhenAny(pending.Keys).WaitAsync(s_patience);
            order.Add(pending[granted]);
            pending.Remove(granted);
            Assert.DoesNotContain(pending.Keys, t => t.IsCompleted);
        }

        Assert.Equal(["heavy-1", "light-1", "heavy-2", "heavy-3", "heavy-4"], order);
        Assert.Equal(0, scheduler.Waiting);
    }

    [Fact]
    public async Task Acquire_CancelledWhileWaiting_NeverRuns_AndTheSlotGoesOn()
    {
        var scheduler = new FairScheduler(slots: 1);
        await scheduler.AcquireAsync("a", CancellationToken.None);
        using var gone = new CancellationTokenSource();
        var abandoned = scheduler.AcquireAsync("b", gone.Token).AsTask();
        var next = scheduler.AcquireAsync("c", CancellationToken.None).AsTask();

        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        scheduler.Release();
        await next.WaitAsync(s_patience);

        // c gives the slot back and it is free again: nobody is left to hand it to.
        scheduler.Release();
        Assert.True(scheduler.AcquireAsync("d", CancellationToken.None).AsTask().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task YieldAsync_HandsTheSlotToAWaiter_OnlyWhenSomeoneWaits()
    {
        var scheduler = new FairScheduler(slots: 1);
        await scheduler.AcquireAsync("a", CancellationToken.None);
        Assert.True(scheduler.YieldAsync("a", CancellationToken.None).AsTask().IsCompletedSuccessfully);

        var other = scheduler.AcquireAsync("b", CancellationToken.None).AsTask();
        Assert.False(other.IsCompleted);
        var back = scheduler.YieldAsync("a", CancellationToken.None).AsTask();
        await other.WaitAsync(s_patience);
        Assert.False(back.IsCompleted);

        scheduler.Release();
        await back.WaitAsync(s_patience);
    }
}
