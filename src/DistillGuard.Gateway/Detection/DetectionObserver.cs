using System.Threading.Channels;
using DistillGuard.Gateway.Usage;
using DistillGuard.Storage.Usage;

namespace DistillGuard.Gateway.Detection;

/// <summary>Hands every usage event to the detection worker through a bounded channel; never blocks the request.</summary>
internal sealed class DetectionObserver : IUsageObserver
{
    private readonly Channel<UsageEvent> _channel;
    private long _dropped;

    public DetectionObserver(DetectionHostOptions options)
    {
        _channel = Channel.CreateBounded<UsageEvent>(new BoundedChannelOptions(options.ChannelCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Events dropped because the engine fell behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Events waiting for the engine.</summary>
    public int Pending => _channel.Reader.Count;

    public ChannelReader<UsageEvent> Reader => _channel.Reader;

    public void Observe(UsageEvent usageEvent)
    {
        // TryWrite on a full bounded channel in Wait mode returns false at once: detection loses the event, the request does not wait.
        if (!_channel.Writer.TryWrite(usageEvent))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>No more events (the server has stopped).</summary>
    public void Complete() => _channel.Writer.TryComplete();
}
