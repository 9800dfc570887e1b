namespace DistillGuard.Lab.Simulation;

/// <summary>What to simulate: seed, virtual time span, population size and mix.</summary>
public sealed class ScenarioOptions
{
    /// <summary>Seeds every random choice: the same options give the same events.</summary>
    public int Seed { get; set; }

    /// <summary>Virtual start time (default: Monday 2 March 2026, 00:00 UTC).</summary>
    public DateTimeOffset Start { get; set; } = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    public TimeSpan Duration { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Multiplies every archetype's account count (at least one account per archetype that has any).</summary>
    public double Scale { get; set; } = 1.0;

    /// <summary>Accounts per archetype before scaling; archetypes not listed keep their default count, 0 removes one.</summary>
    public IReadOnlyDictionary<string, int>? AccountsPerArchetype { get; set; }

    /// <summary>False to simulate only legitimate traffic (for calibration).</summary>
    public bool IncludeAttackers { get; set; } = true;

    /// <summary>The model name requests ask for.</summary>
    public string Model { get; set; } = "dg-teacher";

    /// <summary>Fixes the reseller archetype's distillation share (0–1); null draws it per account from 5–50 %.</summary>
    public double? ResellerDistillationShare { get; set; }

    /// <summary>The provider's ceiling on completion tokens; requests never ask for more.</summary>
    public int MaxTokensCeiling { get; set; } = 4096;

    /// <summary>
    /// Adds the held-out archetypes (families no detector was developed or calibrated on). Off by default, so
    /// calibration and development traffic never hold them.
    /// </summary>
    public bool IncludeHeldOut { get; set; }

    /// <summary>Where templated prompts come from: the simulator's templates (default), WordNet rewrites of them, or the held-out set.</summary>
    public PhrasingSource Phrasings { get; set; } = PhrasingSource.Simulator;
}
