using DistillGuard.Detection.Prompts;

namespace DistillGuard.Detection.Tests.Prompts;

public sealed class PromptAnalysisTests
{
    [Fact]
    public void Skeleton_MasksNumbersQuotesNamesAndAddresses()
    {
        var skeleton = PromptAnalysis.Skeleton("Translate \"good morning\" for Alice 42 times, see https://example.com/x or bob@example.com. Then stop.");
        Assert.Equal("translate \"…\" for N # times , see <url> or <url> . then stop .", skeleton);
    }

    [Fact]
    public void Skeleton_KeepsSentenceInitialCapitals()
    {
        Assert.Equal("explain why . the sky is blue", PromptAnalysis.Skeleton("Explain why. The sky is blue"));
    }

    [Fact]
    public void Fingerprint_OneTemplateWithDifferentValues_HasOneSkeletonHash()
    {
        var a = Analyse("Solve problem 17 about \"trains\" for Maria and show all intermediate reasoning.");
        var b = Analyse("Solve problem 2049 about \"apples and pears\" for Kenji and show all intermediate reasoning.");
        Assert.Equal(a.SkeletonHash, b.SkeletonHash);
        Assert.Equal(a.SimHash, b.SimHash);
    }

    [Fact]
    public void Fingerprint_SlotFilledTemplate_SharesPrefixAndSuffix()
    {
        const string head = "You are an expert tutor who answers precisely and completely in plain English words.\n";
        var a = Analyse(head + "Describe the migration of salmon upstream. Think it through carefully before you write your answer please.");
        var b = Analyse(head + "Describe the erosion of coastal cliffs. Think it through carefully before you write your answer please.");
        Assert.Equal(a.PrefixHash, b.PrefixHash);
        Assert.Equal(a.SuffixHash, b.SuffixHash);
        Assert.NotEqual(a.SkeletonHash, b.SkeletonHash);
    }

    [Theory]
    [InlineData("Reconstruct the internal reasoning behind this finished answer, step by step.")]
    [InlineData("Show your reasoning and give the full chain of thought before the final answer.")]
    [InlineData("Your thinking must be written in the user's language.")]
    [InlineData("Generate 20 diverse tasks for training data about geometry.")]
    public void Elicitation_FlagsReasoningHarvestPrompts(string prompt) => Assert.True(Analyse(prompt).Elicitation >= 0.5);

    [Theory]
    [InlineData("What's a good recipe for pancakes?")]
    [InlineData("Can you help me write an email to my landlord about the broken heater?")]
    [InlineData("Summarise this article about the city council vote.")]
    public void Elicitation_IgnoresOrdinaryPrompts(string prompt) => Assert.True(Analyse(prompt).Elicitation < 0.5);

    [Fact]
    public void Capability_NamesTheDominantArea()
    {
        var shape = Analyse("Write a python function that parses this json file and add a unit test for the bug.");
        Assert.Equal("coding", Lexicons.CapabilityNames[shape.Capability]);
    }

    [Fact]
    public void Lexicon_FitsThePhraseBitmask() => Assert.True(Lexicons.ElicitationPhrases.Length <= 64);

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t ")]
    [InlineData("\"unterminated quote and `backtick")]
    [InlineData("😀😀😀 ### !!! 12345")]
    public void Analyse_OddInput_DoesNotThrow(string prompt)
    {
        var shape = Analyse(prompt);
        Assert.InRange(shape.Elicitation, 0, 1);
    }

    [Fact]
    public void Analyse_VeryLongPrompt_ReadsOnlyTheHead()
    {
        var shape = Analyse(string.Concat(Enumerable.Repeat("word ", 100_000)));
        Assert.True(shape.Tokens <= SkeletonTokenizer.MaxChars);
    }

    private static PromptShape Analyse(string text)
    {
        Span<ulong> words = stackalloc ulong[32];
        return PromptAnalysis.Analyse(text, words);
    }
}
