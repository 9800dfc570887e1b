using DistillGuard.LanguageModels.Model;

namespace DistillGuard.LanguageModels.Tests.Model;

public sealed class KneserNeyModelTests(SmallModelFixture fixture) : IClassFixture<SmallModelFixture>
{
    public static TheoryData<int[]> Contexts => new()
    {
        Array.Empty<int>(),
        new[] { 50256 },
        new[] { 50256, 464 },          // "<|endoftext|>The": seen at every paragraph start
        new[] { 464, 3336, 286 },      // seen words
        new[] { 49_000, 48_000, 47_000 }, // unseen context: pure backoff to the unigram background
        new[] { 262, 49_999 },
    };

    [Theory]
    [MemberData(nameof(Contexts))]
    public void GetLogProbabilities_AnyContext_SumsToOne(int[] context)
    {
        var scores = new float[fixture.Model.VocabularySize];
        fixture.Model.GetLogProbabilities(context, scores);
        var sum = scores.Sum(s => Math.Exp(s));
        Assert.Equal(1.0, sum, 4);
        Assert.All(scores, s => Assert.True(float.IsFinite(s)));
    }

    [Fact]
    public void GetLogProbabilities_SeenContextOfTrainingText_SumsToOneAndMatchesSingleTokenScore()
    {
        var sequence = fixture.Training.First(s => s.Length > 10);
        var scores = new float[fixture.Model.VocabularySize];
        for (var i = 3; i < 10; i++)
        {
            var context = sequence.AsSpan(i - 3, 3);
            fixture.Model.GetLogProbabilities(context, scores);
            Assert.Equal(1.0, scores.Sum(s => Math.Exp(s)), 4);
            Assert.Equal(scores[sequence[i]], fixture.Model.GetLogProbability(context, sequence[i]), 4);

            // A continuation seen in training beats the unigram floor.
            Assert.True(scores[sequence[i]] > scores.Min());
        }
    }

    [Fact]
    public void Train_Order1_GivesUnigramThatIgnoresContext()
    {
        var unigram = KneserNeyTrainer.Train(fixture.Training, 1);
        var a = new float[unigram.VocabularySize];
        var b = new float[unigram.VocabularySize];
        unigram.GetLogProbabilities([464], a);
        unigram.GetLogProbabilities([262, 3336], b);
        Assert.Equal(a, b);
        Assert.Equal(1.0, a.Sum(s => Math.Exp(s)), 4);
    }

    [Fact]
    public void Train_FixedDiscounts_AreUsedForEveryOrder()
    {
        var student = KneserNeyTrainer.Train(fixture.Training.Take(200), 2, new KneserNeyOptions { Id = "student", Discounts = [0.6f, 1.1f, 1.4f] });
        Assert.Equal(2, student.Order);
        Assert.All(student.Discounts, d => Assert.Equal([0.6f, 1.1f, 1.4f], d));
    }
}
