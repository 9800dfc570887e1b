using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.LanguageModels.Tests.Sampling;

public sealed class TextGeneratorTests(SmallModelFixture fixture) : IClassFixture<SmallModelFixture>
{
    private TextGenerator Generator => new(fixture.Model, fixture.Tokenizer);

    private int[] Prompt => fixture.Tokenizer.Encode("The jury said");

    private List<GenerationStep> Run(GenerationRequest request) => [.. Generator.Generate(request)];

    private static int[] TokenIds(IEnumerable<GenerationStep> steps) => [.. steps.SelectMany(s => s.Tokens).Select(t => t.Id)];

    [Fact]
    public void Generate_SameSeed_IsReproducible()
    {
        var request = new GenerationRequest { PromptTokens = Prompt, MaxTokens = 40, Temperature = 1, TopP = 0.95f, Seed = 1234, LogitsProcessor = NoEndOfText.Instance };
        var first = Run(request);
        var second = Run(request);
        Assert.Equal(TokenIds(first), TokenIds(second));
        Assert.Equal(string.Concat(first.Select(s => s.Text)), string.Concat(second.Select(s => s.Text)));
    }

    [Fact]
    public void Generate_DifferentSeeds_Differ()
    {
        var outputs = Enumerable.Range(0, 5)
            .Select(seed => string.Join(',', TokenIds(Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 20, Seed = seed, LogitsProcessor = NoEndOfText.Instance }))))
            .ToHashSet();
        Assert.True(outputs.Count >= 4, $"only {outputs.Count} distinct outputs from 5 seeds");
    }

    [Fact]
    public void Generate_Greedy_IsDeterministicAndFollowsArgmax()
    {
        var a = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 15, Temperature = 0, Seed = 1 });
        var b = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 15, Temperature = 0, Seed = 2 });
        var c = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 15, Temperature = 0 });
        Assert.Equal(TokenIds(a), TokenIds(b));
        Assert.Equal(TokenIds(a), TokenIds(c));

        var context = new List<int> { TextTokenizer.EndOfText };
        context.AddRange(Prompt);
        var scores = new float[fixture.Model.VocabularySize];
        foreach (var id in TokenIds(a))
        {
            fixture.Model.GetLogProbabilities(context.ToArray().AsSpan()[^2..], scores);
            Assert.Equal(Array.IndexOf(scores, scores.Max()), id);
            context.Add(id);
        }
    }

    [Fact]
    public void Generate_MaxTokensReached_FinishesWithLength()
    {
        var steps = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 7, Seed = 5, LogitsProcessor = NoEndOfText.Instance });
        Assert.Equal(7, TokenIds(steps).Length);
        Assert.Equal(FinishReasons.Length, steps[^1].FinishReason);
        Assert.All(steps[..^1], s => Assert.Null(s.FinishReason));
        Assert.Equal(fixture.Tokenizer.Decode(TokenIds(steps)), string.Concat(steps.Select(s => s.Text)));
    }

    [Fact]
    public void Generate_StopSequence_IsNotEmittedAndFinishesWithStop()
    {
        var baseline = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 30, Temperature = 0, LogitsProcessor = NoEndOfText.Instance });
        var full = string.Concat(baseline.Select(s => s.Text));
        var stop = full.Substring(full.Length / 2, 4); // a stop that straddles token boundaries in general
        var expected = full[..full.IndexOf(stop, StringComparison.Ordinal)];

        var steps = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 30, Temperature = 0, Stop = ["zzqx", stop], LogitsProcessor = NoEndOfText.Instance });
        var text = string.Concat(steps.Select(s => s.Text));
        Assert.Equal(expected, text);
        Assert.DoesNotContain(stop, text, StringComparison.Ordinal);
        Assert.Equal(FinishReasons.Stop, steps[^1].FinishReason);
    }

    [Fact]
    public void Generate_EndOfTextSampled_FinishesWithStopWithoutItsText()
    {
        var steps = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 50, LogitsProcessor = new ForceToken(TextTokenizer.EndOfText, afterTokens: 3) });
        Assert.Equal(FinishReasons.Stop, steps[^1].FinishReason);
        Assert.Equal(3, TokenIds(steps).Length);
        Assert.DoesNotContain("<|endoftext|>", string.Concat(steps.Select(s => s.Text)), StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_SmallTopP_PassesOnlyTheNucleusToTheProcessor()
    {
        var recorder = new Recorder(fixture.Model);
        Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 10, TopP = 0.3f, Seed = 9, LogitsProcessor = recorder });
        Assert.NotEmpty(recorder.Steps);
        foreach (var (candidates, probabilities) in recorder.Steps)
        {
            Assert.True(candidates.Length < fixture.Model.VocabularySize / 10, $"{candidates.Length} survivors");
            var set = candidates.ToHashSet();
            var mass = candidates.Sum(id => (double)probabilities[id]);
            Assert.True(mass >= 0.3 - 1e-4, $"nucleus mass {mass}");

            // A threshold set: nothing left out is more likely than anything kept.
            var minKept = candidates.Min(id => probabilities[id]);
            var maxDropped = Enumerable.Range(0, probabilities.Length).Where(id => !set.Contains(id)).Max(id => probabilities[id]);
            Assert.True(maxDropped <= minKept, $"dropped {maxDropped} > kept {minKept}");
        }
    }

    [Fact]
    public void Generate_TopPOne_PassesTheWholeVocabulary()
    {
        var recorder = new Recorder(fixture.Model);
        Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 3, Seed = 9, LogitsProcessor = recorder });
        Assert.All(recorder.Steps, s => Assert.Equal(fixture.Model.VocabularySize, s.Candidates.Length));
    }

    [Theory]
    [InlineData(1.0f, 0.9f)]
    [InlineData(0.7f, 0.5f)]
    [InlineData(0f, 0.8f)]
    [InlineData(1.3f, 1f)]
    public void Generate_ProcessorForcingALowRankedSurvivor_GetsThatToken(float temperature, float topP)
    {
        var forcer = new ForceLastCandidate();
        var steps = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 8, Temperature = temperature, TopP = topP, Seed = 3, LogitsProcessor = forcer });
        // When the nucleus holds only the end-of-text token, the forcer must take it and the generation stops.
        Assert.Equal(forcer.Forced.Where(id => id != TextTokenizer.EndOfText), TokenIds(steps));
        Assert.All(forcer.Greedy, g => Assert.Equal(temperature == 0, g));
        Assert.Equal(Enumerable.Range(0, forcer.Forced.Count), forcer.GeneratedCounts);
    }

    [Fact]
    public void Generate_Logprobs_ReportsModelProbabilitiesAndOrderedAlternatives()
    {
        var steps = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 5, Seed = 4, Logprobs = true, TopLogprobs = 5, LogitsProcessor = NoEndOfText.Instance });
        var context = new List<int> { TextTokenizer.EndOfText };
        context.AddRange(Prompt);
        var scores = new float[fixture.Model.VocabularySize];
        foreach (var token in steps.SelectMany(s => s.Tokens))
        {
            fixture.Model.GetLogProbabilities(context.ToArray().AsSpan()[^2..], scores);
            Assert.Equal(scores[token.Id], token.LogProbability, 3);
            Assert.Equal(5, token.TopLogProbabilities.Count);
            var expectedTop = scores.Select((s, id) => (s, id)).OrderByDescending(x => x.s).ThenBy(x => x.id).Take(5).Select(x => x.id);
            Assert.Equal(expectedTop, token.TopLogProbabilities.Select(t => t.Id));
            Assert.Equal(fixture.Tokenizer.GetTokenText(token.Id), token.Text);
            context.Add(token.Id);
        }
    }

    [Fact]
    public void Generate_Cancelled_StopsAtTheNextToken()
    {
        using var cts = new CancellationTokenSource();
        var seen = 0;
        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (var step in Generator.Generate(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 100, LogitsProcessor = NoEndOfText.Instance }, cts.Token))
            {
                seen++;
                cts.Cancel();
            }
        });
        Assert.Equal(1, seen);
    }

    [Theory]
    [InlineData(0, 1f, 0)]
    [InlineData(5, 0f, 0)]
    [InlineData(5, 1.5f, 0)]
    [InlineData(5, 1f, 21)]
    public void Generate_InvalidRequest_Throws(int maxTokens, float topP, int topLogprobs)
    {
        Assert.Throws<ArgumentException>(() => Generator.Generate(new GenerationRequest { PromptTokens = Prompt, MaxTokens = maxTokens, TopP = topP, TopLogprobs = topLogprobs }));
        Assert.Throws<ArgumentException>(() => Generator.Generate(new GenerationRequest { PromptTokens = Prompt, Stop = ["a", "b", "c", "d", "e"] }));
    }

    [Theory]
    [InlineData(0f, 1f)]      // greedy walk
    [InlineData(0.8f, 0.9f)]  // nucleus
    [InlineData(1f, 1f)]      // direct draw
    [InlineData(1.3f, 1f)]    // tempered, whole distribution
    public void Generate_MinTokens_NeverEndsBeforeTheFloor_OnEveryPath(float temperature, float topP)
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var steps = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 60, MinTokens = 40, Temperature = temperature, TopP = topP, Seed = seed });
            Assert.True(TokenIds(steps).Length >= 40, $"seed {seed}: ended after {TokenIds(steps).Length} tokens ({steps[^1].FinishReason})");
            Assert.DoesNotContain(TextTokenizer.EndOfText, TokenIds(steps));
        }

        // Without the floor the same requests end early, mostly: the model's answers are a sentence or two.
        var unfloored = Enumerable.Range(0, 20).Count(seed => Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 60, Temperature = temperature, TopP = topP, Seed = seed })[^1].FinishReason == FinishReasons.Stop);
        Assert.True(unfloored > 0 || temperature == 0, "no generation ended before the limit without the floor");
    }

    [Fact]
    public void Generate_MinTokens_WithAProcessor_AndZeroChangesNothing()
    {
        var recorder = new Recorder(fixture.Model);
        var floored = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 50, MinTokens = 50, Temperature = 1, Seed = 3, LogitsProcessor = recorder });
        Assert.Equal(50, TokenIds(floored).Length);
        Assert.Equal(FinishReasons.Length, floored[^1].FinishReason);

        var plain = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 30, Temperature = 0.9f, TopP = 0.95f, Seed = 8 });
        var zero = Run(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 30, MinTokens = 0, Temperature = 0.9f, TopP = 0.95f, Seed = 8 });
        Assert.Equal(TokenIds(plain), TokenIds(zero));
        Assert.Throws<ArgumentException>(() => Generator.Generate(new GenerationRequest { PromptTokens = Prompt, MaxTokens = 10, MinTokens = 11 }));
        Assert.Throws<ArgumentException>(() => Generator.Generate(new GenerationRequest { PromptTokens = Prompt, MinTokens = -1 }));
    }

    /// <summary>Keeps generations at their token limit by ruling out the end-of-text token.</summary>
    private sealed class NoEndOfText : ILogitsProcessor
    {
        public static readonly NoEndOfText Instance = new();

        public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits)
        {
            var index = candidateIds.IndexOf(TextTokenizer.EndOfText);
            if (index >= 0)
            {
                logits[index] = float.NegativeInfinity;
            }
        }
    }

    private sealed class ForceToken(int token, int afterTokens) : ILogitsProcessor
    {
        public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits)
        {
            var index = candidateIds.IndexOf(token);
            if (context.GeneratedCount < afterTokens)
            {
                if (index >= 0)
                {
                    logits[index] = float.NegativeInfinity;
                }

                return;
            }

            logits.Fill(float.NegativeInfinity);
            logits[index] = 0;
        }
    }

    private sealed class ForceLastCandidate : ILogitsProcessor
    {
        public List<int> Forced { get; } = [];

        public List<bool> Greedy { get; } = [];

        public List<int> GeneratedCounts { get; } = [];

        public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits)
        {
            // The least likely survivor that is not the end-of-text token.
            var pick = -1;
            for (var i = 0; i < candidateIds.Length; i++)
            {
                if (candidateIds[i] != TextTokenizer.EndOfText && (pick < 0 || logits[i] < logits[pick]))
                {
                    pick = i;
                }
            }

            pick = Math.Max(pick, 0);
            Forced.Add(candidateIds[pick]);
            Greedy.Add(context.Greedy);
            GeneratedCounts.Add(context.GeneratedCount);
            logits.Fill(float.NegativeInfinity);
            logits[pick] = 100;
        }
    }

    private sealed class Recorder(ILanguageModel model) : ILogitsProcessor
    {
        public List<(int[] Candidates, float[] Probabilities)> Steps { get; } = [];

        public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits)
        {
            var start = Math.Max(0, context.PreviousTokens.Length - (model.Order - 1));
            var scores = new float[model.VocabularySize];
            var previous = new List<int> { TextTokenizer.EndOfText };
            previous.AddRange(context.PreviousTokens.ToArray());
            var full = previous.ToArray();
            model.GetLogProbabilities(full.AsSpan(Math.Max(0, full.Length - (model.Order - 1))), scores);
            _ = start;
            Steps.Add((candidateIds.ToArray(), [.. scores.Select(MathF.Exp)]));
        }
    }
}
