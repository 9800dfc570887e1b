namespace DistillGuard.Lab.Simulation;

/// <summary>The product's access tiers, named as the policy file, the gateway's default rate limits and the detector's cohorts name them.</summary>
/// <remarks>
/// Simulated accounts carry only these names, so simulated traffic meets the same tier rules, limits and cohorts as
/// real accounts (a test checks them against <c>PolicyDocument</c> and the gateway's default rate-limit tiers).
/// </remarks>
public static class AccessTiers
{
    /// <summary>Self-registered and trial accounts.</summary>
    public const string Free = "free";

    /// <summary>Paying pay-as-you-go accounts.</summary>
    public const string Standard = "standard";

    /// <summary>Contracted, high-volume accounts.</summary>
    public const string Enterprise = "enterprise";

    /// <summary>University and school accounts.</summary>
    public const string Education = "education";

    /// <summary>Research organisations that passed the provider's verification programme.</summary>
    public const string VerifiedResearch = "verified-research";

    /// <summary>Every tier the simulator emits.</summary>
    public static IReadOnlyList<string> All { get; } = [Free, Standard, Enterprise, Education, VerifiedResearch];
}
