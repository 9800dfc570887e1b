using System.Runtime.CompilerServices;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Scoring;
using DistillGuard.Usage;

namespace DistillGuard.Detection.Tests.Campaigns;

/// <summary>Continuous linking, history pooling, and the synchronised-activity and client-fingerprint links.</summary>
public sealed class CampaignLinkingTests
{
    private static readonly DateTimeOffset s_start = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
    private const string Persona = "You are an expert data analyst. Provide complete and transparent reasoning for every answer.";
    private static readonly string[] s_subjects = ["photosynthesis", "mitosis", "osmosis", "enzymes", "respiration", "genetics", "evolution", "ecology"];

    private static UsageEvent Event(string account, int n, DateTimeOffset time, string prompt, string address, string agent = "curl/8.5.0") => new()
    {
        RequestId = $"{account}-{n}",
        Timestamp = time,
        AccountId = account,
        ClientAddress = address,
        UserAgent = agent,
        Endpoint = "chat.completions",
        PromptText = prompt,
        PromptTokens = prompt.Length / 4,
        CompletionTokens = 1400,
        MaxTokens = 4096,
        Logprobs = true,
        TopLogprobs = 5,
        Status = 200,
        FinishReason = "stop",
    };

    private static string Harvest(int i) => $"{Persona}\nExplain {s_subjects[i % s_subjects.Length]}. Think step by step and show every step of your reasoning before the final answer.";

    [Fact]
    public async Task Link_EveryPass_FormsTheCampaignWithoutARebuild_AndReportsOnlyNewMembers()
    {
        var graph = new CampaignGraph(new DetectionCalibration());
        for (var i = 0; i < 8; i++)
        {
            // Each account reaches the linker with its first request, and its identity with it.
            graph.SetIdentity(new CampaignIdentity($"f-{i}", $"shell-{i}", "free", false, i < 6 ? "pay-c0de" : $"pay-{i}", s_start.AddDays(-40 * i)));
        }

        Assert.Single(graph.Link(s_start));
        graph = new CampaignGraph(new DetectionCalibration());
        for (var i = 0; i < 4; i++)
        {
            graph.SetIdentity(new CampaignIdentity($"f-{i}", $"shell-{i}", "free", false, "pay-c0de", s_start.AddDays(-40 * i)));
            graph.Observe(Event($"f-{i}", 0, s_start.AddMinutes(i), Harvest(i), $"100.{64 + i}.1.1"));
        }

        Assert.Empty(graph.Link(s_start.AddMinutes(5)));
        Assert.Empty(graph.Campaigns);

        graph.SetIdentity(new CampaignIdentity("f-4", "shell-4", "free", false, "pay-c0de", s_start));
        graph.Observe(Event("f-4", 0, s_start.AddMinutes(6), Harvest(4), "100.70.1.1"));
        var formed = Assert.Single(graph.Link(s_start.AddMinutes(7)));
        Assert.True(formed.RebuildPool);
        Assert.Equal(5, formed.NewMembers.Count);
        // An empty history: only the request observed since the last pass is pooled (earlier ones are the history's to give).
        Assert.Equal(1, await graph.BackfillAsync(formed, new MemoryHistory(), s_start.AddMinutes(7), CancellationToken.None));

        graph.SetIdentity(new CampaignIdentity("f-5", "shell-5", "free", false, "pay-c0de", s_start));
        graph.Observe(Event("f-5", 0, s_start.AddMinutes(8), Harvest(5), "100.71.1.1"));
        graph.Observe(Event("f-0", 1, s_start.AddMinutes(8), Harvest(6), "100.64.1.1"));
        var grown = Assert.Single(graph.Link(s_start.AddMinutes(9)));
        Assert.Equal(formed.CampaignId, grown.CampaignId);
        Assert.Equal(["f-5"], grown.NewMembers);
        Assert.False(grown.RebuildPool);
        Assert.Equal(formed.CampaignId, graph.CampaignOf("f-5"));

        // A pass with no new artifacts changes nothing; a rebuild keeps the id.
        Assert.Empty(graph.Link(s_start.AddMinutes(10)));
        Assert.Equal(formed.CampaignId, Assert.Single(graph.Rebuild(s_start.AddMinutes(11))).Id);
    }

