using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Engines;

namespace DistillGuard.Watermarking.Tests.Engines;

public sealed class VllmGumbelDetectorTests
{
    private const int Vocabulary = 2_000;

    /// <summary>Draws <paramref name="length"/> tokens as vLLM's Gumbel sampler does: argmax of logit − ln(−ln u) under the key (or keys, routed by α).</summary>
    internal static int[] Sample(ulong key, int length, int seed, double? dualKeyAlpha = null, int width = 4)
    {
        var random = new Random(seed);
        var keys = dualKeyAlpha is null
            ? new[] { new VllmPhiloxPrf(key) }
            : [new VllmPhiloxPrf(VllmWatermarkKeys.DualKeyA(key)), new VllmPhiloxPrf(VllmWatermarkKeys.DualKeyB(key))];
        var logits = new double[Vocabulary];
        var ids = Enumerable.Range(0, Vocabulary).ToArray();
        var text = new int[length];
        var context = new int[width];
        for (var t = 0; t < length; t++)
        {
            // A peaked next-token distribution (a few likely tokens, a long tail), new at every step.
            for (var v = 0; v < Vocabulary; v++)
            {
                logits[v] = -3.0 * random.NextDouble() * Math.Log(v + 1);
            }

            var prf = keys[dualKeyAlpha is { } alpha && random.NextDouble() < alpha ? 1 : 0];
            VllmGumbelSampling.Context(text, t, context);
            text[t] = ids[VllmGumbelSampling.Choose(prf, context, ids, logits)];
        }

        return text;
    }

    [Fact]
    public void Detect_GumbelSampledText_IsWatermarked_OtherKeyIsNot()
    {
        var tokens = Sample(42, 200, seed: 1);
        var marked = new VllmGumbelDetector(42).Detect(tokens);
        Assert.True(marked.Watermarked, $"log10 p {marked.Log10PValue}");
        Assert.True(marked.Log10PValue < -10, $"log10 p {marked.Log10PValue}");
        Assert.Equal("vllm-gumbel", marked.Scheme);

        var other = new VllmGumbelDetector(43).Detect(tokens);
        Assert.False(other.Watermarked);
        Assert.True(other.PValue > 1e-3);
    }

    [Fact]
    public void Detect_DualKeySampledText_IsWatermarkedUnderTheDualKeyDetector()
    {
        var tokens = Sample(7, 200, seed: 2, dualKeyAlpha: 0.3);
        var dual = new VllmGumbelDetector(7, dualKeyAlpha: 0.3).Detect(tokens);
        Assert.True(dual.Watermarked, $"log10 p {dual.Log10PValue}");
        Assert.Equal("vllm-dual-key-gumbel", dual.Scheme);
        Assert.False(new VllmGumbelDetector(7).Detect(tokens).Watermarked); // the raw key marks nothing here
    }

    [Fact]
    public void Score_EmptyAndRepeated()
    {
        var detector = new VllmGumbelDetector(1);
        Assert.Equal(new VllmScore(0, 0, 0, 0), detector.Score([]));
        Assert.Equal(1.0, detector.Score([]).PValue);

        // One token repeated: contexts (−1,−1,−1,−1), (−1,−1,−1,5), …, (5,5,5,5), then (5,5,5,5) again and again.
        var repeated = Enumerable.Repeat(5, 40).ToArray();
        var result = detector.Score(repeated);
        Assert.Equal(5, result.ScoredTokens);
        Assert.Equal(35, result.RepeatedTokens);
        Assert.Equal(Verdicts.TooShort, detector.Detect(repeated).Verdict);
    }

    [Fact]
    public void Constructor_RejectsBadParameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new VllmGumbelDetector(1, contextWidth: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VllmGumbelDetector(1, dualKeyAlpha: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VllmGumbelDetector(1, dualKeyAlpha: double.NaN));
    }

    [Fact]
    public void Score_NegativeAndLargeIdsAndLongContexts()
    {
        // Ids above 2¹⁶ (Llama 3, Qwen vocabularies) and widths beyond one Philox block are handled exactly.
        var tokens = new[] { 128_000, 151_643, 3, 200_000, 7, 128_000, 151_643, 3, 200_000, 7 };
        for (var width = 1; width <= 9; width++)
        {
            var result = new VllmGumbelDetector(99, width).Score(tokens);
            Assert.InRange(result.ScoredTokens, 1, tokens.Length);
            Assert.True(result.Score > 0);
        }
    }
}
