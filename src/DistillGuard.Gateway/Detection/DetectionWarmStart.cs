namespace DistillGuard.Gateway.Detection;

/// <summary>
/// Completes when the detection worker has folded the usage log's recent history into the engine (or found none), so
/// that the policy worker's first pass decides on every account's full history, never on the part since the restart.
/// </summary>
internal sealed class DetectionWarmStart
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the warm start is over, whether it read anything or failed.</summary>
    public Task Completed => _done.Task;

    /// <summary>Marks the warm start over.</summary>
    public void Complete() => _done.TrySetResult();
}
