using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.PolicyEvaluation;
using DistillGuard.Lab.Simulation;

namespace DistillGuard.Lab.Tests.PolicyEvaluation;

/// <summary>The replay decides at request-count milestones as the gateway does: a fast harvester is acted on within the hour.</summary>
[Trait("Tier", "Long")]
public sealed class MilestoneReplayTests
{
    private static IReadOnlyDictionary<string, AccountOutcome> Replay(bool milestones) => PolicySimulation.RunScenario(
        new ScenarioOptions
        {
            Seed = 41,
            Duration = TimeSpan.FromDays(1),
            AccountsPerArchetype = TrafficSimulator.Archetypes.ToDictionary(a => a, a => a switch { "naive-harvester" => 3, "casual-chat" => 100, "developer" => 30, _ => 0 }),
        },
        DetectionCalibration.LoadDefault()!,
        new PolicySimulationOptions { DecisionInterval = TimeSpan.FromHours(1), DecideAtMilestones = milestones });

    [Fact]
    public void Replay_WithMilestones_ActsOnHarvestersSooner_AndLeavesLegitimateUsersAlone()
    {
        var hourly = Replay(milestones: false).Values.ToList();
        var withMilestones = Replay(milestones: true).Values.ToList();

        var harvesters = withMilestones.Where(o => o.Archetype == "naive-harvester").ToList();
        Assert.Equal(3, harvesters.Count);
        Assert.All(harvesters, o => Assert.NotNull(o.RequestsAtFirstBand));
        var soonest = harvesters.Max(o => o.RequestsAtFirstBand!.Value);
        var hourlySoonest = hourly.Where(o => o.Archetype == "naive-harvester").Min(o => o.RequestsAtFirstBand ?? long.MaxValue);
        Assert.True(soonest < hourlySoonest, $"milestones: every harvester banded by request {soonest}; hourly: the first at {hourlySoonest}");
        Assert.True(harvesters.Sum(o => o.AttackTokensServed) < hourly.Where(o => o.Archetype == "naive-harvester").Sum(o => o.AttackTokensServed));

        var legitimate = withMilestones.Where(o => !o.IsAttacker).ToList();
        Assert.Equal(0, legitimate.Sum(o => o.Degraded + o.Throttled + o.Refused));
    }
}
