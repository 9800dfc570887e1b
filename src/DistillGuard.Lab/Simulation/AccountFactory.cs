using System.Globalization;

namespace DistillGuard.Lab.Simulation;

/// <summary>Creates accounts with plausible, stable attributes: organisation, tier, address, client library and payment bucket.</summary>
internal sealed class AccountFactory(ScenarioOptions options)
{
    private static readonly string[] s_userAgents =
    [
        "OpenAI/Python 1.54.4", "OpenAI/Python 1.51.0", "OpenAI/NodeJS 4.67.1", "OpenAI/NodeJS 4.73.0",
        "OpenAI/.NET 2.1.0", "OpenAI/Java 0.8.1", "langchain-openai/0.2.9 OpenAI/Python 1.54.4", "curl/8.5.0",
        "python-requests/2.32.3", "axios/1.7.7", "Go-http-client/2.0", "litellm/1.52.0 OpenAI/Python 1.54.4",
    ];

    // Local-time offsets the population lives in, weighted towards the Americas, Europe and East Asia.
    private static readonly int[] s_offsets = [-8, -7, -6, -5, -5, -5, -4, -3, 0, 1, 1, 1, 2, 3, 5, 8, 8, 9, 10];

    // Two in six on the free tier, three paying as they go, one on an enterprise contract.
    private static readonly string[] s_tiers = [AccessTiers.Free, AccessTiers.Free, AccessTiers.Standard, AccessTiers.Standard, AccessTiers.Standard, AccessTiers.Enterprise];

    private readonly SimulationRandom _random = SimulationRandom.For(options.Seed, "accounts");

    /// <summary>The scenario's virtual start.</summary>
    public DateTimeOffset Start => options.Start;

    /// <summary>A stream of randomness for choices an archetype makes while creating its accounts.</summary>
    public SimulationRandom Random => _random;

    /// <summary>An account of its own: own address, own payment instrument, a common client library.</summary>
    public SimulatedAccount Independent(Archetype archetype, int ordinal, string? tier = null, string? org = null, string? userAgent = null) => new()
    {
        Id = AccountId(archetype, ordinal),
        Archetype = archetype.Name,
        Org = org ?? $"org-{archetype.Name}-{ordinal:D4}",
        Tier = tier ?? _random.Pick(s_tiers),
        ClientAddress = ResidentialAddress(),
        UserAgent = userAgent ?? _random.Pick(s_userAgents),
        PaymentFingerprint = PaymentBucket(),
        CreatedAt = CreatedBefore(TimeSpan.FromDays(_random.Uniform(3, 700))),
        IsAttacker = archetype.IsAttacker,
        Authorised = archetype.Authorised,
        UtcOffset = LocalOffset(),
        Verified = _random.Chance(0.3),
    };

    public static string AccountId(Archetype archetype, int ordinal) => $"sim-{archetype.Name}-{ordinal:D5}";

    /// <summary>A carrier-grade NAT or home address (RFC 6598 shared space, so it is plainly synthetic).</summary>
    public string ResidentialAddress() =>
        $"100.{64 + _random.Next(64)}.{_random.Next(256)}.{1 + _random.Next(254)}";

    /// <summary>A /24 block (RFC 2544 benchmark space) for a NAT, proxy pool or data centre; returns its prefix "a.b.c".</summary>
    public string AddressBlock() => $"198.{18 + _random.Next(2)}.{_random.Next(256)}";

    /// <summary>An address inside a block from <see cref="AddressBlock"/>.</summary>
    public string AddressIn(string block) => $"{block}.{1 + _random.Next(254)}";

    /// <summary>A bucket of a keyed hash of the payment instrument (65,536 buckets, so unrelated accounts rarely share one).</summary>
    public string PaymentBucket() => "pay-" + _random.Next(65536).ToString("x4", CultureInfo.InvariantCulture);

    public string UserAgent() => _random.Pick(s_userAgents);

    public TimeSpan LocalOffset() => TimeSpan.FromHours(_random.Pick(s_offsets));

    /// <summary>A sign-up time the given age before the scenario starts.</summary>
    public DateTimeOffset CreatedBefore(TimeSpan age) => options.Start - age;
}
