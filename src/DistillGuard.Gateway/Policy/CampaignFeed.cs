using System.Threading.Channels;
using DistillGuard.Gateway.Usage;
using DistillGuard.Storage.Usage;

namespace DistillGuard.Gateway.Policy;

/// <summary>Hands usage events to the campaign linker, which the policy worker drains; never blocks the request.</summary>
/// <remarks>A full queue drops the event (counted): campaign links lose one request's evidence, the request does not wait.</remarks>
internal sealed class CampaignFeed : IUsageObserver
{
    /// <summary>Events held while the worker is between passes (two seconds at 10,000 requests a second, with room).</summary>
    public const int Capacity = 65_536;

    private readonly Channel<UsageEvent> _events = Channel.CreateBounded<UsageEvent>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private long _dropped;

    /// <summary>Events the linker never saw because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Observe(UsageEvent usageEvent)
    {
        if (!_events.Writer.TryWrite(usageEvent))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    public bool TryRead(out UsageEvent usageEvent) => _events.Reader.TryRead(out usageEvent!);
}
