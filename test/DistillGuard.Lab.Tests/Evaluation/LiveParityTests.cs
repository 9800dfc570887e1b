using DistillGuard.Lab.Evaluation;
using DistillGuard.Lab.Simulation;

namespace DistillGuard.Lab.Tests.Evaluation;

public sealed class LiveParityTests
{
    private static List<LabelledEvent> Scenario(params (string Archetype, int Accounts)[] cast) => [.. TrafficSimulator.Generate(new ScenarioOptions
    {
        Seed = 3,
        Duration = TimeSpan.FromHours(12),
        IncludeHeldOut = true,
        AccountsPerArchetype = TrafficSimulator.Archetypes.ToDictionary(a => a, a => cast.FirstOrDefault(c => c.Archetype == a).Accounts),
    })];

    [Fact]
    public void Score_WithTheShippedCalibration_FlagsTheNaiveHarvesterOffline_AndGivesReasons()
    {
        var offline = LiveParity.Score(Scenario(("naive-harvester", 2), ("casual-chat", 30)));
        var harvesters = offline.Where(o => o.Archetype == "naive-harvester").ToList();
        Assert.Equal(2, harvesters.Count);
        Assert.All(harvesters, h =>
        {
            Assert.True(h.FlaggedEver, $"{h.AccountId}: S {h.MaxEvidence}");
            Assert.True(h.IsAttacker);
            Assert.NotEmpty(h.Reasons);
            Assert.True(h.Requests > 100);
        });
        Assert.All(offline.Where(o => o.Archetype == "casual-chat"), o => Assert.False(o.FlaggedEver));
    }

    [Fact]
    public void Table_CountsOfflineLiveAndBothPerArchetype()
    {
        OfflineVerdict Offline(string id, string archetype, bool attacker, bool flagged) => new(id, archetype, attacker, false, 20, flagged, flagged, flagged ? 30 : 1, []);
        LiveVerdict Live(string id, string archetype, bool attacker, bool flagged) => new(id, id, archetype, attacker, false, flagged ? "review" : "low", flagged, flagged ? 0.6 : 0.1);
        var table = LiveParity.Table(
            [Offline("a", "card-fleet", true, true), Offline("b", "card-fleet", true, true), Offline("c", "card-fleet", true, false), Offline("d", "varied-human", false, false)],
            [Live("a", "card-fleet", true, true), Live("b", "card-fleet", true, false), Live("c", "card-fleet", true, true), Live("d", "varied-human", false, false)]);
        var fleet = Assert.Single(table, r => r.Archetype == "card-fleet");
        Assert.Equal(("attacker", true, 3, 2, 2, 1), (fleet.Kind, fleet.HeldOut, fleet.Accounts, fleet.OfflineFlagged, fleet.LiveFlagged, fleet.Both));
        var human = Assert.Single(table, r => r.Archetype == "varied-human");
        Assert.Equal(("legitimate", 1, 0, 0), (human.Kind, human.Accounts, human.OfflineFlagged, human.LiveFlagged));
    }
}
