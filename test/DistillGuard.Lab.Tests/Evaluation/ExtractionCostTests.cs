using DistillGuard.Lab.Evaluation;

namespace DistillGuard.Lab.Tests.Evaluation;

public sealed class ExtractionCostTests
{
    private static EvaluationReport Run(TimeSpan reviewDelay) => DetectionEvaluation.Run(new EvaluationOptions
    {
        CalibrationSeeds = [1],
        EvaluationSeeds = [31],
        Scale = 0.2,
        AttackerScale = 1,
        Duration = TimeSpan.FromDays(2),
        ReviewDelay = reviewDelay,
    });

    [Fact]
    public void CostOfExtraction_ClosureAtTheFlag_CutsTheHarvestOfFlaggedAttackers()
    {
        var report = Run(TimeSpan.Zero);

        Assert.Equal(0, report.ReviewHours);
        var naive = Assert.Single(report.AdaptiveCosts, c => c.Archetype == "naive-harvester");
        Assert.True(naive.Detected.Successes > 0);
        // Closed at its first flag, a flagged account keeps only what it sent before it: far less than its two days.
        Assert.True(naive.CostMultiplier > 10, $"naive harvester: {naive.CostMultiplier}");
        Assert.True(naive.MedianAnswersBeforeClosure < naive.MedianAnswersWithout);
        foreach (var cost in report.AdaptiveCosts.Where(c => c.CostMultiplier is not null))
        {
            Assert.True(cost.CostMultiplier >= 1, $"{cost.Archetype}: {cost.CostMultiplier}");
            Assert.InRange(cost.CostMultiplier!.Value, cost.CostMultiplierLower!.Value, cost.CostMultiplierUpper!.Value);
        }
    }

    [Fact]
    public void CostOfExtraction_ReviewSlowerThanTheRun_CostsNothing()
    {
        var report = Run(TimeSpan.FromDays(3));

        Assert.Contains(report.AdaptiveCosts, c => c.Detected.Successes > 0);
        // No account is closed within the run, so each keeps every answer: the detector alone has cost the attacker nothing.
        Assert.All(report.AdaptiveCosts.Where(c => c.CostMultiplier is not null), c => Assert.Equal(1, c.CostMultiplier));
        Assert.All(report.AdaptiveCosts, c => Assert.Equal(c.MedianAnswersWithout, c.MedianAnswersBeforeClosure));
    }

    [Fact]
    public void Validate_NegativeReviewDelay_Throws()
    {
        var options = new EvaluationOptions { ReviewDelay = TimeSpan.FromHours(-1) };
        Assert.Throws<ArgumentException>(options.Validate);
    }
}
