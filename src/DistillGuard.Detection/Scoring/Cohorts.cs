namespace DistillGuard.Detection.Scoring;

/// <summary>What the engine knows about an account besides its traffic: its tier and whether it is verified.</summary>
/// <param name="Tier">Access tier: the product's <c>free</c>, <c>standard</c>, <c>enterprise</c>, <c>education</c>, <c>verified-research</c> (policy file and gateway rate-limit defaults), or a provider's own.</param>
public sealed record AccountProfile(string? Tier, bool Verified);

/// <summary>Which benign accounts an account is compared with, and the evidence bands references are split by.</summary>
/// <remarks>
/// Verified, education and enterprise accounts are compared with their own kind (a benchmark lab is measured
/// against other labs), never exempted: they keep the same FPR budget, just against a different reference.
/// </remarks>
public static class Cohorts
{
    /// <summary>The pooled reference every cohort falls back to when its own is too small.</summary>
    public const string All = "all";

    /// <summary>Band name for references that are not split by evidence.</summary>
    public const string AnyBand = "any";

    /// <summary>Cohort names in a stable order.</summary>
    public static readonly IReadOnlyList<string> Names = ["new", "standard", "edu", "verified"];

    private static readonly int[] BandEdges = [10, 50, 200, 1000];

    /// <summary>Evidence band names, by requests in the window.</summary>
    public static readonly IReadOnlyList<string> Bands = ["lt10", "10-49", "50-199", "200-999", "1000+"];

    /// <summary>The cohort of an account with this profile (null profile: standard).</summary>
    public static string Of(AccountProfile? profile) => profile switch
    {
        null => "standard",
        { Verified: true } or { Tier: "enterprise" or "verified-research" } => "verified",
        { Tier: "education" or "edu" or "research" } => "edu",
        { Tier: "free" or "trial" } => "new",
        _ => "standard",
    };

    /// <summary>The evidence band of a window with <paramref name="requests"/> requests.</summary>
    public static string Band(int requests)
    {
        for (var i = 0; i < BandEdges.Length; i++)
        {
            if (requests < BandEdges[i])
            {
                return Bands[i];
            }
        }

        return Bands[^1];
    }
}
