using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Watermarking.Tests.Statistics;

public sealed class TailTests
{
    // Reference values: exact rational sums (Python fractions) for the binomial, 60-digit decimal sums for the gamma.
    [Theory]
    [InlineData(100, 40, -7.283770025733617)]
    [InlineData(200, 120, -57.37607179468094)]
    [InlineData(50, 13, -0.7153645152094157)]
    [InlineData(1000, 700, -449.2853965816504)]
    [InlineData(2000, 1500, -1102.3772125393195)]
    public void BinomialUpper_MatchesExactRationalSum(int n, int s, double expectedLog)
    {
        Assert.Equal(expectedLog, BinomialTail.LogUpper(n, s, 0.25), 9);
    }

    [Fact]
    public void BinomialUpper_AllGreen_IsGammaToTheN_FarBelowDoubleRange()
    {
        Assert.Equal(1000 * Math.Log(0.25), BinomialTail.LogUpper(1000, 1000, 0.25), 8);
        Assert.Equal(Math.Log(0.5), BinomialTail.LogUpper(5, 3, 0.5), 12);
        Assert.Equal(0, BinomialTail.LogUpper(10, 0, 0.25));
        Assert.Equal(double.NegativeInfinity, BinomialTail.LogUpper(10, 11, 0.25));
    }

    [Theory]
    [InlineData(30)]
    [InlineData(300)]
    public void BinomialTails_Complement(int n)
    {
        for (var s = 0; s <= n; s++)
        {
            var total = Math.Exp(BinomialTail.LogUpper(n, s + 1, 0.25)) + Math.Exp(BinomialTail.LogLower(n, s, 0.25));
            Assert.Equal(1.0, total, 12);
        }
    }

    [Theory]
    [InlineData(50, 80, -8.94196362956907048845527365712773238276953598785193292915044)]
    [InlineData(200, 260, -9.95477822707429446250200817212249376435326088834598320576892)]
    [InlineData(1000, 1500, -98.2205681833646145664137464733565924228616861563495792282062)]
    public void GammaUpper_MatchesHighPrecisionSum(int n, double x, double expectedLog)
    {
        Assert.Equal(expectedLog, GammaTail.LogUpper(n, x), 9);
    }

    [Fact]
    public void GammaUpper_ClosedForms()
    {
        Assert.Equal(-3.0, GammaTail.LogUpper(1, 3.0), 12);
        Assert.Equal(-3.0 + Math.Log(4), GammaTail.LogUpper(2, 3.0), 12);
        Assert.Equal(0, GammaTail.LogUpper(5, 0));
        Assert.True(GammaTail.LogUpper(100, 5000) < -4000);
    }

    [Fact]
    public void Sidak_SmallP_IsBonferroni_LargeP_IsExact()
    {
        Assert.Equal(Math.Log(1e-40 * 16), LogProbability.Sidak(Math.Log(1e-40), 16), 9);
        Assert.Equal(1 - Math.Pow(0.9, 3), Math.Exp(LogProbability.Sidak(Math.Log(0.1), 3)), 12);
        Assert.Equal(-500.0, LogProbability.Sidak(-500, 1));
    }

    [Fact]
    public void RandomizedUpper_LiesBetweenStrictAndConservativeTails()
    {
        var strict = BinomialTail.LogUpper(80, 31, 0.25);
        var conservative = BinomialTail.LogUpper(80, 30, 0.25);
        var randomized = BinomialTail.LogRandomizedUpper(80, 30, 0.25, 0.5);
        Assert.InRange(randomized, strict, conservative);
    }
}
