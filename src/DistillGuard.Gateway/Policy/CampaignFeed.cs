using DistillGuard.Gateway.Usage;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Gateway.Policy;

/// <summary>Hands usage events to the campaign linker, which the policy worker drains; never blocks the request.</summary>
/// <remarks>A full queue drops the event (counted): campaign links lose one request's evidence, the request does not wait.</remarks>
internal sealed class CampaignFeed() : UsageEventQueue(Capacity)
{
    /// <summary>Events held while the worker is between passes (two seconds at 10,000 requests a second, with room).</summary>
    public const int Capacity = 65_536;

    public bool TryRead(out UsageEvent usageEvent) => Reader.TryRead(out usageEvent!);
}
