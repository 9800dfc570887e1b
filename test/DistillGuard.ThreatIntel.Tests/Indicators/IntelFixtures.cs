using System.Globalization;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.Usage;

namespace DistillGuard.ThreatIntel.Tests.Indicators;

/// <summary>Deterministic traffic for the tests: an operator's templated fleet and ordinary users.</summary>
internal static class IntelFixtures
{
    public static readonly DateTimeOffset Start = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);

    public const string SecretPrompt = "Solve step by step and explain every reasoning step in detail: what is the integral of x^{0}?";

    /// <summary>Requests of a fleet: one template, one /24, one client library, accounts fleet-0.., addresses 203.0.113.x.</summary>
    public static IEnumerable<UsageEvent> Fleet(int accounts, int requestsEach, string prefix = "fleet", string network = "203.0.113", string agent = "harvest-bot/1.0", DateTimeOffset? start = null)
    {
        var t0 = start ?? Start;
        for (var r = 0; r < requestsEach; r++)
        {
            for (var a = 0; a < accounts; a++)
            {
                yield return new UsageEvent
                {
                    RequestId = $"req-{prefix}-{a}-{r}",
                    Timestamp = t0.AddSeconds((r * accounts + a) * 7),
                    AccountId = $"{prefix}-{a}@example.com",
                    KeyId = $"key_{prefix}{a}",
                    ClientAddress = string.Create(CultureInfo.InvariantCulture, $"{network}.{10 + a}"),
                    UserAgent = agent,
                    Endpoint = "chat.completions",
                    PromptText = string.Format(CultureInfo.InvariantCulture, SecretPrompt, r + a),
                    PromptTokens = 24,
                    CompletionTokens = 400,
                    Status = 200,
                };
            }
        }
    }

    public static OperatorTraits Traits(IEnumerable<UsageEvent> events)
    {
        var traits = new OperatorTraits();
        foreach (var e in events)
        {
            traits.Observe(e);
        }

        return traits;
    }

    public static SharingKey Key(byte fill = 7) => new(Enumerable.Repeat(fill, SharingKey.KeyBytes).ToArray());

    public static IndicatorExportOptions Options(string? partner = null) => new()
    {
        ProducerName = "Provider A",
        IdSecret = Enumerable.Repeat((byte)42, 32).ToArray(),
        Partner = partner,
    };
}
