using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Scoring;
using DistillGuard.Usage;

namespace DistillGuard.Detection.Tests.Campaigns;

public sealed class CampaignGraphTests
{
    private static readonly DateTimeOffset s_start = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
    private const string Persona = "You are an expert data analyst. Provide complete and transparent reasoning for every answer.";
    private const string Assignment = "For my biology 101 assignment: explain {0} step by step and give one example. Max 300 words.";
    private static readonly string[] s_subjects = ["photosynthesis", "mitosis", "osmosis", "enzymes", "respiration", "genetics", "evolution", "ecology"];

    private static CampaignGraph NewGraph() => new(new DetectionCalibration());

    /// <summary>Feeds <paramref name="requests"/> requests per account, spread over an hour each, and rebuilds.</summary>
    private static IReadOnlyList<Campaign> Run(CampaignGraph graph, IEnumerable<(string Id, string Address, string Agent, Func<int, string> Prompt)> accounts, int requests = 6)
    {
        var id = 0;
        foreach (var (account, address, agent, prompt) in accounts)
        {
            for (var i = 0; i < requests; i++)
            {
                graph.Observe(Event(account, ref id, s_start.AddMinutes(i * 10), prompt(i), address, agent));
            }
        }

        return graph.Rebuild(s_start.AddHours(2));
    }

    private static UsageEvent Event(string account, ref int id, DateTimeOffset time, string prompt, string address, string agent) => new()
    {
        RequestId = $"{account}-{id++}",
        Timestamp = time,
        AccountId = account,
        ClientAddress = address,
        UserAgent = agent,
        Endpoint = "chat.completions",
        PromptText = prompt,
        PromptTokens = prompt.Length / 4,
        CompletionTokens = 1400,
        MaxTokens = 4096,
        Status = 200,
        FinishReason = "stop",
    };

    private static Func<int, string> Harvest(int salt) => i => $"{Persona}\nExplain {s_subjects[(i + salt) % s_subjects.Length]}. Think step by step and show every step of your reasoning before the final answer.";

    private static Func<int, string> Diverse(int salt) => i => $"{s_subjects[(i * 3 + salt) % s_subjects.Length]} question number {salt} of the day: what do people get wrong about {s_subjects[(i + salt) % s_subjects.Length]}?";

