using DistillGuard.Lab.Evaluation;

namespace DistillGuard.Lab.Tests.Evaluation;

public sealed class EvaluationOptionsTests
{
    [Fact]
    public void Validate_OverlappingSeeds_Throws()
    {
        var options = new EvaluationOptions { CalibrationSeeds = [1, 2, 3], EvaluationSeeds = [3, 11] };
        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    [InlineData(1, -2)]
    public void Validate_NonPositiveScales_Throw(double attackerScale, double rareLegitimateScale)
    {
        var options = new EvaluationOptions { AttackerScale = attackerScale, RareLegitimateScale = rareLegitimateScale };
        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Fact]
    public void Validate_Defaults_AreAccepted()
    {
        new EvaluationOptions().Validate();
        Assert.Equal(1, new EvaluationOptions().RareLegitimateScale);
        Assert.Equal(1, new EvaluationOptions().CalibrationRareLegitimateScale);
    }

    [Fact]
    public void Validate_NonPositiveCalibrationScale_Throws()
    {
        var options = new EvaluationOptions { CalibrationRareLegitimateScale = 0 };
        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Fact]
    public void ScaledCounts_MultiplyRareLegitimateArchetypesOnly()
    {
        var counts = DetectionEvaluation.ScaledCounts(1, 1, 5);
        Assert.Equal(75, counts["eval-researcher"]);
        Assert.Equal(50, counts["enterprise-batch"]);
        Assert.Equal(3, counts["naive-harvester"]);
        Assert.False(counts.ContainsKey("casual-chat")); // common archetypes keep their default count
    }

    [Fact]
    public void ScaledCounts_ScaleHeldOutFamiliesLikeTheOthers()
    {
        var counts = DetectionEvaluation.ScaledCounts(1, 4, 5);
        Assert.Equal(12, counts["soft-label-harvester"]);
        Assert.Equal(240, counts["card-fleet"]);
        Assert.Equal(150, counts["shared-support-bot"]);
        Assert.False(counts.ContainsKey("varied-human")); // 150 accounts: not rare
    }
}
