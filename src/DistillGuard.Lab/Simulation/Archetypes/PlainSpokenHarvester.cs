namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>
/// Held out: a harvester at the naive harvester's pace and answer lengths whose reasoning requests avoid the detector's
/// elicitation lexicon (derivations asked for in other words; a test checks no lexicon phrase appears).
/// </summary>
internal sealed class PlainSpokenHarvester : Archetype
{
    public override string Name => "plain-spoken-harvester";
    public override bool IsAttacker => true;
    public override bool HeldOut => true;
    public override int DefaultAccounts => 3;
    public override string Description => "Held out: one persona and one reasoning template in words outside the detector's lexicon, 40/h around the clock, long answers.";
    public override double RateLimitedShare => 0.03;

    public double PerHour { get; init; } = 40;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var system = run.Phrasing.PlainPersona(rng);
        var template = run.Phrasing.PlainReasoning(rng);
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, PerHour))
        {
            yield return Harvest(run, t, system, template);
        }
    }
}
