using System.Reflection;
using DistillGuard.Gateway.Policy;

namespace DistillGuard.Gateway.Tests.Policy;

/// <summary>The per-account watermark is read by concurrent requests: its cached state must be readable without tearing.</summary>
public sealed class PolicyWatermarkTests
{
    [Fact]
    public void PolicyWatermark_EveryMutableField_IsAReference()
    {
        // A reference is read atomically; a struct wider than a pointer (the (delta, processors) tuple) is not, so a
        // concurrent writer could pair one request's strength with another's processors.
        var mutable = typeof(PolicyWatermark).GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(f => !f.IsInitOnly)
            .ToList();
        Assert.NotEmpty(mutable);
        Assert.All(mutable, f => Assert.False(f.FieldType.IsValueType, $"{f.Name} is a {f.FieldType.Name}"));
    }
}
