namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A2: one account, one template, volume kept at an ordinary heavy user's level for weeks.</summary>
internal sealed class LowAndSlow : Archetype
{
    public override string Name => "low-and-slow";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 5;
    public override string Description => "A single account harvesting with one template at an ordinary heavy user's volume, spread over the day.";

    public double PerDay { get; init; } = 60;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var system = run.Phrasing.Persona(rng);
        var template = run.Phrasing.Elicitation(rng);
        foreach (var t in ArrivalProcess.Diurnal(rng, run.Start, run.End, PerDay, run.Account.UtcOffset, ArrivalProcess.Rhythm.Working, 1.0))
        {
            yield return Harvest(run, t, system, template);
        }
    }
}