    [Fact]
    public void Link_SharedPaymentAcrossUnrelatedOrgs_JoinsThemWithTheReason()
    {
        var graph = NewGraph();
        for (var i = 0; i < 6; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"acct-{i}", $"org-{i}", "free", false, "pay-7f3a", s_start.AddDays(-i * 30)));
        }

        var campaigns = Run(graph, Enumerable.Range(0, 6).Select(i => ($"acct-{i}", $"100.64.{i}.9", "curl/8.5.0", Diverse(i))));

        var campaign = Assert.Single(campaigns);
        Assert.Equal(6, campaign.Members.Count);
        var link = Assert.Single(campaign.Links);
        Assert.Equal(CampaignLinkKind.SharedPayment, link.Kind);
        Assert.Equal("shared_payment", link.Code);
        Assert.Equal(6, link.Accounts);
        Assert.Equal(campaign.Id, graph.CampaignOf("acct-3"));
        Assert.True(campaign.LinkScore > 0.8);

        // One card and nothing else in common: every member is fringe (a discounted band, never suspended with the campaign).
        Assert.Equal(6, campaign.Fringe.Count);
    }

    [Fact]
    public void Link_ACustomerWhoseCardCollidesWithAFleets_IsAFringeMember_TheFleetIsCore()
    {
        var graph = NewGraph();
        var burst = s_start.AddDays(-5);
        for (var i = 0; i < 10; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"fleet-{i}", $"shell-{i}", "free", false, "pay-0bad", burst.AddHours(i)));
        }

        graph.SetIdentity(new CampaignIdentity("bystander", "family", "standard", false, "pay-0bad", s_start.AddDays(-400)));
        var fleet = Enumerable.Range(0, 10).Select(i => ($"fleet-{i}", $"198.18.5.{i + 1}", "curl/8.5.0", Harvest(i)));
        var campaign = Assert.Single(Run(graph, fleet.Append(("bystander", "100.99.1.1", "OpenAI/Python 1.54.4", Diverse(3)))));

        Assert.Equal(11, campaign.Members.Count);
        Assert.Equal(["bystander"], campaign.Fringe);
        Assert.True(campaign.IsCore("fleet-4"));
        Assert.False(campaign.IsCore("bystander"));
    }

    [Fact]
    public void Link_StudentsOfOneUniversityBehindOneNatWithOneAssignment_AreNotACampaign()
    {
        var graph = NewGraph();
        for (var i = 0; i < 40; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"student-{i}", "univ-007", "edu", false, $"pay-{i:x4}", s_start.AddDays(-1 - (i % 3))));
        }

        // One NAT address, one assignment template, one client, sign-ups within days: everything but a declared org differs.
        var campaigns = Run(graph, Enumerable.Range(0, 40).Select(i => ($"student-{i}", "198.18.4.77", "Mozilla/5.0 (course portal)", (Func<int, string>)(r => string.Format(System.Globalization.CultureInfo.InvariantCulture, Assignment, s_subjects[(r + i) % s_subjects.Length])))));

        Assert.Empty(campaigns);
        Assert.Null(graph.CampaignOf("student-0"));
    }

    [Fact]
    public void Link_CompanyEmployeesOnOneEgressSubnet_AreNotACampaign()
    {
        var graph = NewGraph();
        for (var i = 0; i < 30; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"emp-{i}", "acme", "standard", false, $"pay-{i:x4}", s_start.AddDays(-200 + i)));
        }

        var campaigns = Run(graph, Enumerable.Range(0, 30).Select(i => ($"emp-{i}", $"198.19.20.{i + 1}", "OpenAI/Python 1.54.4", Harvest(0))));

        Assert.Empty(campaigns);
    }

    [Fact]
    public void Link_UnrelatedCustomersSharingOnlyAPopularHarnessPrompt_AreNotACampaign()
    {
        var graph = NewGraph();
        for (var i = 0; i < 50; i++)
        {
            // Independent sign-ups months apart, own networks and cards: only the system prompt (and a common SDK) is shared.
            graph.SetIdentity(new CampaignIdentity($"user-{i}", null, "standard", false, $"pay-{i:x4}", s_start.AddDays(-7 * (i + 1))));
        }

        var campaigns = Run(graph, Enumerable.Range(0, 50).Select(i => ($"user-{i}", $"100.{64 + i}.3.9", "OpenAI/Python 1.54.4", Harvest(i))));

        Assert.Empty(campaigns);
    }

    [Fact]
    public void Link_ABatchJobSpreadOverOneOrgsAccounts_IsNotACampaign()
    {
        var graph = NewGraph();
        for (var i = 0; i < 8; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"batch-{i}", "retailer", "enterprise", true, "pay-corp", s_start.AddHours(-i)));
        }

        // One corporate card, one subnet, one template, created together: one declared customer, so no hidden operator.
        var campaigns = Run(graph, Enumerable.Range(0, 8).Select(i => ($"batch-{i}", $"198.18.9.{i + 1}", "python-requests/2.32.3", Harvest(i))));

        Assert.Empty(campaigns);
    }

    [Fact]
    public void Link_FleetOnOneProxyBlockWithOneTemplate_IsOneCampaign_EvenWithOwnCards()
    {
        var graph = NewGraph();
        for (var i = 0; i < 12; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"hydra-{i}", $"org-{i}", "free", false, $"pay-{i:x4}", s_start.AddDays(-100 * (i + 1))));
        }

        var campaigns = Run(graph, Enumerable.Range(0, 12).Select(i => ($"hydra-{i}", $"198.18.77.{i + 10}", i % 2 == 0 ? "curl/8.5.0" : "axios/1.7.7", Harvest(i))));

        var campaign = Assert.Single(campaigns);
        Assert.Equal(12, campaign.Members.Count);
        Assert.Contains(campaign.Links, l => l.Kind == CampaignLinkKind.NetworkAndTemplate && l.Artifact.Contains("198.18.77.0/24", StringComparison.Ordinal));
    }

    [Fact]
    public void Link_SignUpBurstWithOneTemplateAndClient_IsOneCampaign_AcrossNetworks()
    {
        var graph = NewGraph();
        var burst = new DateTimeOffset(2026, 2, 20, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 7; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"fresh-{i}", null, "trial", false, null, burst.AddHours(3 * i)));
        }

        var campaigns = Run(graph, Enumerable.Range(0, 7).Select(i => ($"fresh-{i}", $"100.{70 + i}.1.1", "OpenAI/NodeJS 4.67.1", Harvest(i))));

        var campaign = Assert.Single(campaigns);
        Assert.All(campaign.Links, l => Assert.Equal(CampaignLinkKind.TemplateAndSignUpBurst, l.Kind));
    }

    [Fact]
    public void Link_GroupSmallerThanMinMembers_IsNotACampaign()
    {
        var graph = NewGraph();
        for (var i = 0; i < 4; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"pair-{i}", null, "free", false, "pay-0001", s_start));
        }

        Assert.Empty(Run(graph, Enumerable.Range(0, 4).Select(i => ($"pair-{i}", $"100.64.{i}.1", "curl/8.5.0", Diverse(i)))));
    }

    [Fact]
    public void Rebuild_CampaignIdIsStable_AsMembersJoin()
    {
        var graph = NewGraph();
        for (var i = 0; i < 10; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"m-{i}", null, "free", false, "pay-beef", s_start));
        }

        var first = Assert.Single(Run(graph, Enumerable.Range(0, 6).Select(i => ($"m-{i}", "100.64.0.1", "curl/8.5.0", Diverse(i)))));
        var second = Assert.Single(Run(graph, Enumerable.Range(6, 4).Select(i => ($"m-{i}", "100.64.0.1", "curl/8.5.0", Diverse(i)))));

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(10, second.Members.Count);
    }

    [Fact]
    public void Assess_FleetOfThinAccounts_PooledTrafficReachesABand_WhileNoAccountCanBeScoredAlone()
    {
        var calibration = DetectionCalibration.LoadDefault();
        Assert.NotNull(calibration);
        var graph = new CampaignGraph(calibration);
        var accounts = Enumerable.Range(0, 40).Select(i => $"thin-{i}").ToArray();
        foreach (var account in accounts)
        {
            graph.SetIdentity(new CampaignIdentity(account, null, "free", false, "pay-f1ee", s_start.AddDays(-3)));
        }

        // First pass: the accounts are linked (by their card); from then on their traffic is pooled.
        var id = 0;
        foreach (var account in accounts)
        {
            graph.Observe(Event(account, ref id, s_start, Harvest(0)(0), "198.18.1.2", "curl/8.5.0"));
        }

        var campaign = Assert.Single(graph.Rebuild(s_start.AddHours(1)));
        for (var hour = 1; hour < 24; hour++)
        {
            for (var a = 0; a < accounts.Length; a++)
            {
                // Each account sends one request every eight hours: never the ten an account needs to be scored alone.
                if ((hour + a) % 8 == 0)
                {
                    graph.Observe(Event(accounts[a], ref id, s_start.AddHours(hour).AddMinutes(a), Harvest(a)(hour), "198.18.1.2", "curl/8.5.0"));
                }
            }
        }

        var assessment = graph.Assess(campaign.Id, s_start.AddHours(24));
        Assert.NotNull(assessment);
        Assert.True(assessment.Sufficient);
        Assert.True(assessment.Evidence >= assessment.ReviewThreshold, $"pooled evidence {assessment.Evidence} under the review threshold {assessment.ReviewThreshold}");
        Assert.Contains(assessment.Level, new[] { "review", "friction" });
    }

    [Theory]
    [InlineData("198.18.4.77", "198.18.4.0/24")]
    [InlineData("::ffff:10.1.2.3", "10.1.2.0/24")]
    [InlineData("2001:db8:abcd:12::1", "2001:0db8:abcd::/48")]
    [InlineData("not an address", null)]
    [InlineData(null, null)]
    public void NetworkOf_MapsAddressesToTheirPrefix(string? address, string? network) =>
        Assert.Equal(network, AccountArtifacts.NetworkOf(address));
}
