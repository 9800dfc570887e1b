using DistillGuard.LanguageModels.Answers;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.LanguageModels.Topics;

namespace DistillGuard.LanguageModels.Tests.Answers;

/// <summary>The sampler following a length plan and a topic cache, on a real (small) n-gram model and the shipped topic index.</summary>
public sealed class PlannedGenerationTests(SmallModelFixture fixture) : IClassFixture<SmallModelFixture>
{
    private (string Text, List<GeneratedToken> Tokens, string? Finish) Answer(string prompt, int maxTokens, long seed, bool topic = true, ILogitsProcessor? hook = null, float topP = 1f)
    {
        var request = new GenerationRequest
        {
            PromptTokens = [.. fixture.Tokenizer.Encode(prompt), TextTokenizer.EndOfText],
            MaxTokens = maxTokens,
            Seed = seed,
            TopP = topP,
            Plan = AnswerLength.Plan(prompt, maxTokens, 0, seed),
            Topic = topic ? TopicIndex.Shipped.BiasFor(prompt, fixture.Model, fixture.Tokenizer) : null,
            LogitsProcessor = hook,
        };
        var steps = new TextGenerator(fixture.Model, fixture.Tokenizer).Generate(request).ToList();
        return (string.Concat(steps.Select(s => s.Text)), [.. steps.SelectMany(s => s.Tokens)], steps[^1].FinishReason);
    }

    [Fact]
    public void Generate_YesNoQuestion_ShortAnswer()
    {
        foreach (var seed in Enumerable.Range(1, 10))
        {
            var (_, tokens, finish) = Answer("Is the harbour deeper than the river?", 1000, seed);

            Assert.InRange(tokens.Count, 1, 24);
            Assert.Equal(FinishReasons.Stop, finish);
        }
    }

    [Fact]
    public void Generate_ExplainStepByStep_HundredsOfTokensEndingAtASentence()
    {
        foreach (var seed in Enumerable.Range(1, 5))
        {
            var (text, tokens, finish) = Answer("Explain step by step how the county collects its taxes.", 1000, seed);

            Assert.InRange(tokens.Count, 300, 1000);
            Assert.Equal(FinishReasons.Stop, finish);
            var end = text.TrimEnd().TrimEnd('"', '\'', ')');
            Assert.True(end.EndsWith('.') || end.EndsWith('!') || end.EndsWith('?'), $"ends with '{text[^Math.Min(20, text.Length)..]}'");
            // Several paragraphs, not one run-on sequence.
            Assert.Contains("\n\n", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Generate_PlanWithMaxTokensCap_NeverExceedsIt()
    {
        var (_, tokens, _) = Answer("Explain in depth how the election was won.", 40, 3);

        Assert.InRange(tokens.Count, 1, 40);
    }

    [Fact]
    public void Generate_TopicalPrompt_SharesContentWordsWithIt()
    {
        const string music = "Tell me about jazz music, the piano and the orchestra.";
        const string farming = "Tell me about farming, cattle and the wheat harvest.";
        var musicTerms = TopicIndex.Shipped.TermsOf(music).ToHashSet();
        var farmingTerms = TopicIndex.Shipped.TermsOf(farming).ToHashSet();
        int Shared(string text, HashSet<string> terms) => TopicIndex.Shipped.TermsOf(text).Count(terms.Contains);

        var onTopic = 0;
        var offTopic = 0;
        foreach (var seed in Enumerable.Range(1, 6))
        {
            var musicAnswer = Answer(music, 300, seed).Text;
            var farmingAnswer = Answer(farming, 300, seed).Text;
            onTopic += Shared(musicAnswer, musicTerms) + Shared(farmingAnswer, farmingTerms);
            offTopic += Shared(musicAnswer, farmingTerms) + Shared(farmingAnswer, musicTerms);
        }

        Assert.True(onTopic > 2 * Math.Max(1, offTopic), $"on topic {onTopic}, off topic {offTopic}");
    }

    [Fact]
    public void Generate_WithPlanAndTopic_SameSeedSameText_AndHookStillRuns()
    {
        var hook = new CountingHook();
        var first = Answer("What makes a good harbour for ships?", 300, 17, hook: hook, topP: 0.95f);
        var second = Answer("What makes a good harbour for ships?", 300, 17, hook: new CountingHook(), topP: 0.95f);

        Assert.Equal(first.Text, second.Text);
        // Every emitted token went through the hook; a token drawn and dropped at the end (the answer ended before it) did too.
        Assert.InRange(hook.Calls, first.Tokens.Count, first.Tokens.Count + 1);
    }

    [Fact]
    public void TopicIndex_PromptWithoutContentWords_GivesNoBias()
    {
        Assert.Null(TopicIndex.Shipped.BiasFor("Is it?", fixture.Model, fixture.Tokenizer));
        var bias = TopicIndex.Shipped.BiasFor("How are glaciers formed in the mountains?", fixture.Model, fixture.Tokenizer);
        Assert.NotNull(bias);
        Assert.Contains("glacier", bias!.Terms);
        Assert.Equal(1.0, Enumerable.Range(0, 50_257).Sum(id => (double)bias.CacheProbability(id)), 3);
    }

    private sealed class CountingHook : ILogitsProcessor
    {
        public int Calls { get; private set; }

        public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits) => Calls++;
    }
}
