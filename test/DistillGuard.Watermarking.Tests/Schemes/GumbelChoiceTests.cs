using System.Globalization;
using System.Security.Cryptography;
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
}
