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
    }
}
