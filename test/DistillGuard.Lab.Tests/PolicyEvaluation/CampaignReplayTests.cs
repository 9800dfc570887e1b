using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.PolicyEvaluation;
using DistillGuard.Lab.Simulation;

namespace DistillGuard.Lab.Tests.PolicyEvaluation;

/// <summary>The replay with campaign linking: a hydra fleet is caught as one, while the crowds that resemble it are not.</summary>
[Trait("Tier", "Long")]
public sealed class CampaignReplayTests
{
    // One hydra fleet among the legitimate crowds most likely to be linked by mistake: two classes of students behind
    // their university NATs, users of one agent harness prompt, enterprise batch jobs; two days keep the test quick.
    private static ScenarioOptions Scenario() => new()
    {
        Seed = 5,
        Duration = TimeSpan.FromDays(2),
        AccountsPerArchetype = new Dictionary<string, int>
        {
            ["casual-chat"] = 150,
            ["developer"] = 50,
            ["eval-researcher"] = 0,
            ["enterprise-batch"] = 10,
            ["support-bot"] = 0,
            ["translation-pipeline"] = 10,
            ["red-teamer"] = 0,
            ["licensed-synthetic-data"] = 0,
            ["student-cohort"] = 80,
            ["agent-harness"] = 100,
            ["naive-harvester"] = 0,
            ["low-and-slow"] = 0,
            ["coverage-sweeper"] = 0,
            ["capability-farmer"] = 0,
            ["reasoning-extractor"] = 0,
            ["paraphrasing-adaptive"] = 0,
            ["timing-mimic"] = 0,
            ["logprob-prober"] = 0,
            ["reseller"] = 0,
            ["hydra-fleet"] = 100,
        },
    };

    private static IReadOnlyDictionary<string, AccountOutcome> Replay(bool linkCampaigns) => PolicySimulation.RunScenario(
        Scenario(),
        DetectionCalibration.LoadDefault()!,
        new PolicySimulationOptions { DecisionInterval = TimeSpan.FromHours(1), HumanReviewDelay = TimeSpan.FromHours(24), LinkCampaigns = linkCampaigns });

    [Fact]
    public void Replay_HydraFleet_IsActedOnAsOneCampaign_LegitimateCrowdsAreNeverInAFlaggedCampaign()
    {
        var linked = Replay(linkCampaigns: true);
        var hydra = linked.Values.Where(o => o.Archetype == "hydra-fleet").ToList();
        var legitimate = linked.Values.Where(o => !o.IsAttacker).ToList();

        Assert.Equal(100, hydra.Count);
        Assert.All(hydra, o => Assert.True(o.InFlaggedCampaign, $"{o.AccountId} was not in a flagged campaign"));
        Assert.DoesNotContain(legitimate, o => o.InFlaggedCampaign);
        Assert.DoesNotContain(legitimate, o => o.Suspended);
        Assert.Equal(0, legitimate.Sum(o => o.Degraded + o.Throttled + o.Refused));

        // Against the same traffic without linking, the fleet harvests several times more.
        var alone = Replay(linkCampaigns: false).Values.Where(o => o.Archetype == "hydra-fleet").Sum(o => o.AttackTokensServed);
        var together = hydra.Sum(o => o.AttackTokensServed);
        Assert.True(together * 3 < alone, $"served {together:N0} tokens with campaigns, {alone:N0} without");
    }
}
