using System.Globalization;
using System.Security.Cryptography;
using CsCheck;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;
using Xunit.Abstractions;

namespace DistillGuard.Watermarking.Tests.Schemes;

/// <summary>Which candidate the Gumbel hook picks: the same as the definition, and the same as the checked-in choices.</summary>
/// <remarks>
/// <c>gumbel-choices.txt</c> was written by the hook as it stood before its pruning (every candidate's two
/// logarithms computed), so a faster hook that passes here picks the same tokens as the old one.
/// </remarks>
public sealed class GumbelChoiceTests(SmallModelFixture fixture, ITestOutputHelper output) : IClassFixture<SmallModelFixture>
{
    private const int CheckedInCases = 2_000;
    private static readonly WatermarkKey Key = new WatermarkKey(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()).DeriveEpoch(0);

    private string Compute()
    {
        var processor = new GumbelProcessor(Key, WatermarkParameters.GumbelDefaults);
        var choices = Enumerable.Range(0, CheckedInCases).Select(i => GumbelCases.Choose(processor, GumbelCases.Create(i))).ToArray();
        var bytes = choices.SelectMany(BitConverter.GetBytes).ToArray();
        var lines = new List<string>
        {
            FormattableString.Invariant($"synthetic cases={CheckedInCases} sha256={Convert.ToHexStringLower(SHA256.HashData(bytes))}"),
            "synthetic first 40=" + string.Join(',', choices.Take(40).Select(c => c.ToString(CultureInfo.InvariantCulture))),
        };
        foreach (var (topP, text) in new[] { (1f, "The county court said that"), (0.8f, "In the morning the committee") })
        {
            var generator = new TextGenerator(fixture.Model, TextTokenizer.Gpt2);
            var prompt = TextTokenizer.Gpt2.Encode(text);
            var tokens = generator.Generate(new GenerationRequest { PromptTokens = prompt, MaxTokens = 120, Seed = 7, TopP = topP, LogitsProcessor = new WithoutEndOfText(processor) })
                .SelectMany(step => step.Tokens).Select(t => t.Id.ToString(CultureInfo.InvariantCulture));
            lines.Add(FormattableString.Invariant($"generated topP={topP} tokens=") + string.Join(',', tokens));
        }

        return string.Join('\n', lines);
    }

    [Fact]
    public void Choices_MatchCheckedInValues()
    {
        var actual = Compute();
        output.WriteLine(actual);
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schemes", "gumbel-choices.txt")).Trim().ReplaceLineEndings("\n");
        Assert.Equal(expected, actual);
    }

