using DistillGuard.Gateway.Detection;

namespace DistillGuard.Gateway.Tests.Detection;

public sealed class AccountMilestonesTests
{
    [Fact]
    public void Observed_MarksAccountsAtMilestonesOnly_AndDrainTakesEachOnce()
    {
        var milestones = new AccountMilestones();
        for (var requests = 1; requests <= 9; requests++)
        {
            milestones.Observed("quiet", requests);
        }

        milestones.Observed("a", 10);
        milestones.Observed("b", 13);
        milestones.Observed("b", 14);
        milestones.Observed("b", 20); // two milestones before the next pass: held once

        Assert.Equal(["a", "b"], milestones.Drain().Order(StringComparer.Ordinal));
        Assert.Empty(milestones.Drain());

        milestones.Observed("a", 28);
        Assert.Equal(["a"], milestones.Drain());
    }
}
