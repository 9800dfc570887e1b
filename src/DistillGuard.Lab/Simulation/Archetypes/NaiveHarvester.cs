namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A1: one account, one system prompt, one elicitation template over random concepts, flat 24×7 at high rate.</summary>
internal sealed class NaiveHarvester : Archetype
{
    public override string Name => "naive-harvester";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 3;
    public override string Description => "One account firing one chain-of-thought template around the clock at high rate (detection.md §6.1 A1).";
    public override double RateLimitedShare => 0.03;

    /// <summary>Mean requests per hour (around the clock).</summary>
    public double PerHour { get; init; } = 60;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var system = run.Phrasing.Persona(rng);
        var template = run.Phrasing.Elicitation(rng);
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, PerHour))
        {
            yield return Harvest(run, t, system, template);
        }
    }
}
