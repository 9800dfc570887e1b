namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>People chatting in their own words a few times a week, evenings and weekends, with follow-ups.</summary>
internal sealed class CasualChat : Archetype
{
    public override string Name => "casual-chat";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 1500;
    public override string Description => "Individuals chatting a few times a week in their own words: leisure hours, short multi-turn sessions, streaming.";

    /// <summary>Median sessions per day; per-account rates are log-normal around it (heavy-tailed engagement).</summary>
    public double SessionsPerDay { get; init; } = 0.35;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var rate = rng.LogNormal(SessionsPerDay, 0.9);
        var temperature = rng.Chance(0.8) ? (double?)null : 0.7;
        foreach (var start in ArrivalProcess.Diurnal(rng, run.Start, run.End, rate, run.Account.UtcOffset, ArrivalProcess.Rhythm.Leisure, 1.3))
        {
            foreach (var r in Conversation(run, start, null, 1 + rng.Poisson(1.2),
                turn => turn == 0 ? ChatPrompts.Opening(run.Corpus, rng) : ChatPrompts.FollowUp(run.Corpus, rng),
                _ => (int)Math.Clamp(rng.LogNormal(220, 0.7), 10, 2000),
                r => r with { Stream = true, Temperature = temperature }))
            {
                yield return r;
            }
        }
    }
}
