using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Gateway.Usage;

/// <summary>Sees every usage event as the request ends (detection, live dashboards), on the request path.</summary>
/// <remarks>Must return at once and never throw: hand the event to a bounded queue and do the work elsewhere.</remarks>
public interface IUsageObserver
{
    void Observe(UsageEvent usageEvent);
}
