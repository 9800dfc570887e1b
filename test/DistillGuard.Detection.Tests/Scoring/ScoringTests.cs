using CsCheck;
using DistillGuard.Detection.Scoring;

namespace DistillGuard.Detection.Tests.Scoring;

public sealed class ScoringTests
{
    [Theory]
    [InlineData(0.05)]
    [InlineData(0.01)]
    public void PValue_IsUniformOrConservative_UnderTheReference(double alpha)
    {
        // Continuous (exponential) and heavily tied (mostly zero) features, as shares and volumes are.
        foreach (var draw in new Func<Random, double>[] { r => -Math.Log(1 - r.NextDouble()), r => r.NextDouble() < 0.7 ? 0 : Math.Round(r.NextDouble(), 2) })
        {
            var random = new Random(7);
            var reference = ReferenceDistribution.Fit(Enumerable.Range(0, 5000).Select(_ => draw(random)));
            const int trials = 40_000;
            var rejections = Enumerable.Range(0, trials).Count(_ => reference.PValue(draw(random)) <= alpha);
            var rate = (double)rejections / trials;

            // Valid: P(p ≤ α) ≤ α (up to sampling noise, 4σ); and not uselessly conservative on continuous data.
            Assert.True(rate <= alpha + (4 * Math.Sqrt(alpha / trials)), $"rate {rate} at α {alpha}");
        }
    }

    [Fact]
    public void PValue_IsMonotone_AndExtrapolatesBeyondTheReference()
    {
        var random = new Random(3);
        var reference = ReferenceDistribution.Fit(Enumerable.Range(0, 2000).Select(_ => random.NextDouble()));
        Gen.Double[-1, 3].Select(Gen.Double[0, 1]).Sample((x, dx) => reference.PValue(x + dx) <= reference.PValue(x) + 1e-12);
        Assert.Equal(1, reference.PValue(-5));
        Assert.True(reference.PValue(1.5) < 1.0 / 2001);
        Assert.Equal(1, reference.PValue(double.NaN));
    }

    [Fact]
    public void PValue_ConstantReference_DoesNotExplode()
    {
        var reference = ReferenceDistribution.Fit(Enumerable.Repeat(0.0, 1000));
        Assert.Equal(1, reference.PValue(0));
        Assert.InRange(reference.PValue(1), 0, 1.0 / 1001);
        Assert.Equal(12, new EvidenceCombination().Term(Detector.All[0], reference.PValue(1)));
        Assert.Equal(0, reference.RobustZ(0));
    }

    [Fact]
    public void PValue_AllZeroShares_TinyExcessIsNotEvidence()
    {
        // Every benign account at a share of 0: one elicited request in a thousand must not look like a harvester.
        var floor = Detector.All[(int)DetectorKind.ElicitationShare].TailFloor;
        var reference = ReferenceDistribution.Fit(Enumerable.Repeat(0.0, 1000), floor);
        var detector = Detector.All[(int)DetectorKind.ElicitationShare];
        var combination = new EvidenceCombination();
        Assert.InRange(combination.Term(detector, reference.PValue(0.001)), 0, Math.Log(0.1 * 1001) + 0.03);
        Assert.Equal(12, combination.Term(detector, reference.PValue(0.9)));
        Assert.True(reference.PValue(0.2) < reference.PValue(0.1));
    }

    [Fact]
    public void Combination_TruncatesAtTau_AndCaps()
    {
        var combination = new EvidenceCombination { Tau = 0.1, Cap = 12 };
        var detector = Detector.All[0];
        Assert.Equal(0, combination.Term(detector, 0.5));
        Assert.Equal(0, combination.Term(detector, 0.1));
        Assert.Equal(Math.Log(10), combination.Term(detector, 0.01), 9);
        Assert.Equal(12, combination.Term(detector, 1e-200));
        Gen.Double[1e-12, 1].Select(Gen.Double[1e-12, 1]).Sample((a, b) => a > b ? combination.Term(detector, a) <= combination.Term(detector, b) : combination.Term(detector, a) >= combination.Term(detector, b));
    }

    [Fact]
    public void Combination_WeightsScaleTerms()
    {
        var combination = new EvidenceCombination { Weights = new() { [Detector.All[0].Code] = 0.5, [Detector.All[1].Code] = -3 } };
        Assert.Equal(0.5 * Math.Log(10), combination.Term(Detector.All[0], 0.01), 9);
        Assert.Equal(0, combination.Term(Detector.All[1], 0.01));
    }

    [Fact]
    public void Thresholds_HoldTheirBudget_OnFreshBenignScores()
    {
        var random = new Random(11);
        double Draw() => random.NextDouble() < 0.8 ? 0 : -3 * Math.Log(1 - random.NextDouble());
        var thresholds = RiskThresholds.Fit([.. Enumerable.Range(0, 50_000).Select(_ => Draw())]);
        var fresh = Enumerable.Range(0, 200_000).Select(_ => Draw()).ToArray();
        var review = fresh.Count(s => s >= thresholds.Review) / (double)fresh.Length;
        var friction = fresh.Count(s => s >= thresholds.Friction) / (double)fresh.Length;
        Assert.InRange(review, 0, 1.5e-3);
        Assert.InRange(friction, 0, 2.5e-4);
        Assert.True(thresholds.Friction >= thresholds.Review);
    }

    [Fact]
    public void Thresholds_FromFewUnits_NeverSitBelowTheLargestBenignScore()
    {
        var thresholds = RiskThresholds.Fit([1, 2, 3, 4, 30]);
        Assert.True(thresholds.Review > 30);
        Assert.True(thresholds.Friction >= thresholds.Review);
        Assert.True(double.IsPositiveInfinity(RiskThresholds.Fit([]).Review));
    }

    [Fact]
    public void Cohorts_ComparesVerifiedAndEduWithTheirOwn()
    {
        Assert.Equal("verified", Cohorts.Of(new AccountProfile("standard", Verified: true)));
        Assert.Equal("verified", Cohorts.Of(new AccountProfile("enterprise", false)));
        Assert.Equal("verified", Cohorts.Of(new AccountProfile("verified-research", false)));
        Assert.Equal("edu", Cohorts.Of(new AccountProfile("education", false)));
        Assert.Equal("edu", Cohorts.Of(new AccountProfile("edu", false)));
        Assert.Equal("new", Cohorts.Of(new AccountProfile("free", false)));
        Assert.Equal("new", Cohorts.Of(new AccountProfile("trial", false)));
        Assert.Equal("standard", Cohorts.Of(null));
        Assert.Equal("lt10", Cohorts.Band(3));
        Assert.Equal("1000+", Cohorts.Band(5000));
    }
}
