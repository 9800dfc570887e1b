namespace DistillGuard.Storage.Accounts;

/// <summary>A customer account as the gateway knows it. Never carries the API key itself.</summary>
public sealed record Account
{
    public required string Id { get; init; }
    public string? Org { get; init; }
    public string Tier { get; init; } = "standard";
    public bool Verified { get; init; }
    /// <summary>Keyed hash of the payment fingerprint (never the raw value).</summary>
    public string? PaymentFingerprintHash { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>What an admin supplies to create an account.</summary>
public sealed record NewAccount
{
    public required string Id { get; init; }
    /// <summary>An API key to register; when null a new random key is issued.</summary>
    public string? ApiKey { get; init; }
    public string? Org { get; init; }
    public string? Tier { get; init; }
    public bool Verified { get; init; }
    /// <summary>The raw payment fingerprint; stored only as a keyed hash.</summary>
    public string? PaymentFingerprint { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
}

/// <summary>An account together with the key that authenticated a request.</summary>
/// <param name="KeyId">Public identifier of the key (safe to log): a short prefix of its hash.</param>
public sealed record AuthenticatedAccount(Account Account, string KeyId);

/// <summary>The result of creating an account: the account and its API key in plain text, shown once.</summary>
public sealed record CreatedAccount(Account Account, string ApiKey, string KeyId);
