namespace DistillGuard.Lab.Simulation;

/// <summary>The stable attributes of one simulated account, as a provider would know them at sign-up and from its traffic.</summary>
public sealed record SimulatedAccount
{
    public required string Id { get; init; }
    public required string Archetype { get; init; }
    public required string Org { get; init; }
    /// <summary>Access tier, one of <see cref="AccessTiers.All"/> (the product's tier names).</summary>
    public required string Tier { get; init; }
    /// <summary>The client address requests come from (a NAT or proxy address when shared).</summary>
    public required string ClientAddress { get; init; }
    public required string UserAgent { get; init; }
    /// <summary>A bucket of the keyed hash of the payment instrument; accounts paying with the same card share it.</summary>
    public required string PaymentFingerprint { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public bool Verified { get; init; }
    /// <summary>Account-level label: true when the account is run by a distiller (resellers included).</summary>
    public bool IsAttacker { get; init; }
    public string? CampaignId { get; init; }
    public bool Authorised { get; init; }
    /// <summary>For a reseller: the share of its traffic that is distillation (the rest is its real customers').</summary>
    public double? DistillationShare { get; init; }
    /// <summary>Offset of the account's local time from UTC, which shapes its diurnal rhythm.</summary>
    public TimeSpan UtcOffset { get; init; }
}