    [Fact]
    public async Task Backfill_FleetThatFinishedItsBurstBeforeItWasLinked_IsScoredOnItsWholeHistory()
    {
        var calibration = DetectionCalibration.LoadDefault();
        Assert.NotNull(calibration);
        var history = new MemoryHistory();
        var accounts = Enumerable.Range(0, 40).Select(i => $"thin-{i}").ToArray();

        // The burst: nine requests per account over a day, stored in the usage log; the linker has not seen it
        // (it was linked only later, or restarted since).
        for (var a = 0; a < accounts.Length; a++)
        {
            for (var r = 0; r < 9; r++)
            {
                history.Add(Event(accounts[a], r, s_start.AddHours((r * 2.5) + (a * 0.05)), Harvest(a + r), "198.18.1.2"));
            }
        }

        var graph = new CampaignGraph(calibration);
        var now = s_start.AddHours(24);
        foreach (var account in accounts)
        {
            graph.SetIdentity(new CampaignIdentity(account, null, "free", false, "pay-f1ee", s_start.AddDays(-3)));
        }

        // One late request per account brings them to the linker; the last one is still queued when the pool is built.
        var late = accounts.Select((a, i) => Event(a, 9, now.AddMinutes(-1), Harvest(i), "198.18.1.2")).ToArray();
        foreach (var e in late[..^1])
        {
            history.Add(e);
        }

        foreach (var e in late)
        {
            graph.Observe(e);
        }

        var change = Assert.Single(graph.Link(now));
        Assert.Equal(late[..^1].Length + (accounts.Length * 9), await graph.BackfillAsync(change, history, now, CancellationToken.None) - 1);

        // The stored copy of the queued request arrives later, and the pool takes it once.
        history.Add(late[^1]);
        graph.Observe(late[^1]);

        var assessment = graph.Assess(change.CampaignId, now);
        Assert.NotNull(assessment?.Pooled);
        Assert.Equal(accounts.Length * 10, assessment.Pooled.RequestsWeek);
        Assert.True(assessment.Evidence >= assessment.ReviewThreshold, $"pooled evidence {assessment.Evidence} under the review threshold {assessment.ReviewThreshold}");
    }

    [Fact]
    public async Task Pool_HoldsEveryMemberRequest_WhenTheFleetIsLinkedWhileItSends()
    {
        // A fleet on one card sending as the gateway sees it: passes every two seconds, the usage log a second behind.
        var graph = new CampaignGraph(DetectionCalibration.LoadDefault()!);
        var history = new MemoryHistory();
        const int accounts = 20, perAccount = 30;
        var sent = new List<UsageEvent>();
        for (var r = 0; r < perAccount; r++)
        {
            for (var a = 0; a < accounts; a++)
            {
                sent.Add(Event($"fleet-{a}", r, s_start.AddSeconds((r * 6) + (a * 0.3)), Harvest(a + r), "198.18.1.2"));
            }
        }

        for (var a = 0; a < accounts; a++)
        {
            graph.SetIdentity(new CampaignIdentity($"fleet-{a}", null, "free", false, "pay-f1ee", s_start.AddDays(-1)));
        }

        var next = 0;
        var looksAfterLastChange = 0;
        string? campaign = null;
        for (var now = s_start.AddSeconds(2); next < sent.Count || now < s_start.AddSeconds((perAccount * 6) + 4); now = now.AddSeconds(2))
        {
            while (next < sent.Count && sent[next].Timestamp < now)
            {
                graph.Observe(sent[next++]);
            }

            foreach (var e in sent.Take(next).Where(e => e.Timestamp < now.AddSeconds(-1) && !history.Contains(e)))
            {
                history.Add(e);
            }

            var changes = graph.Link(now);
            foreach (var change in changes)
            {
                campaign = change.CampaignId;
                await graph.BackfillAsync(change, history, now, CancellationToken.None);
            }

            // Once the fleet stops growing, its pool still comes up for a look at each request-count milestone.
            if (changes.Count == 0 && graph.DrainMilestones().Contains(campaign))
            {
                looksAfterLastChange++;
            }
        }

        Assert.NotNull(campaign);
        Assert.True(looksAfterLastChange >= 3, $"{looksAfterLastChange} milestone looks after the campaign stopped growing");
        var assessment = graph.Assess(campaign, s_start.AddSeconds(perAccount * 6));
        Assert.Equal(accounts, assessment!.Campaign.Members.Count);
        Assert.Equal(accounts * perAccount, assessment.Pooled!.RequestsWeek);
    }

