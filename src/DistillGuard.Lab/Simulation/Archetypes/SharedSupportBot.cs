namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>
/// Held out (legitimate): shops that each deploy the same helpdesk vendor's bot, so many unrelated accounts send one
/// identical system prompt — a shared template that is not a campaign.
/// </summary>
internal sealed class SharedSupportBot : Archetype
{
    public override string Name => "shared-support-bot";
    public override bool IsAttacker => false;
    public override bool HeldOut => true;
    public override int DefaultAccounts => 30;
    public override string Description => "Held out: shops running one vendor's support bot (the same system prompt on every account), their own customers' conversations, 24x7.";

    public double ConversationsPerDay { get; init; } = 40;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var corpus = run.Corpus;
        var system = run.Phrasing.SupportSystem(rng);
        var artifacts = corpus.LexfileIndex("noun.artifact");
        var rate = ConversationsPerDay * rng.LogNormal(1, 0.6);
        foreach (var start in ArrivalProcess.Diurnal(rng, run.Start, run.End, rate, run.Account.UtcOffset, ArrivalProcess.Rhythm.Leisure, 1.0))
        {
            var opener = AttackPrompts.Fill(run.Phrasing.SupportTurn(rng), corpus, corpus.ConceptIn(rng, artifacts), rng);
            foreach (var r in Conversation(run, start, system, 1 + rng.Poisson(1.0),
                turn => turn == 0 ? opener : corpus.Sentence(rng),
                _ => (int)rng.LogNormal(90, 0.5),
                r => r with { Temperature = 0.3, MaxTokens = 300 }, thinkSeconds: 30))
            {
                yield return r;
            }
        }
    }
}
