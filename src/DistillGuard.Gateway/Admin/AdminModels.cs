namespace DistillGuard.Gateway.Admin;

/// <summary>Body of <c>POST /admin/v1/accounts</c>.</summary>
public sealed record CreateAccountRequest
{
    public string? Id { get; init; }
    public string? ApiKey { get; init; }
    public string? Org { get; init; }
    public string? Tier { get; init; }
    public bool? Verified { get; init; }
    public string? PaymentFingerprint { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
}

/// <summary>One reason behind an account's risk score.</summary>
public sealed record RiskReason(string Code, string Detail, double Value, double? Percentile);

/// <summary>An account as the admin API shows it: identity, risk and usage.</summary>
/// <remarks>
/// Risk fields are part of the contract; until the detection engine scores an account its
/// <see cref="RiskScore"/> is null and its level is <c>unscored</c>.
/// </remarks>
public record AccountView
{
    public required string Id { get; init; }
    public string? Org { get; init; }
    public required string Tier { get; init; }
    public bool Verified { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public double? RiskScore { get; init; }
    public string RiskLevel { get; init; } = "unscored";
    public bool Flagged { get; init; }
    public IReadOnlyList<RiskReason> Reasons { get; init; } = [];
    public string Action { get; init; } = "none";
    public string? CampaignId { get; init; }
    public long Requests { get; init; }
    public long TokensIn { get; init; }
    public long TokensOut { get; init; }
}

/// <summary>A new account with its API key, shown once.</summary>
public sealed record CreatedAccountView : AccountView
{
    public required string ApiKey { get; init; }
    public required string KeyId { get; init; }
}

/// <summary>A page of accounts.</summary>
public sealed record AccountList(IReadOnlyList<AccountView> Data)
{
    [System.Text.Json.Serialization.JsonPropertyName("object")]
    public string ObjectType => "list";
}
