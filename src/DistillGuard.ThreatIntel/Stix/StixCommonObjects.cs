using System.Text.Json;

namespace DistillGuard.ThreatIntel.Stix;

/// <summary>TLP 2.0 levels as FIRST defines them.</summary>
public enum TlpLevel
{
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

/// <summary>The TLP 2.0 marking definitions published by OASIS (oasis-open/cti-stix-common-objects, extension-definition-specifications/tlp-2.0).</summary>
public static class Tlp
{
    /// <summary>The extension every TLP 2.0 marking declares itself through.</summary>
    public const string ExtensionId = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

    private static readonly DateTimeOffset Published = new(2022, 10, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The published id of a level's marking definition.</summary>
    public static string MarkingId(TlpLevel level) => level switch
    {
        TlpLevel.Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        TlpLevel.Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        TlpLevel.Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        TlpLevel.AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        _ => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    };

    /// <summary>The level's value of <c>tlp_2_0</c>: clear, green, amber, amber+strict, red.</summary>
    public static string Name(TlpLevel level) => level switch
    {
        TlpLevel.Clear => "clear",
        TlpLevel.Green => "green",
        TlpLevel.Amber => "amber",
        TlpLevel.AmberStrict => "amber+strict",
        _ => "red",
    };

    /// <summary>Parses clear, green, amber, amber+strict or red; throws <see cref="ArgumentException"/> otherwise.</summary>
    public static TlpLevel Parse(string text) => text.ToLowerInvariant().Replace("tlp:", "", StringComparison.Ordinal) switch
    {
        "clear" or "white" => TlpLevel.Clear,
        "green" => TlpLevel.Green,
        "amber" => TlpLevel.Amber,
        "amber+strict" => TlpLevel.AmberStrict,
        "red" => TlpLevel.Red,
        _ => throw new ArgumentException($"'{text}' is not a TLP 2.0 level (clear, green, amber, amber+strict, red)."),
    };

    /// <summary>The published marking-definition object of a level.</summary>
    public static StixMarkingDefinition Marking(TlpLevel level) => new()
    {
        Id = MarkingId(level),
        Created = Published,
        Name = "TLP:" + Name(level).ToUpperInvariant(),
        Extensions = new Dictionary<string, JsonElement>
        {
            [ExtensionId] = JsonSerializer.SerializeToElement(
                new Dictionary<string, string> { ["extension_type"] = "property-extension", ["tlp_2_0"] = Name(level) },
                StixJsonContext.Default.DictionaryStringString),
        },
    };
}

/// <summary>The MITRE ATLAS techniques a distillation campaign uses (atlas.mitre.org).</summary>
public static class Atlas
{
    /// <summary>(technique id, name, tactic) of the techniques every exported campaign uses.</summary>
    public static readonly IReadOnlyList<(string Id, string Name, string Tactic)> DistillationTechniques =
    [
        ("AML.T0040", "AI Model Inference API Access", "ai-model-access"),
        ("AML.T0024", "Exfiltration via AI Inference API", "exfiltration"),
        ("AML.T0005.001", "Train Proxy via Replication", "ai-attack-staging"),
    ];

    /// <summary>The attack-pattern of one technique, with a deterministic id so that every producer names it alike.</summary>
    public static StixAttackPattern AttackPattern((string Id, string Name, string Tactic) technique, string createdByRef, DateTimeOffset created) => new()
    {
        Id = StixIdentifiers.Deterministic("attack-pattern", StixIdentifiers.StixNamespace, "mitre-atlas:" + technique.Id),
        Created = created,
        Modified = created,
        CreatedByRef = createdByRef,
        Name = technique.Name,
        KillChainPhases = [new KillChainPhase { KillChainName = "mitre-atlas", PhaseName = technique.Tactic }],
        ExternalReferences =
        [
            new ExternalReference { SourceName = "mitre-atlas", ExternalId = technique.Id, Url = "https://atlas.mitre.org/techniques/" + technique.Id },
        ],
    };
}
