namespace DistillGuard.Gateway.Inference;

/// <summary>
/// Shares the built-in model's CPU between accounts: at most <c>slots</c> generations run at once, and a running one
/// hands its slot on every few tokens when someone waits, to the next waiting account in turn (round robin).
/// </summary>
/// <remarks>
/// Without it every request generated on its own thread-pool thread, so fifty streams of one account left a small
/// request of another waiting seconds, and starved the threads that notice a client has gone. Waiting costs
/// nothing, and a waiter whose client leaves is cancelled without ever running. Fairness is per account, not per
/// request: an account with fifty requests gets one turn in the ring like an account with one.
/// </remarks>
internal sealed class FairScheduler
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<TaskCompletionSource>> _waiting = new(StringComparer.Ordinal);
    private readonly Queue<string> _turns = new();
    private int _free;
    private int _waiters;

    public FairScheduler(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        Slots = slots;
        _free = slots;
    }

    public int Slots { get; }

    /// <summary>Requests waiting for a slot (any account).</summary>
    public int Waiting => Volatile.Read(ref _waiters);

    /// <summary>Waits for a slot; throws <see cref="OperationCanceledException"/> if <paramref name="cancellationToken"/> fires first.</summary>
    public async ValueTask AcquireAsync(string account, CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (_free > 0 && _turns.Count == 0)
            {
                _free--;
                return;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_waiting.TryGetValue(account, out var queue))
            {
                _waiting[account] = queue = new Queue<TaskCompletionSource>();
                _turns.Enqueue(account);
            }

            queue.Enqueue(waiter);
            _waiters++;
        }

        await using (cancellationToken.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetCanceled(), waiter))
        {
            await waiter.Task;
        }
    }

    /// <summary>Gives the slot back: to the next waiting account in turn, or to the pool.</summary>
    public void Release()
    {
        lock (_lock)
        {
            while (_turns.TryDequeue(out var account))
            {
                var queue = _waiting[account];
                while (queue.TryDequeue(out var waiter))
                {
                    _waiters--;
                    if (waiter.TrySetResult())
                    {
                        if (queue.Count > 0)
                        {
                            _turns.Enqueue(account);
                        }
                        else
                        {
                            _waiting.Remove(account);
                        }

                        return;
                    }
                }

                _waiting.Remove(account);
            }

            _free++;
        }
    }

    /// <summary>
    /// Between two steps of a running generation: hands the slot on and waits for another turn if anyone waits. When it
    /// throws (cancelled while waiting) the caller holds no slot.
    /// </summary>
    public async ValueTask YieldAsync(string account, CancellationToken cancellationToken)
    {
        if (Waiting == 0)
        {
            return;
        }

        Release();
        await AcquireAsync(account, cancellationToken);
    }
}
