namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A5: every prompt reworded from interchangeable parts, random personas, shuffled formats — defeats exact and near-duplicate matching.</summary>
internal sealed class ParaphrasingAdaptive : Archetype
{
    public override string Name => "paraphrasing-adaptive";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 4;
    public override string Description => "Adaptive harvester: each prompt composed from varied openers, asks, reasoning clauses and formats, with random personas.";

    public double PerHour { get; init; } = 15;

    private static readonly string[] s_openers =
    [
        "", "Quick question. ", "I'm curious about something. ", "Hey! ", "For a project I'm doing: ", "Please help. ",
        "My friend asked me this and I wasn't sure. ", "Here's something I've wondered about. ",
    ];

    private static readonly string[] s_asks =
    [
        "What is {0}?", "Could you tell me about {0}?", "How would you describe {0} to a newcomer?", "What should I know about {0}?",
        "Explain {0}, in the sense of {1}.", "Why does {0} matter?", "Walk me through {0}.", "I keep hearing about {0} - what is it?",
    ];

    private static readonly string[] s_reasoning =
    [
        " Take it one step at a time.", " Please reason it out carefully before answering.", " Show how you get there.",
        " Think it through out loud first.", " Lay out your thinking.", " Don't skip any part of the logic.", "", " Go slowly and explain each part.",
    ];

    private static readonly string[] s_formats =
    [
        "", " Use bullet points.", " Answer in two paragraphs.", " End with a one-line summary.", " Number the steps.", " Keep it detailed.",
    ];

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var corpus = run.Corpus;
        var person = corpus.LexfileIndex("noun.person");
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, PerHour))
        {
            var concept = corpus.Concept(rng);
            var ask = string.Format(System.Globalization.CultureInfo.InvariantCulture, rng.Pick(s_asks), corpus.Lemma(concept), corpus.Gloss(concept));
            var user = rng.Pick(s_openers) + ask + rng.Pick(s_reasoning) + rng.Pick(s_formats);
            var persona = rng.Chance(0.6) ? Persona(corpus.Lemma(corpus.ConceptIn(rng, person))) : null;
            yield return Single(t, persona, user, (int)rng.LogNormal(1200, 0.4)) with
            {
                MaxTokens = run.Cap(rng.Pick(new[] { 2048, 3000, 4096 })),
                Temperature = Math.Round(rng.Uniform(0.3, 1.0), 2),
                Stream = rng.Chance(0.5),
            };
        }
    }

    private static string Persona(string role) => $"You are {ChatPrompts.Article(role)} {role} who explains things thoroughly.";
}
