namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>
/// Held out: a distribution prober that stays within four sampling settings — four temperatures, each with n = 4 and
/// top_logprobs 20 — so no request is a fifth setting (Carlini et al. 2024 and Finlayson et al. 2024 read the output
/// distribution this way).
/// </summary>
internal sealed class FourSettingProber : Archetype
{
    public override string Name => "four-setting-prober";
    public override bool IsAttacker => true;
    public override bool HeldOut => true;
    public override int DefaultAccounts => 3;
    public override string Description => "Held out: Brown-sentence prefixes swept over four temperatures with n = 4, logprobs and top_logprobs 20, max_tokens 8.";
    public override double BadRequestShare => 0.02;

    public double PerHour { get; init; } = 20;

    /// <summary>The four temperatures swept, in turn.</summary>
    public static readonly double[] Temperatures = [0.25, 0.5, 0.75, 1.0];

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var step = 0;
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, PerHour))
        {
            var words = run.Corpus.Sentence(rng).Split(' ');
            var prefix = string.Join(' ', words.Take(rng.Between(2, Math.Max(2, words.Length - 1))));
            yield return Single(t, null, prefix, (int)rng.LogNormal(4, 0.5)) with
            {
                MaxTokens = 8,
                Logprobs = true,
                TopLogprobs = 20,
                Temperature = Temperatures[step++ % Temperatures.Length],
                N = 4,
            };
        }
    }
}
