using DistillGuard.Lab.Simulation.Archetypes;

namespace DistillGuard.Lab.Simulation;

/// <summary>The archetypes a scenario is made of, legitimate first, in a fixed order (the order is part of determinism).</summary>
internal static class ArchetypeCatalogue
{
    public static readonly Archetype[] All =
    [
        new CasualChat(),
        new NaiveHarvester(),
    ];
}
