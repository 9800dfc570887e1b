using DistillGuard.Gateway.Usage;

namespace DistillGuard.Gateway.Detection;

/// <summary>Hands every usage event to the detection worker through a bounded channel; never blocks the request.</summary>
internal sealed class DetectionObserver(DetectionHostOptions options) : UsageEventQueue(options.ChannelCapacity);
