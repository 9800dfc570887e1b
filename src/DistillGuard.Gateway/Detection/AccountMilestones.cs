using System.Collections.Concurrent;
using DistillGuard.Detection.Calibration;

namespace DistillGuard.Gateway.Detection;

/// <summary>
/// Accounts whose request count reached a milestone (10, 14, 20, 28, … — <see cref="TrafficReplay.IsMilestone"/>) since
/// the policy worker last looked: the detection worker marks them as it folds events in, the policy worker decides them
/// on its next pass instead of at the next hourly tick.
/// </summary>
/// <remarks>
/// The calibration snapshots every account at these counts as well as at the ticks, so a decision at a milestone is a
/// look the review and friction thresholds were fitted for (ADR 6), not an extra one. A set, not a queue: an account
/// waiting is held once however many milestones it passes before the next pass, so memory is bounded by the accounts.
/// </remarks>
public sealed class AccountMilestones
{
    private readonly ConcurrentDictionary<string, byte> _pending = new(StringComparer.Ordinal);

    /// <summary>Marks the account when <paramref name="requests"/>, its count after its latest request, is a milestone.</summary>
    public void Observed(string accountId, long requests)
    {
        if (TrafficReplay.IsMilestone(requests))
        {
            _pending.TryAdd(accountId, 0);
        }
    }

    /// <summary>Takes every marked account, leaving none marked.</summary>
    public List<string> Drain()
    {
        var taken = new List<string>(_pending.Count);
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out _))
            {
                taken.Add(id);
            }
        }

        return taken;
    }
}
