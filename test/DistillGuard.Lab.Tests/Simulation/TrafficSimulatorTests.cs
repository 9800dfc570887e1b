using DistillGuard.Lab.Simulation;

namespace DistillGuard.Lab.Tests.Simulation;

public sealed class TrafficSimulatorTests
{
    // A small scenario (two days, a tenth of the accounts, at least one per archetype) keeps the suite fast.
    private static ScenarioOptions Small(int seed = 7) => new() { Seed = seed, Duration = TimeSpan.FromDays(2), Scale = 0.1 };

    private static readonly Lazy<List<LabelledEvent>> s_small = new(() => [.. TrafficSimulator.Generate(Small())]);

    [Fact]
    public void Generate_SameSeed_SameEvents()
    {
        var again = TrafficSimulator.Generate(Small()).ToList();
        Assert.Equal(s_small.Value.Count, again.Count);
        Assert.Equal(Jsonl(s_small.Value), Jsonl(again));
    }

    [Fact]
    public void Generate_OtherSeed_OtherEvents()
    {
        var other = TrafficSimulator.Generate(Small(seed: 8)).Take(200).Select(e => e.Event.PromptText).ToList();
        Assert.NotEqual(s_small.Value.Take(200).Select(e => e.Event.PromptText), other);
    }

    [Fact]
    public void Generate_EventsAreTimeOrderedInsideTheWindow()
    {
        var options = Small();
        var events = s_small.Value;
        Assert.True(events.Count > 5000, $"only {events.Count} events");
        for (var i = 1; i < events.Count; i++)
        {
            Assert.True(events[i - 1].Event.Timestamp <= events[i].Event.Timestamp, $"event {i} is out of order");
        }

        Assert.All(events, e => Assert.InRange(e.Event.Timestamp, options.Start, options.Start + options.Duration));
        Assert.Equal(events.Count, events.Select(e => e.Event.RequestId).Distinct().Count());
    }

    [Fact]
    public void Generate_EveryArchetypePresentWithItsLabel()
    {
        var byArchetype = s_small.Value.GroupBy(e => e.Archetype).ToDictionary(g => g.Key, g => g.ToList());
        // Held-out families appear only when asked for (HeldOutFamiliesTests).
        Assert.Equal(TrafficSimulator.Archetypes.Except(TrafficSimulator.HeldOutArchetypes).Order(), byArchetype.Keys.Order());
        Assert.Equal(TrafficSimulator.Archetypes.Count, TrafficSimulator.AttackerArchetypes.Count + TrafficSimulator.LegitimateArchetypes.Count);
        Assert.True(TrafficSimulator.AttackerArchetypes.Count >= 10);
        Assert.True(TrafficSimulator.LegitimateArchetypes.Count >= 10);
        foreach (var name in TrafficSimulator.LegitimateArchetypes.Except(TrafficSimulator.HeldOutArchetypes))
        {
            Assert.All(byArchetype[name], e => Assert.False(e.IsAttacker || e.Account!.IsAttacker));
        }

        foreach (var name in TrafficSimulator.AttackerArchetypes.Except(TrafficSimulator.HeldOutArchetypes).Where(a => a != "reseller"))
        {
            Assert.All(byArchetype[name], e => Assert.True(e.IsAttacker && e.Account!.IsAttacker));
        }

        Assert.All(byArchetype["licensed-synthetic-data"], e => Assert.True(e.Authorised));
        Assert.All(s_small.Value.Where(e => e.Archetype != "licensed-synthetic-data"), e => Assert.False(e.Authorised));
        // A reseller's account is an attacker; its real customers' requests are not.
        Assert.Contains(byArchetype["reseller"], e => e.IsAttacker);
        Assert.Contains(byArchetype["reseller"], e => !e.IsAttacker);
        Assert.All(byArchetype["reseller"], e => Assert.True(e.Account!.IsAttacker));
        Assert.All(byArchetype["hydra-fleet"], e => Assert.StartsWith("hydra-", e.CampaignId));
    }

    [Fact]
    public void Generate_WithoutAttackers_OnlyLegitimate()
    {
        var options = Small();
        options.IncludeAttackers = false;
        options.Duration = TimeSpan.FromHours(12);
        Assert.All(TrafficSimulator.Generate(options), e => Assert.Contains(e.Archetype, TrafficSimulator.LegitimateArchetypes));
    }

