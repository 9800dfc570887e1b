namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>Individual developers: bursty working-hours debugging sessions, code in prompts, long answers (detection.md §6.2 L1).</summary>
internal sealed class Developer : Archetype
{
    public override string Name => "developer";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 400;
    public override string Description => "Developers debugging in bursts during working hours: code in the prompt, follow-ups, long answers.";
    public override double BadRequestShare => 0.005;

    public double SessionsPerDay { get; init; } = 1.5;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var language = rng.Pick(CodePrompts.Languages);
        var system = rng.Chance(0.5) ? "You are a helpful coding assistant." : null;
        var rate = rng.LogNormal(SessionsPerDay, 0.7);
        foreach (var start in ArrivalProcess.Diurnal(rng, run.Start, run.End, rate, run.Account.UtcOffset, ArrivalProcess.Rhythm.Working, 0.25))
        {
            foreach (var r in Conversation(run, start, system, 1 + rng.Poisson(2.5),
                turn => turn == 0 ? CodePrompts.Question(run.Corpus, rng, rng.Chance(0.8) ? language : rng.Pick(CodePrompts.Languages)) : CodePrompts.FollowUp(run.Corpus, rng, language),
                _ => (int)Math.Clamp(rng.LogNormal(450, 0.6), 20, 4000),
                r => r with { Stream = true, Temperature = 0.2, MaxTokens = rng.Chance(0.5) ? run.Cap(2048) : null }, thinkSeconds: 90))
            {
                yield return r;
            }
        }
    }
}
