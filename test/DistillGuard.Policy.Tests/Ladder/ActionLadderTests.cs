using DistillGuard.Policy.Configuration;
using DistillGuard.Policy.Ladder;

namespace DistillGuard.Policy.Tests.Ladder;

public sealed class ActionLadderTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly PolicyDocument s_policy = new();

    private static RiskInput Risk(double evidence) => new(evidence, ReviewThreshold: 10, FrictionThreshold: 20, Sufficient: true);

    [Theory]
    [InlineData(5, RiskBand.None)]
    [InlineData(10, RiskBand.Review)]
    [InlineData(19.9, RiskBand.Review)]
    [InlineData(20, RiskBand.Friction)]
    public void Decide_StandardTier_FollowsTheCalibratedBands(double evidence, RiskBand band)
    {
        var decision = ActionLadder.Decide(s_policy, new AccountStanding("a", "standard", false), Risk(evidence), s_now);
        Assert.Equal(band, decision.Band);
    }

    [Fact]
    public void Decide_ShippedDefault_ReviewBoostsAndReduces_FrictionAlsoThrottlesAndAsksForVerification()
    {
        var review = ActionLadder.Decide(s_policy, new AccountStanding("a", "standard", false), Risk(12), s_now);
        Assert.True(review.Has(LadderAction.WatermarkBoost));
        Assert.True(review.Has(LadderAction.ReduceDistillability));
        Assert.False(review.Has(LadderAction.Throttle));
        Assert.False(review.Has(LadderAction.Suspend));

        var friction = ActionLadder.Decide(s_policy, new AccountStanding("a", "standard", false), Risk(25), s_now);
        Assert.True(friction.Has(LadderAction.Throttle));
        Assert.True(friction.Has(LadderAction.RequireVerification));
        Assert.False(friction.Has(LadderAction.Suspend));
    }

    [Fact]
    public void Decide_VerifiedResearch_NeedsMoreEvidence_ButIsNotExempt()
    {
        var account = new AccountStanding("r", "verified-research", Verified: true);
        Assert.Equal(RiskBand.None, ActionLadder.Decide(s_policy, account, Risk(15), s_now).Band);
        var high = ActionLadder.Decide(s_policy, account, Risk(45), s_now);
        Assert.Equal(RiskBand.Friction, high.Band);
        Assert.True(high.Has(LadderAction.Throttle));
        Assert.False(high.Has(LadderAction.RequireVerification));
    }

    [Fact]
    public void Decide_Allowlisted_RecordsWhatWouldHaveHappened()
    {
        var decision = ActionLadder.Decide(s_policy, new AccountStanding("a", "standard", false, ManualStatus.Allowlisted), Risk(25), s_now);
        Assert.True(decision.IsPassive);
        Assert.Contains(LadderAction.Throttle, decision.Shadowed);
    }

    [Fact]
    public void Decide_Cleared_PausesUntilGraceEndsOrTheBandClimbs()
    {
        var cleared = new AccountStanding("a", "standard", false, ManualStatus.Cleared, s_now.AddDays(-1), RiskBand.Review);
        Assert.True(ActionLadder.Decide(s_policy, cleared, Risk(12), s_now).IsPassive);
        Assert.False(ActionLadder.Decide(s_policy, cleared, Risk(25), s_now).IsPassive);
        Assert.False(ActionLadder.Decide(s_policy, cleared, Risk(12), s_now.AddDays(7)).IsPassive);
    }

    [Fact]
    public void Decide_ShadowRule_DecidesButDoesNotApply()
    {
        var policy = new PolicyDocument { Friction = new BandRule { Actions = ["throttle"], Shadow = true } };
        var decision = ActionLadder.Decide(policy, new AccountStanding("a", "standard", false), Risk(25), s_now);
        Assert.True(decision.IsPassive);
        Assert.Contains(LadderAction.Throttle, decision.Shadowed);
    }

    [Fact]
    public void Decide_Suspended_BlocksWhateverTheRisk_InsufficientEvidence_DoesNothing()
    {
        Assert.True(ActionLadder.Decide(s_policy, new AccountStanding("a", "standard", false, ManualStatus.Suspended), Risk(0), s_now).Has(LadderAction.Suspend));
        Assert.True(ActionLadder.Decide(s_policy, new AccountStanding("a", "standard", false), new RiskInput(100, 10, 20, Sufficient: false), s_now).IsPassive);
    }

    [Fact]
    public void Validate_RefusesUnknownActions_AutomaticSuspension_AndImpossibleThresholds()
    {
        var policy = new PolicyDocument
        {
            Review = new BandRule { Actions = ["watermark_boost", "teleport"] },
            Friction = new BandRule { Actions = ["suspend"] },
            Tiers = { ["odd"] = new TierRule { ReviewMultiplier = 3, FrictionMultiplier = 2 } },
        };
        var problems = policy.Validate().ToList();
        Assert.Contains(problems, p => p.Path == "$.review.actions[1]" && p.Reason.Contains("teleport", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "$.friction.actions[0]" && p.Reason.Contains("human", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "$.tiers.odd.frictionMultiplier");
        Assert.Empty(new PolicyDocument().Validate());
    }

    private static RiskInput ThinMemberOf(double campaignEvidence) =>
        new(0, ReviewThreshold: 10, FrictionThreshold: 20, Sufficient: false, Campaign: new CampaignRisk("cmp-1", 100, campaignEvidence, ReviewThreshold: 10, FrictionThreshold: 20, Sufficient: true));

    [Fact]
    public void Decide_CampaignInTheFrictionBand_RaisesAMemberTooThinToScore_AndSaysWhy()
    {
        var decision = ActionLadder.Decide(s_policy, new AccountStanding("hydra-7", "free", false), ThinMemberOf(25), s_now);

        Assert.Equal(RiskBand.Friction, decision.Band);
        Assert.True(decision.Has(LadderAction.RequireVerification));
        Assert.Equal("cmp-1", decision.CampaignId);
        Assert.Contains("via campaign cmp-1 of 100 linked accounts", decision.Explanation, StringComparison.Ordinal);
        Assert.Equal(RiskBand.None, ActionLadder.OwnBand(s_policy, "free", ThinMemberOf(25)));
    }

    [Fact]
    public void Decide_CampaignBelowItsBands_OrUnscored_LeavesTheMemberAlone()
    {
        Assert.Equal(RiskBand.None, ActionLadder.Decide(s_policy, new AccountStanding("m", "free", false), ThinMemberOf(5), s_now).Band);
        var unscored = new RiskInput(0, 10, 20, false, Campaign: new CampaignRisk("cmp-2", 8, 50, 10, 20, Sufficient: false));
        Assert.Equal(RiskBand.None, ActionLadder.Decide(s_policy, new AccountStanding("m", "free", false), unscored, s_now).Band);
    }

    [Fact]
    public void Decide_VerifiedResearchMember_NeedsStrongerCampaignEvidence_ButIsNotExempt()
    {
        // The tier's multipliers (2×) apply to the campaign's evidence too.
        Assert.Equal(RiskBand.Review, ActionLadder.Decide(s_policy, new AccountStanding("m", "standard", false), ThinMemberOf(15), s_now).Band);
        Assert.Equal(RiskBand.None, ActionLadder.Decide(s_policy, new AccountStanding("m", "verified-research", true), ThinMemberOf(15), s_now).Band);
        Assert.Equal(RiskBand.Friction, ActionLadder.Decide(s_policy, new AccountStanding("m", "verified-research", true), ThinMemberOf(45), s_now).Band);
    }

    [Fact]
    public void Decide_FringeMember_GetsItsCampaignsBandOneLower()
    {
        RiskInput Fringe(double evidence) => ThinMemberOf(evidence) with { Campaign = ThinMemberOf(evidence).Campaign! with { Core = false } };
        Assert.Equal(RiskBand.Review, ActionLadder.Decide(s_policy, new AccountStanding("m", "standard", false), Fringe(25), s_now).Band);
        Assert.Equal(RiskBand.None, ActionLadder.Decide(s_policy, new AccountStanding("m", "standard", false), Fringe(15), s_now).Band);
    }

    [Fact]
    public void Decide_AccountsOwnBandAboveItsCampaigns_Wins()
    {
        var risk = new RiskInput(25, 10, 20, true, Campaign: new CampaignRisk("cmp-3", 6, 12, 10, 20, true));
        var decision = ActionLadder.Decide(s_policy, new AccountStanding("m", "standard", false), risk, s_now);
        Assert.Equal(RiskBand.Friction, decision.Band);
        Assert.DoesNotContain("via campaign", decision.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void ReductionFor_ReviewCapsLengthOnly_FrictionAlsoDropsLogprobsAndChoices()
    {
        var review = s_policy.ReductionFor(RiskBand.Review);
        Assert.False(review.DropLogprobs);
        Assert.Null(review.MaxChoices);
        Assert.Equal(512, review.MaxTokens);
        Assert.True(review.StripReasoning);

        var friction = s_policy.ReductionFor(RiskBand.Friction);
        Assert.True(friction.DropLogprobs);
        Assert.Equal(1, friction.MaxChoices);
        Assert.Same(s_policy.Reduce, friction);
    }

    [Fact]
    public void Validate_RefusesABandReductionBelowTheMinimumLength()
    {
        var policy = new PolicyDocument();
        policy.Review.Reduce = new() { MaxTokens = 4, MaxChoices = 0 };
        var problems = policy.Validate().ToList();
        Assert.Contains(problems, p => p.Path == "$.review.reduce.maxTokens");
        Assert.Contains(problems, p => p.Path == "$.review.reduce.maxChoices");
    }
}