    [Fact]
    public void Accounts_HaveStableAttributesAndSharedArtifactsWhereExpected()
    {
        var accounts = TrafficSimulator.Accounts(new ScenarioOptions { Seed = 3 });
        Assert.Equal(accounts.Count, accounts.Select(a => a.Id).Distinct().Count());
        foreach (var group in s_small.Value.GroupBy(e => e.Event.AccountId))
        {
            Assert.Single(group.Select(e => (e.Event.ClientAddress, e.Event.UserAgent, e.Account!.PaymentFingerprint, e.Account.Org)).Distinct());
        }

        // Students of one class share the university NAT; hydra accounts share a /24 and a few payment buckets.
        var students = accounts.Where(a => a.Archetype == "student-cohort").Take(40).ToList();
        Assert.Single(students.Select(a => a.ClientAddress).Distinct());
        var hydra = accounts.Where(a => a.CampaignId == "hydra-1").ToList();
        Assert.Equal(100, hydra.Count);
        Assert.Single(hydra.Select(a => a.ClientAddress[..a.ClientAddress.LastIndexOf('.')]).Distinct());
        Assert.InRange(hydra.Select(a => a.PaymentFingerprint).Distinct().Count(), 1, 3);
        Assert.True(accounts.Count > 2000, $"default scenario has {accounts.Count} accounts");
    }

    [Fact]
    public void Scale_MultipliesAccountCounts()
    {
        var baseline = TrafficSimulator.AccountCount("casual-chat", new ScenarioOptions());
        Assert.Equal(baseline * 2, TrafficSimulator.AccountCount("casual-chat", new ScenarioOptions { Scale = 2 }));
        Assert.Equal(7, TrafficSimulator.AccountCount("naive-harvester", new ScenarioOptions { AccountsPerArchetype = new Dictionary<string, int> { ["naive-harvester"] = 7 } }));
        Assert.Equal(0, TrafficSimulator.AccountCount("naive-harvester", new ScenarioOptions { IncludeAttackers = false }));
    }

    [Fact]
    public void Attackers_ConcentrateTemplatesAndElicitMoreThanLegitimateUsers()
    {
        // Sanity of the archetypes' direction, not a detector: share of the top opening skeleton and of reasoning-asking prompts.
        var perAccount = s_small.Value.GroupBy(e => e.Event.AccountId!).Where(g => g.Count() >= 20).Select(g => (
            Archetype: g.First().Archetype,
            Concentration: g.GroupBy(e => Skeleton(LastUser(e))).Max(s => s.Count()) / (double)g.Count(),
            Elicitation: g.Count(e => Elicits(e.Event.PromptText!)) / (double)g.Count())).ToList();
        double Median(IEnumerable<double> xs) => xs.Order().ElementAt(xs.Count() / 2);
        string[] harvesters = ["naive-harvester", "low-and-slow", "hydra-fleet", "timing-mimic"];
        string[] people = ["casual-chat", "developer", "support-bot", "red-teamer"];
        var attack = perAccount.Where(a => harvesters.Contains(a.Archetype)).ToList();
        var legit = perAccount.Where(a => people.Contains(a.Archetype)).ToList();
        Assert.NotEmpty(attack);
        Assert.NotEmpty(legit);
        Assert.True(Median(attack.Select(a => a.Concentration)) > Median(legit.Select(a => a.Concentration)) + 0.3);
        Assert.True(Median(attack.Select(a => a.Elicitation)) > Median(legit.Select(a => a.Elicitation)) + 0.5);
        // The paraphraser still elicits, but no single skeleton dominates its traffic.
        var paraphraser = perAccount.Where(a => a.Archetype == "paraphrasing-adaptive").ToList();
        Assert.All(paraphraser, a => Assert.True(a.Concentration < 0.3, $"paraphraser concentration {a.Concentration}"));
    }

    [Fact]
    public void Prompts_AreDiverseRealText()
    {
        var prompts = s_small.Value.Select(e => LastUser(e)).ToList();
        Assert.True(prompts.Distinct().Count() > prompts.Count * 0.7, $"{prompts.Distinct().Count()} distinct of {prompts.Count}");
        var casual = s_small.Value.Where(e => e.Archetype == "casual-chat" && e.Messages!.Count == 1).Select(e => LastUser(e)).ToList();
        Assert.True(casual.Distinct().Count() > casual.Count * 0.9);
        var words = prompts.SelectMany(p => p.Split(' ')).Distinct().Count();
        Assert.True(words > 10000, $"only {words} distinct words");
    }

