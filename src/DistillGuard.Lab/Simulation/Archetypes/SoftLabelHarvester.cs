namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>
/// Held out: the cheapest useful harvest — short templated answers with their top-5 log-probabilities (soft labels for
/// knowledge distillation, Hinton et al. 2015), so the harvest is in the logprobs, not in answer length.
/// </summary>
internal sealed class SoftLabelHarvester : Archetype
{
    public override string Name => "soft-label-harvester";
    public override bool IsAttacker => true;
    public override bool HeldOut => true;
    public override int DefaultAccounts => 3;
    public override string Description => "Held out: 1,000 templated short-answer requests in one burst, logprobs with top_logprobs 5, max_tokens 12 (soft labels).";

    /// <summary>Requests in the burst.</summary>
    public int Requests { get; init; } = 1000;

    public double PerHour { get; init; } = 120;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var template = run.Phrasing.ShortAnswer(rng);
        // The burst starts within the first quarter of the window (at most two days in), so short scenarios hold it.
        var start = run.Start + TimeSpan.FromHours(rng.Uniform(0, Math.Min(48, (run.End - run.Start).TotalHours / 4)));
        foreach (var t in ArrivalProcess.Flat(rng, start, run.End, PerHour).Take(Requests))
        {
            yield return Single(t, null, AttackPrompts.Fill(template, run.Corpus, run.Corpus.Concept(rng), rng), (int)rng.LogNormal(5, 0.5)) with
            {
                MaxTokens = 12,
                Logprobs = true,
                TopLogprobs = 5,
                Temperature = 1.0,
            };
        }
    }
}
