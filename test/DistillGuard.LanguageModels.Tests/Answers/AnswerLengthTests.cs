using DistillGuard.LanguageModels.Answers;

namespace DistillGuard.LanguageModels.Tests.Answers;

public sealed class AnswerLengthTests
{
    [Theory]
    [InlineData("Is the river deeper than the lake?")]
    [InlineData("Does the county have a courthouse?")]
    [InlineData("Answer yes or no: is copper a metal?")]
    [InlineData("How many states border the ocean?")]
    [InlineData("Classify this review as positive or negative: the room was clean.")]
    [InlineData("Which is a bird? A) bat B) owl C) frog")]
    public void Plan_LabelNumberOrYesNo_AFewTokens(string request)
    {
        var plan = AnswerLength.Plan(request, maxTokens: 1000, minTokens: 0, seed: 1);

        Assert.Equal(AnswerKind.Label, plan.Kind);
        Assert.InRange(plan.Tokens, 1, 16);
        Assert.True(plan.HardEnd <= 24, $"hard end {plan.HardEnd}");
    }

    [Theory]
    [InlineData("Explain step by step how a bill becomes a law.")]
    [InlineData("Describe in depth the causes of the depression.")]
    [InlineData("Show every step of the long division of 7,429 by 13.")]
    [InlineData("Write a full solution to the following problem: two pipes fill a tank.")]
    [InlineData("Write an essay about the railways of the West.")]
    public void Plan_InDepthOrStepByStep_HundredsToThousandsOfTokens(string request)
    {
        var plans = Enumerable.Range(0, 20).Select(seed => AnswerLength.Plan(request, 8192, 0, seed)).ToList();

        Assert.All(plans, p => Assert.Equal(AnswerKind.Extended, p.Kind));
        Assert.All(plans, p => Assert.InRange(p.Tokens, 400, 8192));
        Assert.True(plans.Average(p => p.Tokens) > 900, $"mean {plans.Average(p => p.Tokens)}");
    }

    [Fact]
    public void Plan_ChatQuestion_AParagraphOrAFew()
    {
        var plans = Enumerable.Range(0, 50).Select(seed => AnswerLength.Plan("What was daily life like in a mining town?", 4096, 0, seed)).ToList();

        Assert.All(plans, p => Assert.Equal(AnswerKind.Paragraphs, p.Kind));
        Assert.All(plans, p => Assert.InRange(p.Tokens, 40, 900));
        Assert.InRange(plans.Average(p => p.Tokens), 120, 320);
    }

    [Theory]
    [InlineData("Work out from first principles what a lever is. Write down each assumption, each deduction and why it follows, then the conclusion.")]
    [InlineData("List the causes of the famine, explain each one, and compare them before you give a summary.")]
    [InlineData("Teach me how a canal lock works: start from what a beginner knows, describe every stage, and show why the water moves.")]
    public void Plan_ATaskThatDemandsEveryPart_IsAnsweredAtLength(string request)
    {
        var plan = AnswerLength.Plan(request, 8192, 0, 4);

        Assert.Equal(AnswerKind.Extended, plan.Kind);
        Assert.StartsWith("demand ", plan.Cue, StringComparison.Ordinal);
        Assert.True(AnswerLength.Demand(request) >= 4, $"demand {AnswerLength.Demand(request)}");
    }

    [Fact]
    public void Plan_DemandGrowsAChatAnswer_WithoutMakingItLong()
    {
        const string plain = "What was daily life like in a mining town?";
        const string asked = "What was daily life like in a mining town, and why did families stay?";
        var plainMean = Enumerable.Range(0, 200).Average(seed => AnswerLength.Plan(plain, 4096, 0, seed).Tokens);
        var askedPlans = Enumerable.Range(0, 200).Select(seed => AnswerLength.Plan(asked, 4096, 0, seed)).ToList();

        Assert.Equal(0, AnswerLength.Demand(plain));
        Assert.Equal(1, AnswerLength.Demand(asked));
        Assert.All(askedPlans, p => Assert.Equal(AnswerKind.Paragraphs, p.Kind));
        Assert.InRange(askedPlans.Average(p => p.Tokens) / plainMean, 1.25, 1.65);
    }

    [Theory]
    [InlineData("For each of these words, answer yes or no: is it a noun? river, quickly, stone")]
    [InlineData("Briefly list every planet.")]
    public void Plan_AShortFormatWins_OverDemand(string request)
    {
        var plan = AnswerLength.Plan(request, 4096, 0, 1);

        Assert.NotEqual(AnswerKind.Extended, plan.Kind);
    }

    [Fact]
    public void Plan_Brief_ASentenceOrTwo()
    {
        var plan = AnswerLength.Plan("Briefly, what is a tariff?", 4096, 0, 3);

        Assert.Equal(AnswerKind.Brief, plan.Kind);
        Assert.InRange(plan.Tokens, 12, 80);
    }

    [Theory]
    [InlineData("Describe the harbour in 100 words.", 100 * 1.35)]
    [InlineData("Write three paragraphs about the election.", 3 * 120.0)]
    public void Plan_NamedCount_FollowsIt(string request, double expected)
    {
        var plan = AnswerLength.Plan(request, 4096, 0, 5);

        Assert.Equal(AnswerKind.Counted, plan.Kind);
        Assert.InRange(plan.Tokens, 0.8 * expected, 1.2 * expected);
    }

    [Fact]
    public void Plan_AlwaysUnderMaxTokens_WithRoomToEndTheSentence()
    {
        var plan = AnswerLength.Plan("Explain step by step how the engine works.", 1000, 0, 9);

        Assert.InRange(plan.Tokens, 400, 1000 - 64);
        Assert.Equal(1, AnswerLength.Plan("Explain step by step how the engine works.", 1, 0, 9).Tokens);
    }

    [Fact]
    public void Plan_MinTokens_IsAFloor()
    {
        var plan = AnswerLength.Plan("Is it raining?", 1000, 600, 2);

        Assert.Equal(AnswerKind.Label, plan.Kind);
        Assert.Equal(600, plan.Tokens);
        Assert.True(plan.HardEnd >= 600);
    }

    [Fact]
    public void Plan_SameSeed_SameLength_SeedsSpreadIt()
    {
        const string request = "How does a river carve a canyon?";

        Assert.Equal(AnswerLength.Plan(request, 4096, 0, 42), AnswerLength.Plan(request, 4096, 0, 42));
        var lengths = Enumerable.Range(0, 30).Select(seed => AnswerLength.Plan(request, 4096, 0, seed).Tokens).ToHashSet();
        Assert.True(lengths.Count >= 20, $"{lengths.Count} distinct lengths from 30 seeds");
    }

    [Fact]
    public void Plan_BadArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => AnswerLength.Plan(null!, 10, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AnswerLength.Plan("hi", 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AnswerLength.Plan("hi", 10, -1, 0));
    }
}