    /// <summary>Runs the hook with end-of-text ruled out, so a generation runs its full length.</summary>
    private sealed class WithoutEndOfText(ILogitsProcessor inner) : ILogitsProcessor
    {
        public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits)
        {
            var at = candidateIds.IndexOf(TextTokenizer.EndOfText);
            if (at >= 0)
            {
                logits[at] = float.NegativeInfinity;
            }

            inner.Process(context, candidateIds, logits);
        }
    }

    [Fact]
    public void Choices_EqualTheReferenceArgmax()
    {
        var processor = new GumbelProcessor(Key, WatermarkParameters.GumbelDefaults);
        for (var i = 0; i < CheckedInCases; i++)
        {
            var step = GumbelCases.Create(i);
            Assert.True(GumbelCases.Reference(Key, step) == GumbelCases.Choose(processor, step), $"case {i} ({step.Shape}, {step.Ids.Length} candidates)");
        }
    }

    [Fact]
    public void Choices_RandomKeysAndSteps_EqualTheReferenceArgmax()
    {
        Gen.ULong.Select(Gen.Int[0, 1_000_000]).Sample((family, index) =>
        {
            var key = new WatermarkKey(SHA256.HashData(BitConverter.GetBytes(family)));
            var step = GumbelCases.Create(index, family);
            return GumbelCases.Reference(key, step) == GumbelCases.Choose(new GumbelProcessor(key, WatermarkParameters.GumbelDefaults), step);
        }, iter: 5_000);
    }

    [Theory]
    [InlineData(1_024, 0f)]
    [InlineData(1_024, 80f)]
    [InlineData(3_000, -700f)]
    public void Choices_NearTies_EqualTheReferenceArgmax(int candidates, float level)
    {
        // Logits chosen so that every score is within float rounding of one level: the bound prunes nothing it may
        // not, and the winner is decided by the last bits, the tie rule included.
        var processor = new GumbelProcessor(Key, WatermarkParameters.GumbelDefaults);
        for (var trial = 0; trial < 20; trial++)
        {
            var step = GumbelCases.Create(trial);
            var ids = Enumerable.Range(trial * candidates, candidates).Select(i => i % 50_257).ToArray();
            var seed = Key.WindowSeed((byte)'E', step.Previous.AsSpan(1));
            var logits = ids.Select(id => (float)(level + Math.Log(-Math.Log(WatermarkKey.ToUniform(WatermarkKey.TokenBits(seed, id)))))).ToArray();
            var nearTie = step with { Ids = ids, Logits = logits };

            Assert.Equal(GumbelCases.Reference(Key, nearTie), GumbelCases.Choose(processor, nearTie));
        }
    }

    [Fact]
    public void Bound_NeverFallsBelowTheThresholdOfItsOwnScore()
    {
        // The hook scores a candidate when its bound reaches the threshold of the best score; a candidate that is the
        // best must therefore always pass the threshold of its own score. Checked where the bound is tightest (1 − r
        // at the top of a float binade, r near 1), at the extremes of u and at logits of every magnitude.
        var values = new List<uint> { 0, 1, 2, 3, uint.MaxValue, uint.MaxValue - 1, uint.MaxValue - 2, uint.MaxValue - 3 };
        for (var k = 1; k < 32; k++)
        {
            var complement = 1U << k;
            for (var d = -3; d <= 3; d++)
            {
                values.Add(~(uint)(complement + d));
            }
        }

        var random = new Random(5);
        values.AddRange(Enumerable.Range(0, 10_000).Select(_ => (uint)random.NextInt64(1L << 32)));
        var tightest = double.PositiveInfinity;
        foreach (var logit in new[] { 0f, -0f, 1e-30f, -3.5f, 17.25f, -90f, 110f, -1_000f, 4_321.5f, -1e4f, 1e5f, -1e6f })
        {
            foreach (var value in values)
            {
                var score = GumbelProcessor.Score(value, logit);
                var bound = GumbelProcessor.Bound(value, logit);
                Assert.True(bound >= GumbelProcessor.Threshold(score), FormattableString.Invariant($"u {value:x8}, logit {logit}: bound {bound:R}, score {score:R}"));
                if (Math.Abs(logit) <= 20)
                {
                    tightest = Math.Min(tightest, bound + (158 * Math.Log(2)) - score);
                }
            }
        }

        // The bound (kept less 158 ln 2) is close to the score somewhere, so the threshold's margin is what the check above exercises.
        Assert.True(tightest < 1e-4, $"tightest {tightest}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(1_024)]
    public void Bounds_Vectorised_EqualTheScalarBound(int candidates)
    {
        var random = new Random(candidates);
        var ids = Enumerable.Range(0, candidates).Select(_ => random.Next(50_257)).ToArray();
        var logits = ids.Select(_ => (float)((random.NextDouble() - 0.5) * 40)).ToArray();
        logits[0] = float.NaN;
        var bounds = new float[candidates];
        const ulong seed = 0x0123456789ABCDEFUL;

        var max = GumbelProcessor.Bounds(seed, ids, logits, bounds);

        var expected = ids.Select((id, i) => GumbelProcessor.Bound(WatermarkKey.TokenBits(seed, id), logits[i])).ToArray();
        Assert.Equal(expected, bounds);
        Assert.Equal(candidates == 1 ? float.NegativeInfinity : expected.Where(b => !float.IsNaN(b)).Max(), max);
    }
}
