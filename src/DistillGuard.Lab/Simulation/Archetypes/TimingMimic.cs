namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A6: harvests with human-like timing — diurnal sessions, think-time gaps, weekends off — copied from developers.</summary>
internal sealed class TimingMimic : Archetype
{
    public override string Name => "timing-mimic";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 4;
    public override string Description => "Harvester that copies human timing: working-hours sessions, think-time gaps between requests, quiet weekends.";

    public double SessionsPerDay { get; init; } = 12;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var system = run.Phrasing.Persona(rng);
        var template = run.Phrasing.Elicitation(rng);
        foreach (var start in ArrivalProcess.Diurnal(rng, run.Start, run.End, SessionsPerDay, run.Account.UtcOffset, ArrivalProcess.Rhythm.Working, 0.25))
        {
            // A "session" of independent harvesting requests paced like a person reading answers.
            var t = start;
            for (var i = rng.Between(2, 10); i > 0 && t < run.End; i--)
            {
                yield return Harvest(run, t, system, template) with { Stream = true };
                t += ArrivalProcess.ThinkTime(rng, 60);
            }
        }
    }
}
