using DistillGuard.ThreatIntel.Stix;

namespace DistillGuard.Gateway.ThreatIntel;

/// <summary>The TAXII collections this server offers.</summary>
public static class IntelCollections
{
    /// <summary>Our own indicators, exported on a schedule; partners with read rights pull them.</summary>
    public static readonly string Indicators = StixIdentifiers.UuidV5(StixIdentifiers.StixNamespace, "distillguard collection indicators").ToString();

    /// <summary>Where partners with write rights push their signed indicators and sightings.</summary>
    public static readonly string Submissions = StixIdentifiers.UuidV5(StixIdentifiers.StixNamespace, "distillguard collection submissions").ToString();

    /// <summary>Indicators imported from files and partner servers (not served over TAXII).</summary>
    public const string Imported = "imported";

    public static IReadOnlyList<(string Id, string Title, string Description)> Served { get; } =
    [
        (Indicators, "Distillation indicators", "Campaigns and accounts this provider flagged as distillation, as keyed-hash indicators (no prompt text, no user data)."),
        (Submissions, "Partner submissions", "Signed indicators and sightings that partner providers push to us."),
    ];

    public static bool IsServed(string id) => id == Indicators || id == Submissions;
}
