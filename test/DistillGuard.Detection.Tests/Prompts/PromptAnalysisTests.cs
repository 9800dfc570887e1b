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

    [Theory]
    // Labelled fields and enumerated parts, in words the elicitation lexicon does not know.
    [InlineData("Topic: tides\nWork:\n1. premises\n2. derivation\n3. result\nConclusion: one line")]
    // Labelled fields and a fixed format.
    [InlineData("Fill this form for the case of tides.\nWorking: <your derivation>\nResult: {value}\nConfidence: | low | high |")]
    // Bulleted parts and markdown headers.
    [InlineData("# Case\nTides\n# Derivation\n- first stage\n- second stage\n- third stage")]
    public void Structure_PromptLayingOutItsAnswersForm_IsStructured(string prompt) => Assert.True(Analyse(prompt).Structured, prompt);

    [Theory]
    // A benchmark item: one labelled slot per side, lettered options are choices, not parts of the answer.
    [InlineData("Which word matches the definition: \"a large body of water\"?\nA) lake\nB) sea\nC) pond\nD) river\nAnswer:")]
    [InlineData("Q: In the field of physics, what is meant by \"entropy\"?\nA:")]
    // A pasted list alone, a chat question, a JSON snippet alone.
    [InlineData("Here is my shopping list:\n1. eggs\n2. milk\n3. bread\nWhat can I cook tonight?")]
    [InlineData("Can you help me write a note to my landlord about the heater? It broke on Monday.")]
    [InlineData("Why does this fail to parse: {\"a\": [1, 2], \"b\": {\"c\": 3}}")]
    public void Structure_OrdinaryAndBenchmarkPrompts_AreNotStructured(string prompt) => Assert.False(Analyse(prompt).Structured, prompt);

    private static PromptShape Analyse(string text)
    {
        Span<ulong> words = stackalloc ulong[32];
        return PromptAnalysis.Analyse(text, words);
    }
}
