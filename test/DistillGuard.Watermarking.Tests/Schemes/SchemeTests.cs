using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Watermarking.Tests.Schemes;

public sealed class SchemeTests(SmallModelFixture fixture) : IClassFixture<SmallModelFixture>
{
    private static readonly WatermarkKey Key = new WatermarkKey(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()).DeriveEpoch(0);

    private int[] Generate(ILogitsProcessor? processor, int seed, int tokens = 200, float temperature = 1f)
    {
        var generator = new TextGenerator(fixture.Model, TextTokenizer.Gpt2);
        var result = new List<int>();
        var prompt = TextTokenizer.Gpt2.Encode("The county court said that");
        for (var attempt = 0; result.Count < tokens && attempt < 100; attempt++)
        {
            foreach (var step in generator.Generate(new GenerationRequest { PromptTokens = [.. prompt, .. result], MaxTokens = tokens - result.Count, Seed = seed++, Temperature = temperature, LogitsProcessor = processor }))
            {
                result.AddRange(step.Tokens.Select(t => t.Id));
            }
        }

        return [.. result];
    }

    [Theory]
    [InlineData(WatermarkScheme.GreenList)]
    [InlineData(WatermarkScheme.Gumbel)]
    public void Generated_WithProcessor_IsDetected_WithoutIsNot(WatermarkScheme scheme)
    {
        var parameters = scheme == WatermarkScheme.GreenList ? WatermarkParameters.GreenListDefaults : WatermarkParameters.GumbelDefaults;
        var detector = new TokenDetector([Key], parameters);

        var marked = detector.Detect(Generate(WatermarkProcessors.Create(Key, parameters), seed: 1));
        var plain = detector.Detect(Generate(null, seed: 1));
        var wrongKey = new TokenDetector([Key.DeriveEpoch(9)], parameters).Detect(Generate(WatermarkProcessors.Create(Key, parameters), seed: 1));

        Assert.True(marked.PValue < 1e-5, $"p = {marked.PValue}");
        Assert.True(marked.Watermarked);
        Assert.False(plain.Watermarked);
        Assert.False(wrongKey.Watermarked);
    }

    [Fact]
    public void Payload_DecodesTheAccountBucket()
    {
        var parameters = WatermarkParameters.GreenListDefaults with { PayloadBuckets = 16 };
        var detector = new TokenDetector([Key], parameters);

        var result = detector.Detect(Generate(new GreenListProcessor(Key, parameters, payload: 11), seed: 3));

        Assert.True(result.Watermarked);
        Assert.Equal(11, result.Payload);
        Assert.Equal(16, result.PayloadsTried);
        Assert.InRange(AccountBuckets.Of(Key, "acct-42", 16), 0, 15);
        Assert.Equal(AccountBuckets.Of(Key, "acct-42", 16), AccountBuckets.Of(Key, "acct-42", 16));
    }

    [Fact]
    public void Greedy_AndRepeatedWindows_AreLeftAlone()
    {
        var processor = new GreenListProcessor(Key, WatermarkParameters.GreenListDefaults);
        int[] ids = [1, 2, 3, 4, 5, 6, 7, 8];
        var logits = new float[ids.Length];

        processor.Process(new LogitsContext([5, 6, 7, 8], generatedCount: 2, greedy: true), ids, logits);
        Assert.All(logits, l => Assert.Equal(0f, l));

        // Window (7, 8) already seeded the token after it earlier in this response: not marked again.
        processor.Process(new LogitsContext([9, 7, 8, 3, 7, 8], generatedCount: 5, greedy: false), ids, logits);
        Assert.All(logits, l => Assert.Equal(0f, l));

        processor.Process(new LogitsContext([9, 7, 8, 3, 7, 8], generatedCount: 1, greedy: false), ids, logits);
        Assert.Contains(logits, l => l == 2f);
    }

    [Fact]
    public void Windowed_FindsAMarkedSpanInsideUnmarkedText()
    {
        var parameters = WatermarkParameters.GreenListDefaults;
        var detector = new TokenDetector([Key], parameters);
        var plain = Generate(null, seed: 40, tokens: 700);
        var marked = Generate(new GreenListProcessor(Key, parameters), seed: 41, tokens: 150);
        int[] mixed = [.. plain[..350], .. marked, .. plain[350..]];

        var whole = detector.Detect(mixed);
        var windowed = detector.Detect(mixed, new DetectorOptions { Windowed = true });

        Assert.NotNull(windowed.Window);
        Assert.True(windowed.Log10PValue < whole.Log10PValue, $"{windowed.Log10PValue} vs {whole.Log10PValue}");
        Assert.InRange(windowed.Window!.StartToken, 250, 500);
    }
}
