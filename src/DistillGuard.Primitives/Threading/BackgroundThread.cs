using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace DistillGuard.Threading;

/// <summary>
/// Runs a background loop (the usage log's writer, the detection and policy workers) on a thread of its own at a
/// lower scheduling priority, so that on a small machine its bursts of work — a batch of inserts, a re-score of every
/// account — wait for the request path instead of the request path waiting for them.
/// </summary>
/// <remarks>
/// The loop's awaits come back to the same thread: <c>await</c> resumes on the current <see cref="TaskScheduler"/> when
/// there is no synchronisation context, and this scheduler is it. On Linux the thread's nice value is raised with
/// <c>setpriority</c> (a thread's own, per the Linux man page); elsewhere, or where that fails, it runs at normal
/// priority. The lower priority only matters when the cores are busy: an idle machine runs the loop at full speed.
/// </remarks>
public sealed partial class BackgroundThread : TaskScheduler
{
    /// <summary>The nice value background loops run at (0 is normal, 19 the lowest).</summary>
    public const int Nice = 4;

    private readonly BlockingCollection<Task> _queue = [];
    private readonly Thread _thread;

    private BackgroundThread(string name)
    {
        _thread = new Thread(Drain) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Starts <paramref name="loop"/> on a new background thread; the thread ends when the loop's task does.</summary>
    public static Task Run(string name, Func<Task> loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        var scheduler = new BackgroundThread(name);
        var task = Task.Factory.StartNew(loop, CancellationToken.None, TaskCreationOptions.DenyChildAttach, scheduler).Unwrap();
        task.ContinueWith(static (_, state) => ((BackgroundThread)state!)._queue.CompleteAdding(), scheduler, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, Default);
        return task;
    }

    /// <inheritdoc/>
    protected override void QueueTask(Task task)
    {
        if (!TryQueue(task))
        {
            // A continuation that arrives after the loop ended (a late timer callback): the thread pool runs it.
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Scheduler.TryExecuteTask(state.Task), (Scheduler: this, Task: task), preferLocal: false);
        }
    }

    /// <inheritdoc/>
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        Thread.CurrentThread == _thread && TryExecuteTask(task);

    /// <inheritdoc/>
    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

    private bool TryQueue(Task task)
    {
        try
        {
            return _queue.TryAdd(task);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private void Drain()
    {
        LowerPriority();
        foreach (var task in _queue.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }

        _queue.Dispose();
    }

    private static void LowerPriority()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            // PRIO_PROCESS with a thread id sets that thread's nice value on Linux; failure leaves normal priority.
            _ = SetPriority(0, GetThreadId(), Nice);
        }
        catch (EntryPointNotFoundException)
        {
        }
        catch (DllNotFoundException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
