using DistillGuard.Lab.Simulation.Archetypes;

namespace DistillGuard.Lab.Simulation;

/// <summary>
/// The archetypes a scenario is made of, legitimate first, in a fixed order (the order is part of determinism); the
/// held-out families come last, so that adding them left every other account's attributes as they were.
/// </summary>
internal static class ArchetypeCatalogue
{
    public static readonly Archetype[] All =
    [
        new CasualChat(),
        new Developer(),
        new EvalResearcher(),
        new EnterpriseBatch(),
        new SupportBot(),
        new TranslationPipeline(),
        new RedTeamer(),
        new LicensedSyntheticData(),
        new StudentCohort(),
        new AgentHarness(),
        new NaiveHarvester(),
        new LowAndSlow(),
        new CoverageSweeper(),
        new CapabilityFarmer(),
        new ReasoningExtractor(),
        new ParaphrasingAdaptive(),
        new TimingMimic(),
        new LogprobProber(),
        new Reseller(),
        new HydraFleet(),
        new SoftLabelHarvester(),
        new FourSettingProber(),
        new PlainSpokenHarvester(),
        new BlendedReseller(),
        new CardFleet(),
        new SharedSupportBot(),
        new VariedHuman(),
    ];
}
