namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>L-casual: people chatting in their own words a few times a week, evenings and weekends, with follow-ups.</summary>
internal sealed class CasualChat : Archetype
{
    public override string Name => "casual-chat";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 1500;
    public override string Description => "Individuals chatting a few times a week in their own words: leisure hours, short multi-turn sessions, streaming.";

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        // Heavy-tailed engagement: most people come back a couple of times a week, a few every day.
        var sessionsPerDay = rng.LogNormal(0.35, 0.9);
        foreach (var start in ArrivalProcess.Diurnal(rng, run.Start, run.End, sessionsPerDay, run.Account.UtcOffset, ArrivalProcess.Rhythm.Leisure, 1.3))
        {
            var session = run.NewSession();
            var history = new List<ChatTurn>();
            var turns = 1 + rng.Poisson(1.2);
            var t = start;
            for (var turn = 0; turn < turns; turn++)
            {
                var user = turn == 0 ? ChatPrompts.Opening(run.Corpus, rng) : ChatPrompts.FollowUp(run.Corpus, rng);
                history.Add(new ChatTurn("user", user));
                var answer = (int)Math.Clamp(rng.LogNormal(220, 0.7), 10, 2000);
                yield return new PlannedRequest
                {
                    Timestamp = t,
                    Messages = [.. history],
                    AnswerTokens = answer,
                    Stream = true,
                    Temperature = rng.Chance(0.8) ? null : 0.7,
                    SessionId = session,
                };
                history.Add(new ChatTurn("assistant", ChatPrompts.AnswerStandIn(run.Corpus, rng, answer)));
                t += ArrivalProcess.ThinkTime(rng);
            }
        }
    }
}
