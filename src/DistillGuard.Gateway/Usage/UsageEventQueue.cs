using System.Threading.Channels;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Gateway.Usage;

/// <summary>
/// A bounded queue of usage events between the request path and one background reader: <see cref="Observe"/>
/// never blocks; when the queue is full the event is dropped and counted.
/// </summary>
internal abstract class UsageEventQueue : IUsageObserver
{
    // Wait mode, written with TryWrite: a full queue refuses at once, so the drop is seen and counted
    // (DropWrite mode would report success for an event it dropped).
    private readonly Channel<UsageEvent> _channel;
    private long _dropped;

    protected UsageEventQueue(int capacity) =>
        _channel = Channel.CreateBounded<UsageEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });

    /// <summary>Events dropped because the reader fell behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Events waiting for the reader.</summary>
    public int Pending => _channel.Reader.Count;

    public ChannelReader<UsageEvent> Reader => _channel.Reader;

    public void Observe(UsageEvent usageEvent)
    {
        if (!_channel.Writer.TryWrite(usageEvent))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>No more events (the server has stopped).</summary>
    public void Complete() => _channel.Writer.TryComplete();
}
