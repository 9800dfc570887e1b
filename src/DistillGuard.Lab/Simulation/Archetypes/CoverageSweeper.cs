namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A7: systematic breadth over the WordNet taxonomy — every category of every topic in turn, Evol-Instruct style.</summary>
internal sealed class CoverageSweeper : Archetype
{
    public override string Name => "coverage-sweeper";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 3;
    public override string Description => "Sweeps the topic taxonomy breadth-first (all WordNet topics, then categories, then concepts) with a few task templates, 24x7.";

    public double PerHour { get; init; } = 40;

    private static readonly string[] s_templates =
    [
        "Give a comprehensive, expert-level explanation of {0}, a kind of {1}. Cover definition, mechanisms, examples and common misconceptions, reasoning step by step.",
        "Write a challenging exam question about {0} (in the area of {2}) and a complete worked answer.",
        "Rewrite this instruction to make it harder and more specific, then answer it in full: \"Explain {0}.\"",
    ];

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var corpus = run.Corpus;
        // Interleave categories by topic so coverage grows as fast as possible: topic 1's first category, topic 2's first, ...
        var byTopic = corpus.Categories
            .GroupBy(corpus.LexfileOf)
            .Select(g => g.OrderBy(_ => rng.NextUInt64()).ToArray())
            .OrderBy(_ => rng.NextUInt64())
            .ToArray();
        var order = Enumerable.Range(0, byTopic.Max(g => g.Length))
            .SelectMany(i => byTopic.Where(g => i < g.Length).Select(g => g[i]))
            .ToArray();
        var next = rng.Next(order.Length);
        var system = run.Phrasing.Persona(rng);
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, PerHour))
        {
            var category = order[next++ % order.Length];
            var concept = rng.Pick(corpus.ChildrenOf(category));
            var user = string.Format(System.Globalization.CultureInfo.InvariantCulture, rng.Pick(s_templates),
                corpus.Lemma(concept), corpus.Lemma(category), corpus.Topic(concept));
            yield return Single(t, system, user, (int)rng.LogNormal(1100, 0.4)) with { MaxTokens = run.Cap(4096), Temperature = 0.8 };
        }
    }
}
