using System.Text;

namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>
/// Benchmark runs (L3): a fixed, public item set re-run under several settings — greedy, chain-of-thought, sampled
/// pass@k — so the same items come back run after run; short graded answers, temperature 0 and logprobs for scoring.
/// </summary>
/// <remarks>
/// A benchmark is a frozen list of items that every lab runs (that is what makes scores comparable), so its items
/// come from a stream that depends on the benchmark alone, never on the scenario's seed. A week of evaluation work
/// runs one or two benchmarks under two to five settings; a run walks the items in order, or a fixed dev split of them.
/// </remarks>
internal sealed class EvalResearcher : Archetype
{
    /// <summary>Public benchmarks in the catalogue (formats cycle: multiple choice, short QA, classification).</summary>
    public const int Benchmarks = 9;

    // Fixed: a public benchmark is the same in every scenario.
    private const int BenchmarkSeed = 0x3E7A1;

    public override string Name => "eval-researcher";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 15;
    public override string Description => "Benchmark/eval researchers: fixed public item sets re-run under 2–5 settings (greedy, step-by-step, pass@k), short graded answers, logprobs, temperature 0.";
    public override double RateLimitedShare => 0.01;

    /// <summary>Share of research accounts on the provider's verified-research tier (the rest pay as they go).</summary>
    public double VerifiedShare { get; init; } = 0.5;

    public override IReadOnlyList<SimulatedAccount> CreateAccounts(AccountFactory factory, int count) =>
        [.. base.CreateAccounts(factory, count).Select(a => factory.Random.Chance(VerifiedShare) ? a with { Tier = AccessTiers.VerifiedResearch, Verified = true } : a)];

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var studied = Enumerable.Range(0, rng.Between(1, 2)).Select(_ => rng.Next(Benchmarks)).Distinct().ToArray();
        var runs = rng.Between(2, 5);
        var days = Math.Max(1, (int)run.Days);
        var starts = Enumerable.Range(0, runs)
            .Select(_ => run.Start.AddDays(rng.Next(days)).AddHours(rng.Uniform(8, 18)) - run.Account.UtcOffset)
            .Order()
            .ToArray();
        var t = run.Start;
        for (var r = 0; r < starts.Length; r++)
        {
            t = starts[r] > t ? starts[r] : t;
            var benchmark = studied[r % studied.Length];
            var format = benchmark % 3;
            var size = BenchmarkSize(benchmark);
            // Quick checks run a fixed dev split (the first fifth); full runs take every item.
            var items = rng.Chance(0.3) ? size / 5 : size;
            var stepByStep = format != 0 && rng.Chance(0.5);
            var n = format == 2 && rng.Chance(0.5) ? rng.Pick(new[] { 4, 5, 8 }) : 1;
            for (var i = 0; i < items && t < run.End; i++)
            {
                var prompt = Item(run.Corpus, benchmark, i, stepByStep);
                var request = Single(t, null, prompt, format == 0 ? 1 : (int)rng.LogNormal(stepByStep ? 250 : 40, 0.5)) with
                {
                    Temperature = n > 1 ? 0.7 : 0,
                    N = n,
                    Logprobs = format == 0,
                    TopLogprobs = format == 0 ? 5 : null,
                    MaxTokens = format == 0 ? 1 : run.Cap(512),
                    Seed = 1234,
                };
                yield return request;
                // Evaluation harnesses run a few concurrent workers: steady, fast pacing.
                t += TimeSpan.FromSeconds(rng.LogNormal(1.5, 0.4));
            }
        }
    }

    /// <summary>Items in a benchmark (300–1,500, fixed per benchmark).</summary>
    internal static int BenchmarkSize(int benchmark) => SimulationRandom.For(BenchmarkSeed, "benchmark-size", benchmark).Between(300, 1500);

    /// <summary>Item <paramref name="index"/> of a benchmark: the same text in every run, account and scenario.</summary>
    internal static string Item(PromptCorpus corpus, int benchmark, int index, bool stepByStep)
    {
        var rng = SimulationRandom.For(BenchmarkSeed, $"benchmark-{benchmark}", index);
        var concept = corpus.Concept(rng);
        return (benchmark % 3) switch
        {
            0 => MultipleChoice(corpus, rng, concept),
            1 => $"Q: In the field of {corpus.Topic(concept)}, what is meant by \"{corpus.Lemma(concept)}\"?{(stepByStep ? " Let's think step by step." : "")}\nA:",
            _ => $"Question: {corpus.Sentence(rng)}\nIs the statement above literal or figurative? {(stepByStep ? "Think step by step, then answer" : "Answer")} with one word.",
        };
    }

    private static string MultipleChoice(PromptCorpus corpus, SimulationRandom rng, int concept)
    {
        var options = new[] { concept, corpus.Concept(rng), corpus.Concept(rng), corpus.Concept(rng) };
        var correct = rng.Next(4);
        (options[0], options[correct]) = (options[correct], options[0]);
        var text = new StringBuilder("Which word matches the definition: \"").Append(corpus.Gloss(concept)).Append("\"?\n");
        for (var i = 0; i < 4; i++)
        {
            text.Append((char)('A' + i)).Append(") ").Append(corpus.Lemma(options[i])).Append('\n');
        }

        return text.Append("Answer:").ToString();
    }
}
