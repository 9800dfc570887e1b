namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A9: reasoning-trace extraction — reconstruct reasoning behind answers, rubric grading, task generation, safe rewrites (DeepSeek).</summary>
internal sealed class ReasoningExtractor : Archetype
{
    public override string Name => "reasoning-extractor";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 4;
    public override string Description => "Extracts reasoning traces: 'show every step', reasoning behind finished answers, rubric grading, 'generate N diverse tasks', safe rewrites.";

    public double PerHour { get; init; } = 25;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var system = run.Phrasing.Persona(rng);
        // Each operator settles on a few templates across the four families (the disclosed campaigns mixed them).
        string[] templates = [run.Phrasing.Elicitation(rng), rng.Pick(AttackPrompts.RubricTemplates), rng.Pick(AttackPrompts.TaskGenerationTemplates), rng.Pick(AttackPrompts.RewriteTemplates)];
        double[] weights = [0.5, 0.2, 0.2, 0.1];
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, PerHour))
        {
            var u = rng.NextDouble();
            var family = u < weights[0] ? 0 : u < weights[0] + weights[1] ? 1 : u < 0.9 ? 2 : 3;
            var user = AttackPrompts.Fill(templates[family], run.Corpus, run.Corpus.Concept(rng), rng);
            yield return Single(t, system, user, (int)rng.LogNormal(family == 1 ? 400 : 1500, 0.4)) with
            {
                MaxTokens = run.Cap(4096),
                Temperature = family == 1 ? 0 : 0.7,
            };
        }
    }
}
