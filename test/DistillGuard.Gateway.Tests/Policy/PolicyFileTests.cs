using System.Text;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Gateway.Tests.Policy;

public sealed class PolicyFileTests
{
    [Theory]
    [InlineData("{\n  \"review\": { \"actions\": [\"watermark_boost\", \"teleport\"] }\n}", 2, "$.review.actions[1]")]
    [InlineData("{\n  \"friction\": {\n    \"actions\": [\"suspend\"]\n  }\n}", 3, "$.friction.actions[0]")]
    [InlineData("{\n  \"tiers\": {\n    \"free\": { \"reviewMultiplier\": 3, \"frictionMultiplier\": 1 }\n  }\n}", 3, "$.tiers.free.frictionMultiplier")]
    [InlineData("{\n  \"throttle\": { \"account\": { \"requestsPerMinute\": 0 } }\n}", 2, "$.throttle.account.requestsPerMinute")]
    public void Parse_BadPolicy_NamesTheLineAndTheReason(string json, int line, string path)
    {
        var error = Assert.Throws<JsonConfigException>(() => PolicyFile.Parse(Encoding.UTF8.GetBytes(json), "policy.json"));
        Assert.StartsWith($"policy.json:{line}: {path}:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provider_ReloadsOnChange_AndKeepsTheLastGoodPolicyWhenAReloadIsBad()
    {
        var path = Path.Combine(Path.GetTempPath(), "dg-policy-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(path, """{ "review": { "actions": ["watermark_boost"], "queue": true } }""");
        try
        {
            using var provider = new PolicyProvider(path, TimeProvider.System, NullLogger<PolicyProvider>.Instance, TimeSpan.FromHours(1));
            Assert.Equal(["watermark_boost"], provider.Current.Review.Actions);

            await File.WriteAllTextAsync(path, """{ "review": { "actions": ["watermark_boost", "reduce_distillability"] } }""");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
            Assert.True(provider.Poll());
            Assert.Equal(2, provider.Current.Review.Actions.Count);

            await File.WriteAllTextAsync(path, """{ "review": { "actions": ["nonsense"] } }""");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(10));
            Assert.False(provider.Poll());
            Assert.Equal(2, provider.Current.Review.Actions.Count);
            Assert.Contains("nonsense", provider.LastError, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Gateway_WithABrokenPolicyFile_RefusesToStart()
    {
        var path = Path.Combine(Path.GetTempPath(), "dg-policy-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(path, "{\n  \"review\": { \"actions\": [\"suspend\"] }\n}");
        try
        {
            var error = await Assert.ThrowsAsync<GatewayConfigException>(() => TestGateway.StartAsync(o => o.PolicyFile = path));
            Assert.Contains($"{path}:2: $.review.actions[0]:", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
