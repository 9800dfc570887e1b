using System.Text;

namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>Benchmark runs: templated, very broad, step-by-step, logprobs, n &gt; 1, thousands of items in bursts (L3).</summary>
internal sealed class EvalResearcher : Archetype
{
    public override string Name => "eval-researcher";
    public override bool IsAttacker => false;
    public override int DefaultAccounts => 15;
    public override string Description => "Benchmark/eval researchers: runs of hundreds to thousands of templated items over every topic, step-by-step, logprobs, n > 1.";
    public override double RateLimitedShare => 0.01;

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var runs = rng.Between(1, 3);
        var days = Math.Max(1, (int)run.Days);
        var starts = Enumerable.Range(0, runs)
            .Select(_ => run.Start.AddDays(rng.Next(days)).AddHours(rng.Uniform(8, 18)) - run.Account.UtcOffset)
            .Order()
            .ToArray();
        var t = run.Start;
        foreach (var runStart in starts)
        {
            t = runStart > t ? runStart : t;
            var format = rng.Next(3);
            var items = rng.Between(300, 1500);
            var stepByStep = rng.Chance(0.5);
            var n = format == 2 ? rng.Pick(new[] { 4, 5, 8 }) : 1;
            for (var i = 0; i < items && t < run.End; i++)
            {
                var concept = run.Corpus.Concept(rng);
                var prompt = format switch
                {
                    0 => MultipleChoice(run.Corpus, rng, concept),
                    1 => $"Q: In the field of {run.Corpus.Topic(concept)}, what is meant by \"{run.Corpus.Lemma(concept)}\"?{(stepByStep ? " Let's think step by step." : "")}\nA:",
                    _ => $"Question: {run.Corpus.Sentence(rng)}\nIs the statement above literal or figurative? Think step by step, then answer with one word.",
                };
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