    [Fact]
    public void Link_FleetInStepOnOneTemplate_IsLinkedBySynchronisedActivity_AcrossCardsNetworksAndSignUps()
    {
        var graph = new CampaignGraph(new DetectionCalibration());
        var rng = new Random(7);
        for (var a = 0; a < 30; a++)
        {
            graph.SetIdentity(new CampaignIdentity($"sync-{a}", null, "free", false, $"pay-{a:x4}", s_start.AddDays(-9 * a)));
        }

        // One scheduler fires the whole fleet at six moments of the day, each account within a few minutes of the others.
        for (var burst = 0; burst < 6; burst++)
        {
            var at = s_start.AddHours(1 + (burst * 3.7));
            for (var a = 0; a < 30; a++)
            {
                graph.Observe(Event($"sync-{a}", burst, at.AddSeconds(rng.Next(0, 240)), Harvest(a + burst), $"100.{64 + a}.{a}.9", "python-httpx/0.27"));
            }
        }

        graph.Link(s_start.AddDays(1));
        var campaign = Assert.Single(graph.Campaigns);
        Assert.Equal(30, campaign.Members.Count);
        Assert.Contains(campaign.Links, l => l.Code == "synchronized_template");
    }

    [Fact]
    public void Link_HarnessUsersWithOneSystemPromptAndClient_AtTheirOwnTimes_AreNotLinked()
    {
        var graph = new CampaignGraph(new DetectionCalibration());
        var rng = new Random(11);
        for (var a = 0; a < 200; a++)
        {
            graph.SetIdentity(new CampaignIdentity($"harness-{a}", null, "standard", false, $"pay-{a:x4}", s_start.AddDays(-3 * a)));
            for (var r = 0; r < 8; r++)
            {
                // Each user works at their own hours of the day over a week.
                graph.Observe(Event($"harness-{a}", r, s_start.AddMinutes(rng.Next(0, 7 * 24 * 60)), Harvest(a + r), $"100.{64 + (a % 60)}.{a}.9", "OpenAI/Python 1.54.4"));
            }
        }

        graph.Link(s_start.AddDays(7));
        Assert.Empty(graph.Campaigns);
    }

