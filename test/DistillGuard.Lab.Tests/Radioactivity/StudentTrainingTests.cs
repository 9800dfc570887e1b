using DistillGuard.Lab.Distillation;
using DistillGuard.Lab.Evaluation;
using DistillGuard.Lab.Radioactivity;

namespace DistillGuard.Lab.Tests.Radioactivity;

public sealed class StudentTrainingTests
{
    private static readonly string[] Human = [.. Enumerable.Range(0, 400).Select(i => $"human paragraph number {i} about the county and its history")];
    private static readonly string[] Harvest = [.. Enumerable.Range(0, 400).Select(i => $"harvested answer {i} from the teacher model")];

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.10)]
    [InlineData(0.50)]
    public void Mix_ReachesTheRequestedTokenShare(double share)
    {
        var (texts, reached, harvestTokens, humanTokens) = StudentTraining.Mix(Harvest, share, Human);

        Assert.InRange(reached, share - 0.01, share + 0.01);
        Assert.Equal(HarvestPrompts.Tokens(texts), harvestTokens + humanTokens);
    }

    [Fact]
    public void Mix_ZeroAndFull_AreHumanOnlyAndHarvestOnly()
    {
        Assert.Equal(0, StudentTraining.Mix(Harvest, 0, Human).HarvestTokens);
        Assert.Equal(0, StudentTraining.Mix(Harvest, 1, Human).HumanTokens);
    }

    [Fact]
    public void KolmogorovSmirnov_UniformGrid_IsNotRejected_AndAPileUpIs()
    {
        var uniform = Enumerable.Range(0, 100).Select(i => (i + 0.5) / 100).ToArray();
        var piled = Enumerable.Range(0, 100).Select(i => (i + 0.5) / 1000).ToArray();

        Assert.True(KolmogorovSmirnov.AgainstUniform(uniform).PValue > 0.9);
        Assert.True(KolmogorovSmirnov.AgainstUniform(piled).PValue < 1e-6);
    }
}
