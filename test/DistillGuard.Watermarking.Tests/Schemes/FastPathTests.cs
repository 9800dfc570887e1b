using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Watermarking.Tests.Schemes;

/// <summary>The vectorised hooks and the product-form detector decide exactly what the scalar PRF says.</summary>
public sealed class FastPathTests
{
    private static readonly WatermarkKey Key = new WatermarkKey(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()).DeriveEpoch(0);

    [Theory]
    [InlineData(1, 0, 1_024)]
    [InlineData(16, 11, 1_027)]
    [InlineData(16, 15, 5)]
    public void GreenListHook_MarksExactlyTheScalarGreenCandidates(int buckets, int payload, int candidates)
    {
        var parameters = WatermarkParameters.GreenListDefaults with { PayloadBuckets = buckets };
        var processor = new GreenListProcessor(Key, parameters, payload);
        var random = new Random(7);
        var ids = Enumerable.Range(0, candidates).Select(_ => random.Next(50_257)).ToArray();
        ids[0] = 50_256; // wraps around the vocabulary when shifted
        var logits = new float[candidates];
        int[] previous = [17, 4_000, 31_337];

        processor.Process(new LogitsContext(previous, generatedCount: 1, greedy: false), ids, logits);

        var seed = Key.WindowSeed((byte)'G', previous.AsSpan(1));
        var threshold = WatermarkKey.GreenThreshold(parameters.Gamma);
        for (var i = 0; i < candidates; i++)
        {
            var id = (ids[i] + payload) % 50_257;
            Assert.Equal(WatermarkKey.TokenBits(seed, id) < threshold ? 2f : 0f, logits[i]);
        }

        // About γ of the candidates are green.
        Assert.InRange(logits.Count(l => l > 0) / (double)candidates, candidates < 100 ? 0 : 0.2, candidates < 100 ? 1 : 0.3);
    }

    [Fact]
    public void TokenValue_ComparedWithTheWideThreshold_AgreesWithTheNarrowOne()
    {
        foreach (var gamma in new[] { 0.25, 0.1, 1.0 / 3, 0.5 })
        {
            var wide = (ulong)(gamma * 18446744073709551616.0);
            var narrow = WatermarkKey.GreenThreshold(gamma);
            for (var id = 0; id < 4_096; id++)
            {
                Assert.Equal(WatermarkKey.TokenValue(0x0123456789ABCDEFUL, id) < wide, WatermarkKey.TokenBits(0x0123456789ABCDEFUL, id) < narrow);
            }

            Assert.Equal(narrow, (uint)Math.Ceiling(gamma * 4294967296.0));
        }
    }

    [Fact]
    public void GumbelHook_PicksArgmaxOfRToTheOneOverP()
    {
        var processor = new GumbelProcessor(Key, WatermarkParameters.GumbelDefaults);
        var random = new Random(11);
        int[] previous = [5, 6, 7, 8, 9];
        for (var trial = 0; trial < 50; trial++)
        {
            var candidates = random.Next(2, 700);
            var ids = Enumerable.Range(0, candidates).Select(_ => random.Next(50_257)).ToArray();
            var logits = ids.Select(_ => (float)(random.NextDouble() * 6)).ToArray();
            logits[0] = float.NegativeInfinity;
            previous[^1] = trial;

            // The definition, in doubles: p from the softmax, score ln(r) / p.
            var seed = Key.WindowSeed((byte)'E', previous.AsSpan(1));
            var max = logits.Max();
            var total = logits.Sum(l => Math.Exp(l - max));
            var expected = Enumerable.Range(0, candidates)
                .Where(i => !float.IsNegativeInfinity(logits[i]))
                .MaxBy(i => Math.Log(WatermarkKey.ToUniform(WatermarkKey.TokenBits(seed, ids[i]))) / (Math.Exp(logits[i] - max) / total));

            processor.Process(new LogitsContext(previous, generatedCount: 1, greedy: false), ids, logits);

            Assert.Equal(expected, Array.IndexOf(logits, 0f));
            Assert.Equal(candidates - 1, logits.Count(float.IsNegativeInfinity));
        }
    }

    [Fact]
    public void GumbelDetector_ProductForm_EqualsTheSumOfPerTokenScores()
    {
        var random = new Random(3);
        var tokens = Enumerable.Range(0, 5_000).Select(_ => random.Next(50_257)).ToArray();
        var detector = new TokenDetector([Key, Key.DeriveEpoch(1)], WatermarkParameters.GumbelDefaults);

        var fast = detector.Detect(tokens);
        var coloured = detector.Detect(tokens, new DetectorOptions { Colour = true });
        var perToken = coloured.Tokens!.Where(t => t.State is "green" or "red").Sum(t => t.Score);

        Assert.Equal(fast.PValue, coloured.PValue);
        Assert.Equal(fast.ScoredTokens + 4, tokens.Length);
        // z = (x − n) / √n, so x = n + z √n; the colouring shows the best key's per-token scores.
        Assert.Equal(perToken, fast.ScoredTokens + (fast.ZScore * Math.Sqrt(fast.ScoredTokens)), 6);
    }

    [Fact]
    public void TupleSet_KeepsTheTupleThatPacksToZero()
    {
        using var set = new TupleSet(4, 7);
        Assert.True(TupleSet.TryPack([0, 0, 0, 0, 0, 0, 57_344], 0, out var lo, out var hi));
        Assert.Equal(0UL, lo | hi);

        Assert.True(set.Add(lo, hi));
        Assert.False(set.Add(lo, hi));
        for (ulong i = 1; i < 100; i++)
        {
            Assert.True(set.Add(i, i * 3));
        }

        Assert.False(set.Add(42, 126));
        Assert.False(set.Add(0, 0));
    }

    [Fact]
    public void NarrowTupleSet_ForShortWindows_IsExactThroughGrowth()
    {
        using var set = new TupleSet(2, 2);
        Assert.True(TupleSet.TryPack([0, 0], 0, out var lo, out var hi));
        Assert.True(set.Add(lo, hi));
        Assert.False(set.Add(lo, hi));
        for (var token = 1; token < 1_000; token++)
        {
            TupleSet.TryPack([token % 7, token % 11], token, out lo, out hi);
            Assert.True(set.Add(lo, hi));
        }

        for (var token = 1; token < 1_000; token++)
        {
            TupleSet.TryPack([token % 7, token % 11], token, out lo, out hi);
            Assert.False(set.Add(lo, hi));
        }
    }
}