    [Fact]
    public void Link_PopularHarnessSigningUpUsersEveryDay_IsNotASignUpBurst_AFleetCreatedAtOnceWithItsOwnClientIs()
    {
        var graph = new CampaignGraph(new DetectionCalibration());
        var rng = new Random(3);

        // 300 users of one harness signing up over 120 days: five or so fall in every two-day bucket.
        for (var a = 0; a < 300; a++)
        {
            graph.SetIdentity(new CampaignIdentity($"harness-{a}", null, "standard", false, $"pay-{a:x4}", s_start.AddDays(-120).AddHours(a * 9.6)));
            for (var r = 0; r < 4; r++)
            {
                graph.Observe(Event($"harness-{a}", r, s_start.AddMinutes(rng.Next(0, 7 * 24 * 60)), Harvest(a + r), $"100.{64 + (a % 60)}.{a % 250}.9", "OpenAI/Python 1.54.4"));
            }
        }

        Assert.Empty(graph.Rebuild(s_start.AddDays(7)));

        // Twelve accounts created within an hour with the harness's prompt but their own client: all of that pair's accounts.
        for (var a = 0; a < 12; a++)
        {
            graph.SetIdentity(new CampaignIdentity($"batch-{a}", null, "free", false, $"pay-b{a:x4}", s_start.AddDays(-30).AddMinutes(a * 5)));
            for (var r = 0; r < 4; r++)
            {
                graph.Observe(Event($"batch-{a}", r, s_start.AddMinutes(rng.Next(0, 7 * 24 * 60)), Harvest(a + r), $"203.0.{a}.19", "python-httpx/0.27.0"));
            }
        }

        var campaign = Assert.Single(graph.Rebuild(s_start.AddDays(7)));
        Assert.All(campaign.Members, m => Assert.StartsWith("batch-", m, StringComparison.Ordinal));
        Assert.Contains(campaign.Links, l => l.Code == "template_signup_burst");
    }

    [Fact]
    public void Link_AlwaysOnAgentsWithOnePromptAndClient_AreNotInStep()
    {
        var graph = new CampaignGraph(new DetectionCalibration());
        for (var a = 0; a < 20; a++)
        {
            graph.SetIdentity(new CampaignIdentity($"agent-{a}", null, "standard", false, $"pay-{a:x4}", s_start.AddDays(-5 * a)));
            for (var r = 0; r < 40; r++)
            {
                // A polling agent: a request every ten minutes, every account busy in every bucket.
                graph.Observe(Event($"agent-{a}", r, s_start.AddMinutes((r * 10) + a), Harvest(r), $"100.{64 + a}.1.9", "agent-harness/2.1"));
            }
        }

        graph.Link(s_start.AddDays(1));
        Assert.Empty(graph.Campaigns);
    }

    [Fact]
    public void Link_OneClientFingerprintFromOneSubnetSigningUpTogether_IsOneCampaign_WithoutATemplate()
    {
        var graph = new CampaignGraph(new DetectionCalibration());
        for (var a = 0; a < 12; a++)
        {
            graph.SetIdentity(new CampaignIdentity($"batch-{a}", null, "free", false, $"pay-{a:x4}", s_start.AddDays(-1).AddMinutes(a)));
            for (var r = 0; r < 4; r++)
            {
                // Varied prompts (no dominant template), one scraper client with its odd settings, one /24.
                graph.Observe(Event($"batch-{a}", r, s_start.AddHours((a * 3) + r), $"question {a * 7 + r} about {s_subjects[(a + r) % 8]} and {s_subjects[(a * r) % 8]}?", $"203.0.113.{a + 1}", "scraper/0.1"));
            }
        }

        graph.Link(s_start.AddDays(2));
        var campaign = Assert.Single(graph.Campaigns);
        Assert.Equal(12, campaign.Members.Count);
        Assert.Contains(campaign.Links, l => l.Code == "client_network_signup_burst");
    }

    /// <summary>A usage history in memory, in time order.</summary>
    private sealed class MemoryHistory : IUsageHistory
    {
        private readonly List<UsageEvent> _events = [];

        public void Add(UsageEvent e) => _events.Add(e);

        public bool Contains(UsageEvent e) => _events.Contains(e);

        public async IAsyncEnumerable<UsageEvent> ReadAccountsAsync(IReadOnlyCollection<string> accountIds, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            var set = accountIds.ToHashSet(StringComparer.Ordinal);
            foreach (var e in _events.Where(e => set.Contains(e.AccountId!) && e.Timestamp >= from && e.Timestamp < to).OrderBy(e => e.Timestamp).ToList())
            {
                yield return e;
            }
        }
    }
}
