using System.Text.Json;
using System.Text.Json.Serialization;

namespace DistillGuard.ThreatIntel.Stix;

/// <summary>The properties every STIX 2.1 domain, relationship and meta object shares (STIX 2.1 §3.2).</summary>
public abstract class StixObject
{
    /// <summary>The object's type, e.g. <c>indicator</c>.</summary>
    [JsonPropertyOrder(-10)]
    public abstract string Type { get; }

    [JsonPropertyOrder(-9)]
    public string SpecVersion { get; init; } = "2.1";

    /// <summary><c>type--UUID</c>.</summary>
    [JsonPropertyOrder(-8)]
    public required string Id { get; init; }

    [JsonPropertyOrder(-7)]
    public string? CreatedByRef { get; init; }

    [JsonPropertyOrder(-6)]
    public required DateTimeOffset Created { get; init; }

    /// <summary>Null only for marking definitions, which are never versioned.</summary>
    [JsonPropertyOrder(-5)]
    public DateTimeOffset? Modified { get; init; }

    public bool? Revoked { get; init; }

    /// <summary>0–100 (STIX 2.1 Appendix A, the "none/low/med/high" scale maps to 0/15/50/85).</summary>
    public int? Confidence { get; init; }

    public IReadOnlyList<ExternalReference>? ExternalReferences { get; init; }

    public IReadOnlyList<string>? ObjectMarkingRefs { get; init; }

    /// <summary>Extension id → the extension's properties (with <c>extension_type</c>).</summary>
    public IReadOnlyDictionary<string, JsonElement>? Extensions { get; init; }
}

/// <summary>A pointer to a non-STIX source, e.g. a MITRE ATLAS technique.</summary>
public sealed class ExternalReference
{
    public required string SourceName { get; init; }

    public string? ExternalId { get; init; }

    public string? Url { get; init; }

    public string? Description { get; init; }
}

/// <summary>A phase of a kill chain (here ATLAS tactics).</summary>
public sealed class KillChainPhase
{
    public required string KillChainName { get; init; }

    public required string PhaseName { get; init; }
}

/// <summary>The producer (STIX identity SDO).</summary>
public sealed class StixIdentity : StixObject
{
    public override string Type => "identity";

    public required string Name { get; init; }

    public string? Description { get; init; }

    /// <summary><c>organization</c>, <c>group</c>, … (identity-class-ov).</summary>
    public string? IdentityClass { get; init; }

    public IReadOnlyList<string>? Sectors { get; init; }
}

/// <summary>A pattern that detects an operator's traffic (STIX indicator SDO).</summary>
public sealed class StixIndicator : StixObject
{
    public override string Type => "indicator";

    public string? Name { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<string>? IndicatorTypes { get; init; }

    public required string Pattern { get; init; }

    /// <summary>An open vocabulary: ours is <see cref="DistillationExtension.PatternType"/>.</summary>
    public required string PatternType { get; init; }

    public string? PatternVersion { get; init; }

    public required DateTimeOffset ValidFrom { get; init; }

    public DateTimeOffset? ValidUntil { get; init; }

    public IReadOnlyList<KillChainPhase>? KillChainPhases { get; init; }
}

/// <summary>A set of malicious activity over time against a provider (STIX campaign SDO).</summary>
public sealed class StixCampaign : StixObject
{
    public override string Type => "campaign";

    public required string Name { get; init; }

    public string? Description { get; init; }

    public DateTimeOffset? FirstSeen { get; init; }

    public DateTimeOffset? LastSeen { get; init; }

    public string? Objective { get; init; }
}

/// <summary>A technique (STIX attack-pattern SDO), here a MITRE ATLAS technique.</summary>
public sealed class StixAttackPattern : StixObject
{
    public override string Type => "attack-pattern";

    public required string Name { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<KillChainPhase>? KillChainPhases { get; init; }
}

/// <summary>A link between two objects (STIX relationship SRO).</summary>
public sealed class StixRelationship : StixObject
{
    public override string Type => "relationship";

    /// <summary><c>indicates</c>, <c>uses</c>, <c>attributed-to</c>, …</summary>
    public required string RelationshipType { get; init; }

    public required string SourceRef { get; init; }

    public required string TargetRef { get; init; }

    public string? Description { get; init; }
}

/// <summary>"This was seen": an indicator matched at a provider (STIX sighting SRO).</summary>
public sealed class StixSighting : StixObject
{
    public override string Type => "sighting";

    public required string SightingOfRef { get; init; }

    public DateTimeOffset? FirstSeen { get; init; }

    public DateTimeOffset? LastSeen { get; init; }

    /// <summary>0 – 999,999,999.</summary>
    public int? Count { get; init; }

    public IReadOnlyList<string>? WhereSightedRefs { get; init; }

    public string? Description { get; init; }
}

/// <summary>A data marking, e.g. a TLP 2.0 level (STIX marking-definition SMO).</summary>
public sealed class StixMarkingDefinition : StixObject
{
    public override string Type => "marking-definition";

    public string? Name { get; init; }
}

/// <summary>Declares a custom extension so that receivers know what its properties mean (STIX extension-definition SMO).</summary>
public sealed class StixExtensionDefinition : StixObject
{
    public override string Type => "extension-definition";

    public required string Name { get; init; }

    public string? Description { get; init; }

    /// <summary>A URL or, as here, the plain-text normative definition.</summary>
    public required string Schema { get; init; }

    public required string Version { get; init; }

    public required IReadOnlyList<string> ExtensionTypes { get; init; }
}

/// <summary>A STIX bundle: objects kept as JSON so that partners' object types we do not model survive a round trip.</summary>
public sealed class StixBundle
{
    [JsonPropertyOrder(-10)]
    public string Type { get; init; } = "bundle";

    [JsonPropertyOrder(-9)]
    public required string Id { get; init; }

    public required IReadOnlyList<JsonElement> Objects { get; init; }
}
