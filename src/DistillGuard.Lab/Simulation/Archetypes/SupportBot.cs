namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A company's support bot: one fixed system prompt, diverse end-user turns around the clock (L12).</summary>
internal sealed class SupportBot : Archetype
{
    public override string Name => "support-bot";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 20;
    public override string Description => "Customer-support bots: one fixed system prompt per company, diverse end-user conversations, 24x7 with a daily rhythm.";

    private static readonly string[] s_openers =
    [
        "Hi, my {0} stopped working.", "I want a refund for my {0}.", "Where is my order? I ordered a {0} last week.",
        "How do I set up the {0}?", "Can I change the delivery address for my {0}?", "Do you sell replacement parts for the {0}?",
        "The {0} I received is not what I ordered.", "hello?? nobody is answering my emails about the {0}",
    ];

    public double ConversationsPerDay { get; init; } = 80;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var corpus = run.Corpus;
        var product = corpus.Lemma(corpus.ConceptIn(rng, corpus.LexfileIndex("noun.artifact")));
        var system = $"You are the customer support assistant for {run.Account.Org}, which sells {product} and related accessories. " +
                     "Be friendly and concise. Never promise refunds above the order value. Escalate legal questions to a human. " +
                     $"Opening hours: {rng.Between(7, 10)}:00-{rng.Between(17, 21)}:00. Support reference: {run.Account.Org}-kb-{rng.Between(1, 99)}.";
        var rate = ConversationsPerDay * rng.LogNormal(1, 0.5);
        foreach (var start in ArrivalProcess.Diurnal(rng, run.Start, run.End, rate, run.Account.UtcOffset, ArrivalProcess.Rhythm.Leisure, 1.0))
        {
            var item = rng.Chance(0.5) ? product : corpus.Lemma(corpus.ConceptIn(rng, corpus.LexfileIndex("noun.artifact")));
            foreach (var r in Conversation(run, start, system, 1 + rng.Poisson(1.0),
                turn => turn == 0 ? string.Format(System.Globalization.CultureInfo.InvariantCulture, rng.Pick(s_openers), item) : corpus.Sentence(rng),
                _ => (int)rng.LogNormal(90, 0.5),
                r => r with { Temperature = 0.3, MaxTokens = 400 }, thinkSeconds: 30))
            {
                yield return r;
            }
        }
    }
}
