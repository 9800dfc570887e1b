using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Semantics.Distribution;
using DistillGuard.Semantics.Embeddings;
using DistillGuard.Semantics.Tests.Embeddings;

namespace DistillGuard.Semantics.Tests.Distribution;

[Collection(EmbedderCollection.Name)]
public sealed class MaximumMeanDiscrepancyTests(SharedEmbedder shared)
{
    // A benign population in miniature: unit vectors around 12 topic centres in 32 dimensions.
    private sealed class Mixture(int seed)
    {
        private const int Dimensions = 32;
        private readonly Random _random = new(seed);
        private readonly float[][] _centres = Centres(seed);

        public float[] Draw(int? topic = null)
        {
            var centre = _centres[topic ?? _random.Next(_centres.Length)];
            var v = new float[Dimensions];
            for (var d = 0; d < Dimensions; d++)
            {
                v[d] = centre[d] + (0.35f * (float)Normal(_random));
            }

            return Unit(v);
        }

        private static float[][] Centres(int seed)
        {
            var random = new Random(seed + 1);
            return [.. Enumerable.Range(0, 12).Select(_ => Unit([.. Enumerable.Range(0, Dimensions).Select(_ => (float)Normal(random))]))];
        }

        private static double Normal(Random random) =>
            Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

        private static float[] Unit(float[] v)
        {
            var norm = MathF.Sqrt(v.Sum(x => x * x));
            return [.. v.Select(x => x / norm)];
        }
    }

    [Fact]
    public void PermutationPValue_BenignAgainstBenign_IsUniform()
    {
        var mixture = new Mixture(seed: 7);
        var random = new Random(11);
        var cohort = Enumerable.Range(0, 48).Select(_ => mixture.Draw()).ToArray();
        var bandwidth = MaximumMeanDiscrepancy.MedianBandwidth(cohort);
        var pValues = new List<double>();
        for (var trial = 0; trial < 300; trial++)
        {
            var account = Enumerable.Range(0, 12).Select(_ => mixture.Draw()).ToArray();
            var reference = Enumerable.Range(0, 48).Select(_ => mixture.Draw()).ToArray();
            pValues.Add(MaximumMeanDiscrepancy.PermutationPValue(account, reference, bandwidth, 99, random));
        }

        // Kolmogorov–Smirnov distance to U(0, 1); 1.63/√n is the 1 % critical value.
        pValues.Sort();
        var ks = pValues.Select((p, i) => Math.Max(Math.Abs(p - ((i + 1.0) / pValues.Count)), Math.Abs(p - ((double)i / pValues.Count)))).Max();
        Assert.True(ks < 1.63 / Math.Sqrt(pValues.Count), $"KS distance {ks:F3}");
        var small = pValues.Count(p => p <= 0.05) / (double)pValues.Count;
        Assert.InRange(small, 0.02, 0.09);
    }

    [Fact]
    public void PermutationPValue_OneTopicAccount_IsSmall()
    {
        var mixture = new Mixture(seed: 7);
        var random = new Random(13);
        var flagged = 0;
        for (var trial = 0; trial < 50; trial++)
        {
            var account = Enumerable.Range(0, 12).Select(_ => mixture.Draw(topic: trial % 12)).ToArray();
            var reference = Enumerable.Range(0, 48).Select(_ => mixture.Draw()).ToArray();
            var bandwidth = MaximumMeanDiscrepancy.MedianBandwidth(reference);
            flagged += MaximumMeanDiscrepancy.PermutationPValue(account, reference, bandwidth, 199, random) <= 0.01 ? 1 : 0;
        }

        Assert.True(flagged >= 48, $"{flagged} of 50 one-topic accounts at p ≤ 0.01");
    }

    [Fact]
    public void PermutationPValue_RealEmbeddings_SeparatesTemplatedFromVaried()
    {
        var cache = new EmbeddingCache(shared.Embedder);
        var varied = cache.Get(Prompts.Varied);
        var paraphrases = cache.Get(Prompts.Paraphrases);
        var bandwidth = MaximumMeanDiscrepancy.MedianBandwidth(varied);

        var templated = MaximumMeanDiscrepancy.PermutationPValue(paraphrases[..10], varied, bandwidth, 999, new Random(3));
        var casual = MaximumMeanDiscrepancy.PermutationPValue(varied[..10], varied[10..], bandwidth, 999, new Random(3));

        Assert.True(templated <= 0.002, $"templated p {templated}");
        Assert.True(casual > 0.05, $"casual p {casual}");
    }

    [Fact]
    public void CohortMmd_TemplatedAccount_ExceedsCasualAccounts()
    {
        var features = new SemanticFeatures(new EmbeddingCache(shared.Embedder), new SemanticOptions { CohortContributions = 2, MmdReference = 16 });
        var engine = new DetectionEngine(new DetectionCalibration()) { Extension = features };
        var start = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
        var casual = Prompts.Varied.Concat(Prompts.Varied.Select(p => "Quick question: " + p)).ToArray();
        for (var a = 0; a < 10; a++)
        {
            for (var i = 0; i < 10; i++)
            {
                var prompt = casual[((a * 7) + (i * 3)) % casual.Length];
                engine.Observe(Prompts.Event("casual-" + a, start.AddMinutes((a * 60) + (i * 5)), prompt, i));
            }
        }

        for (var i = 0; i < 20; i++)
        {
            engine.Observe(Prompts.Event("templated", start.AddMinutes(700 + (i * 2)), Prompts.Paraphrases[i], i));
        }

        var now = start.AddDays(1);
        var templated = engine.Features("templated", now)![DetectorKind.CohortMmd];
        var largestCasual = Enumerable.Range(0, 10).Max(a => engine.Features("casual-" + a, now)![DetectorKind.CohortMmd]);

        Assert.True(templated > 2 * largestCasual, $"templated MMD² {templated:F4}, largest casual {largestCasual:F4}");
    }
}
