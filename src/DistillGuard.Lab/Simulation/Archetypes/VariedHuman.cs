namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>
/// Held out (legitimate): one person's assorted week — errands, writing, code, now and then a long explanation — in
/// whatever settings a playground leaves them at (temperature, length limit), at human hours.
/// </summary>
internal sealed class VariedHuman : Archetype
{
    public override string Name => "varied-human";
    public override bool IsAttacker => false;
    public override bool HeldOut => true;
    public override int DefaultAccounts => 150;
    public override string Description => "Held out: individuals with assorted asks (errands, writing, code, occasional long explanations), changing temperatures and length limits, human hours.";

    /// <summary>Median sessions per day (log-normal per account).</summary>
    public double SessionsPerDay { get; init; } = 1.2;

    private static readonly double?[] s_temperatures = [null, null, 0.2, 0.7, 1.0, 1.3];
    private static readonly int?[] s_limits = [null, null, 256, 1024, 2048];

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var corpus = run.Corpus;
        var rate = rng.LogNormal(SessionsPerDay, 0.6);
        var rhythm = rng.Chance(0.5) ? ArrivalProcess.Rhythm.Working : ArrivalProcess.Rhythm.Leisure;
        foreach (var start in ArrivalProcess.Diurnal(rng, run.Start, run.End, rate, run.Account.UtcOffset, rhythm, 1.1))
        {
            var kind = rng.Next(10);
            var temperature = rng.Pick(s_temperatures);
            var limit = rng.Pick(s_limits);
            var stream = rng.Chance(0.5);
            var language = rng.Pick(CodePrompts.Languages);
            var first = kind switch
            {
                < 6 => AttackPrompts.Fill(run.Phrasing.HumanAsk(rng), corpus, corpus.Concept(rng), rng),
                < 8 => CodePrompts.Question(corpus, rng, language),
                8 => $"Can you explain {corpus.Lemma(corpus.Concept(rng))} properly? I want to really understand it, with examples and the history.",
                _ => ChatPrompts.Opening(corpus, rng),
            };
            var length = kind == 8 ? 900.0 : kind is 6 or 7 ? 400 : 200;
            foreach (var r in Conversation(run, start, null, 1 + rng.Poisson(1.5),
                turn => turn == 0 ? first : kind is 6 or 7 ? CodePrompts.FollowUp(corpus, rng, language) : ChatPrompts.FollowUp(corpus, rng),
                _ => (int)Math.Clamp(rng.LogNormal(length, 0.6), 5, 3000),
                r => r with { Temperature = temperature, MaxTokens = limit is { } l ? run.Cap(l) : null, Stream = stream }))
            {
                yield return r;
            }
        }
    }
}
