using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Scoring;
using DistillGuard.ThreatIntel.Indicators;

namespace DistillGuard.ThreatIntel.Tests.Indicators;

public sealed class DetectionReplayTests
{
    [Fact]
    public void FlaggedOperators_NoTraffic_IsEmpty()
    {
        Assert.Empty(DetectionReplay.FlaggedOperators([], new Dictionary<string, CampaignIdentity>(), DetectionCalibration.LoadDefault() ?? new DetectionCalibration()));
    }

    [Fact]
    public void Describe_Candidates_CollectOnlyTheirMembersTraffic()
    {
        var events = IntelFixtures.Fleet(3, 10).Concat(IntelFixtures.Fleet(2, 10, "other", "198.51.100")).ToList();
        var described = OperatorSelection.Describe([new OperatorCandidate("c1", ["fleet-0@example.com", "fleet-1@example.com"], 0.7, "review")], events);
        var op = Assert.Single(described);
        Assert.Equal(20, op.Traits.Requests);
        Assert.Equal(2, op.Traits.Accounts);
        Assert.Equal("203.0.113.0/24", Assert.Single(op.Traits.Networks).Key);
    }
}
