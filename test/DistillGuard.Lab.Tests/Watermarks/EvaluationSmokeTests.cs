using DistillGuard.Lab.Watermarks;

namespace DistillGuard.Lab.Tests.Watermarks;

public sealed class EvaluationSmokeTests(SmallModelFixture fixture) : IClassFixture<SmallModelFixture>
{
    [Fact]
    public void QuickEvaluation_RendersEveryTableAndPlot()
    {
        var result = WatermarkEvaluation.Run(fixture.Model, EvaluationSettings.Quick);
        var images = Path.Combine(Path.GetTempPath(), "dg-wm-eval-" + Guid.NewGuid().ToString("N"));
        try
        {
            var markdown = EvaluationReport.Render(result, "distillguard watermark eval --quick", images, "images");

            Assert.Contains("### False positives", markdown, StringComparison.Ordinal);
            Assert.Contains("### Power", markdown, StringComparison.Ordinal);
            Assert.Contains("### Robustness", markdown, StringComparison.Ordinal);
            Assert.Contains("### Quality", markdown, StringComparison.Ordinal);
            Assert.Equal(3, Directory.GetFiles(images, "watermark-*.svg").Length);
            Assert.True(result.Power.First(r => r.Scheme == "green-list" && r.Tokens == 200).Rate > 0.8);
            Assert.All(result.Nulls, n => Assert.True(n.Rates[0].FalsePositives < n.Texts * 0.03));
        }
        finally
        {
            if (Directory.Exists(images))
            {
                Directory.Delete(images, recursive: true);
            }
        }
    }

    [Fact]
    public void Intervals_MatchKnownValues()
    {
        var (low, high) = EvaluationStatistics.ClopperPearson(10, 100_000);
        Assert.InRange(low, 4.7e-5, 4.9e-5);
        Assert.InRange(high, 1.83e-4, 1.85e-4);
        var wilson = DistillGuard.Lab.Evaluation.BinomialInterval.Of(90, 100);
        Assert.InRange(wilson.Lower, 0.823, 0.826);
        Assert.InRange(wilson.Upper, 0.944, 0.946);
    }
}
