namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A15: parameter stealing — logprob and top-logprob sweeps, temperature sweeps, n &gt; 1, one-token answers (Carlini 2024; Finlayson 2024).</summary>
internal sealed class LogprobProber : Archetype
{
    public override string Name => "logprob-prober";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 3;
    public override string Description => "Probes the output distribution: top_logprobs sweeps on short prefixes, temperature sweeps, n > 1, max_tokens 1.";
    public override double BadRequestShare => 0.02;

    public double PerHour { get; init; } = 20;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var step = 0;
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, PerHour))
        {
            var sentence = run.Corpus.Sentence(rng).Split(' ');
            var prefix = string.Join(' ', sentence.Take(rng.Between(2, Math.Max(2, sentence.Length - 1))));
            var sweep = step++ % 3;
            yield return Single(t, null, prefix, 1) with
            {
                MaxTokens = sweep == 2 ? 16 : 1,
                Logprobs = true,
                TopLogprobs = sweep == 0 ? 20 : 5,
                Temperature = sweep == 1 ? Math.Round(0.25 * (step % 9), 2) : 1.0,
                N = sweep == 2 ? 8 : 1,
                Seed = step,
            };
        }
    }
}
