using System.Globalization;
using System.Text;
using DistillGuard.ThreatIntel.Stix;

namespace DistillGuard.ThreatIntel.Indicators;

/// <summary>The content of a distillation indicator, carried as a STIX property-extension on the indicator.</summary>
/// <remarks>Every artifact is a keyed hash under the sharing group's key (<see cref="SharingKeyId"/> names it); nothing here is prompt text, an address, an API key or an account id.</remarks>
public sealed class DistillationIndicatorContent
{
    public string ExtensionType { get; init; } = "property-extension";

    /// <summary>The <see cref="SharingKey.KeyId"/> of the key the hashes were made under.</summary>
    public required string SharingKeyId { get; init; }

    /// <summary>Keyed hashes of the operator's most frequent template keys (skeleton heads).</summary>
    public IReadOnlyList<string>? TemplateHashes { get; init; }

    /// <summary>MinHash slots (64) over the keyed template items, for near matches when templates drift.</summary>
    public IReadOnlyList<long>? TemplateMinhash { get; init; }

    /// <summary>Keyed hashes of client network prefixes (/24, /48).</summary>
    public IReadOnlyList<string>? NetworkHashes { get; init; }

    /// <summary>Keyed hashes of client library User-Agents.</summary>
    public IReadOnlyList<string>? ClientHashes { get; init; }

    /// <summary>Keyed hashes of payment-processor fingerprints, when the provider holds them under the group key.</summary>
    public IReadOnlyList<string>? PaymentHashes { get; init; }

    public TimingSignature? Timing { get; init; }

    /// <summary>Accounts of the operator seen by the producer.</summary>
    public int Accounts { get; init; }

    /// <summary>Requests of the operator seen by the producer.</summary>
    public long Requests { get; init; }
}

/// <summary>Our pattern language and the extension-definition that declares the indicator content.</summary>
public static class DistillationExtension
{
    /// <summary>The <c>pattern_type</c> of our indicators (an open-vocabulary value of our own).</summary>
    public const string PatternType = "distillguard-fingerprint";

    public const string Version = "1.0";

    private static readonly DateTimeOffset Published = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The DistillGuard project's identity, author of the extension definition.</summary>
    public static readonly string ProjectIdentityId = StixIdentifiers.Deterministic("identity", StixIdentifiers.StixNamespace, "distillguard project");

    /// <summary>The extension's id, the same for every producer.</summary>
    public static readonly string Id = StixIdentifiers.Deterministic("extension-definition", StixIdentifiers.StixNamespace, "distillguard distillation-indicator " + Version);

    public static StixIdentity ProjectIdentity() => new()
    {
        Id = ProjectIdentityId,
        Created = Published,
        Modified = Published,
        Name = "DistillGuard project",
        IdentityClass = "organization",
        Description = "Author of the distillation-indicator extension.",
    };

    public static StixExtensionDefinition Definition() => new()
    {
        Id = Id,
        Created = Published,
        Modified = Published,
        CreatedByRef = ProjectIdentityId,
        Name = "DistillGuard distillation indicator",
        Description = "Artifacts of a model-distillation operator (prompt-template keys, client networks and libraries, timing) as keyed hashes under a sharing group's key.",
        Version = Version,
        ExtensionTypes = ["property-extension"],
        Schema = """
            Property extension on indicator. Properties: sharing_key_id (string, id of the sharing group's HMAC-SHA256 key);
            template_hashes, network_hashes, client_hashes, payment_hashes (arrays of 32 hex digits: the first 128 bits of
            HMAC-SHA256(key, kind byte || value), kind 1 = skeleton-head template key as 8 little-endian bytes, 2 = client /24 or
            /48 prefix text, 3 = User-Agent, 4 = payment-processor fingerprint); template_minhash (64 integers: MinHash slots over
            the first 8 bytes, little-endian, of HMAC-SHA256(key, 5 || template key)); timing (median_interval_seconds,
            requests_per_account_day, median_completion_tokens, prompt_share); accounts and requests seen by the producer.
            pattern_type distillguard-fingerprint: "[template-hash IN ('h', ...)] AND ([network-hash IN (...)] OR [client-hash IN (...)])",
            the first clause alone when no network or client is known; the extension's lists are authoritative.
            """,
    };

    /// <summary>The pattern text of <paramref name="content"/>.</summary>
    public static string Pattern(DistillationIndicatorContent content)
    {
        var b = new StringBuilder();
        Clause(b, "template-hash", content.TemplateHashes);
        var others = new List<string>();
        if (content.NetworkHashes is { Count: > 0 })
        {
            others.Add(Clause(new StringBuilder(), "network-hash", content.NetworkHashes).ToString());
        }

        if (content.ClientHashes is { Count: > 0 })
        {
            others.Add(Clause(new StringBuilder(), "client-hash", content.ClientHashes).ToString());
        }

        if (others.Count > 0)
        {
            b.Append(" AND (").Append(string.Join(" OR ", others)).Append(')');
        }

        return b.ToString();
    }

    private static StringBuilder Clause(StringBuilder b, string name, IReadOnlyList<string>? values) =>
        b.Append('[').Append(name).Append(" IN (")
            .Append(string.Join(", ", (values ?? []).Select(v => string.Create(CultureInfo.InvariantCulture, $"'{v}'"))))
            .Append(")]");
}