    [Fact]
    public void Events_HavePlausibleShapes()
    {
        var events = s_small.Value;
        Assert.All(events, e =>
        {
            Assert.Equal(string.Join('\n', e.Messages!.Select(m => m.Content)), e.Event.PromptText);
            Assert.True(e.Event.PromptTokens > 0);
            if (e.Event.Status == 200)
            {
                Assert.InRange(e.Event.CompletionTokens, 1, (e.Event.MaxTokens ?? 4096) * e.Event.N);
            }
            else
            {
                Assert.Equal(0, e.Event.CompletionTokens);
                Assert.NotNull(e.Event.ErrorCode);
            }
        });
        Assert.Contains(events, e => e.Event.Status == 429);
        Assert.Contains(events, e => e.Event.Status == 400);
        Assert.Contains(events, e => e.Event.Logprobs && e.Event.TopLogprobs == 20);
        Assert.Contains(events, e => e.Event.N > 1);
        Assert.Contains(events, e => e.Event.Stream);
        Assert.Contains(events, e => e.Event.StopCount > 0);
        Assert.Contains(events, e => e.Event.FinishReason == "length");
        // Follow-ups resend the earlier turns.
        var followUp = events.First(e => e.Archetype == "casual-chat" && e.Messages!.Count >= 3);
        Assert.Equal("assistant", followUp.Messages![1].Role);
        Assert.Contains(events, e => e.SessionId == followUp.SessionId && e.Messages!.Count == 1);
    }

    [Fact]
    public void Reseller_FixedShare_IsRespected()
    {
        var options = Small();
        options.ResellerDistillationShare = 0.25;
        options.AccountsPerArchetype = TrafficSimulator.Archetypes.ToDictionary(a => a, a => a == "reseller" ? 20 : 0);
        var events = TrafficSimulator.Generate(options).ToList();
        var share = events.Count(e => e.IsAttacker) / (double)events.Count;
        Assert.InRange(share, 0.22, 0.28);
    }

    [Fact]
    public void Jsonl_RoundTrips()
    {
        var sample = s_small.Value.Where((_, i) => i % 50 == 0).ToList();
        using var stream = new MemoryStream();
        LabelledEventJsonl.Write(sample, stream);
        stream.Position = 0;
        var read = LabelledEventJsonl.Read(stream).ToList();
        Assert.Equal(sample.Count, read.Count);
        Assert.Equal(Jsonl(sample), Jsonl(read));
        Assert.Equal(sample[3].Event, read[3].Event);
        Assert.Equal(sample[3].Account, read[3].Account);
        Assert.Equal(sample.Count, System.Text.Encoding.UTF8.GetString(stream.ToArray()).Count(c => c == '\n'));
    }

    [Fact]
    public void Accounts_UseTheProductsTierNames()
    {
        var policyTiers = new DistillGuard.Policy.Configuration.PolicyDocument().Tiers.Keys;
        var gatewayTiers = new DistillGuard.Gateway.Hosting.RateLimitOptions().Tiers.Keys;
        Assert.All(AccessTiers.All, tier => Assert.Contains(tier, policyTiers));
        Assert.All(AccessTiers.All, tier => Assert.Contains(tier, gatewayTiers));
        var tiers = TrafficSimulator.Accounts(new ScenarioOptions { Seed = 7, Scale = 0.5 }).Select(a => a.Tier).ToHashSet();
        Assert.Subset(AccessTiers.All.ToHashSet(), tiers);
        Assert.Equal(AccessTiers.All.Order(), tiers.Order());
    }

    [Fact]
    public void Jsonl_MalformedLine_NamesTheLine()
    {
        using var stream = new MemoryStream("\n{\"archetype\":\"x\"}\n"u8.ToArray());
        var e = Assert.Throws<System.Text.Json.JsonException>(() => LabelledEventJsonl.Read(stream).ToList());
        Assert.Contains("Line 2", e.Message);
    }

    internal static string LastUser(LabelledEvent e) => e.Messages!.Last(m => m.Role == "user").Content;

    private static string Skeleton(string prompt) => string.Join(' ', prompt.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(3));

    private static bool Elicits(string prompt) =>
        prompt.Contains("step by step", StringComparison.OrdinalIgnoreCase) || prompt.Contains("reasoning", StringComparison.OrdinalIgnoreCase)
        || prompt.Contains("chain of thought", StringComparison.OrdinalIgnoreCase);

    private static string Jsonl(IEnumerable<LabelledEvent> events)
    {
        using var stream = new MemoryStream();
        LabelledEventJsonl.Write(events, stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
