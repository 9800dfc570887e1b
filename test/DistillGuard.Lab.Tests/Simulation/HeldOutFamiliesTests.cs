using System.Text.RegularExpressions;
using DistillGuard.Lab.Simulation;

namespace DistillGuard.Lab.Tests.Simulation;

public sealed partial class HeldOutFamiliesTests
{
    private static readonly string[] s_heldOutAttackers = ["soft-label-harvester", "four-setting-prober", "plain-spoken-harvester", "blended-reseller", "card-fleet"];
    private static readonly string[] s_heldOutLegitimate = ["shared-support-bot", "varied-human"];

    private static ScenarioOptions HeldOutOnly(int seed = 5, PhrasingSource phrasings = PhrasingSource.Simulator, double days = 2) => new()
    {
        Seed = seed,
        Duration = TimeSpan.FromDays(days),
        IncludeHeldOut = true,
        Phrasings = phrasings,
        AccountsPerArchetype = TrafficSimulator.Archetypes.ToDictionary(a => a, a => TrafficSimulator.HeldOutArchetypes.Contains(a) ? (a == "card-fleet" ? 60 : a == "varied-human" ? 20 : 2) : 0),
    };

    private static readonly Lazy<List<LabelledEvent>> s_heldOut = new(() => [.. TrafficSimulator.Generate(HeldOutOnly())]);

    [Fact]
    public void HeldOutArchetypes_AreTheNewFamilies()
    {
        Assert.Equal(s_heldOutAttackers.Concat(s_heldOutLegitimate).Order(), TrafficSimulator.HeldOutArchetypes.Order());
        Assert.All(s_heldOutAttackers, a => Assert.Contains(a, TrafficSimulator.AttackerArchetypes));
        Assert.All(s_heldOutLegitimate, a => Assert.Contains(a, TrafficSimulator.LegitimateArchetypes));
    }

    [Fact]
    public void Generate_WithoutHeldOut_HasNoneOfThem_AndAddingThemLeavesEveryOtherAccountAsItWas()
    {
        var options = new ScenarioOptions { Seed = 9, Duration = TimeSpan.FromHours(12), Scale = 0.05 };
        var without = TrafficSimulator.Generate(options).ToList();
        Assert.DoesNotContain(without, e => TrafficSimulator.HeldOutArchetypes.Contains(e.Archetype));
        Assert.DoesNotContain(TrafficSimulator.Accounts(options), a => TrafficSimulator.HeldOutArchetypes.Contains(a.Archetype));

        options.IncludeHeldOut = true;
        var with = TrafficSimulator.Generate(options).ToList();
        Assert.Contains(with, e => TrafficSimulator.HeldOutArchetypes.Contains(e.Archetype));
        var others = with.Where(e => !TrafficSimulator.HeldOutArchetypes.Contains(e.Archetype)).ToList();
        Assert.Equal(without.Select(Line), others.Select(Line));
    }

    [Fact]
    public void SoftLabelHarvester_SendsAThousandTemplatedShortAnswerRequestsWithTopFiveLogprobs()
    {
        var accounts = s_heldOut.Value.Where(e => e.Archetype == "soft-label-harvester").GroupBy(e => e.Event.AccountId).ToList();
        Assert.Equal(2, accounts.Count);
        foreach (var account in accounts)
        {
            Assert.Equal(1000, account.Count());
            Assert.All(account, e =>
            {
                Assert.True(e.Event.Logprobs);
                Assert.Equal(5, e.Event.TopLogprobs);
                Assert.Equal(12, e.Event.MaxTokens);
                Assert.InRange(e.Event.CompletionTokens, 0, 12);
            });
            // One template (each opens with its own fixed words), filled with ever-new concepts.
            Assert.Single(account.Select(e => e.Event.PromptText![..4]).Distinct());
            Assert.True(account.Select(e => e.Event.PromptText).Distinct().Count() > 900);
        }
    }

    [Fact]
    public void FourSettingProber_StaysWithinFourSettings_WithFourSamplesAndTopTwentyLogprobs()
    {
        var prober = s_heldOut.Value.Where(e => e.Archetype == "four-setting-prober").ToList();
        Assert.True(prober.Count > 500, $"{prober.Count} requests");
        Assert.All(prober, e =>
        {
            Assert.Equal(4, e.Event.N);
            Assert.Equal(20, e.Event.TopLogprobs);
            Assert.True(e.Event.Logprobs);
        });
        foreach (var account in prober.GroupBy(e => e.Event.AccountId))
        {
            Assert.Equal(4, account.Select(e => (e.Event.Temperature, e.Event.TopP, e.Event.TopLogprobs, e.Event.N)).Distinct().Count());
        }
    }

    [Fact]
    public void CardFleet_SharesOneCardOneBlockOneClientAndOneTemplate_InOneBurst()
    {
        var fleet = s_heldOut.Value.Where(e => e.Archetype == "card-fleet").ToList();
        var accounts = fleet.Select(e => e.Account!).DistinctBy(a => a.Id).ToList();
        Assert.Equal(60, accounts.Count);
        Assert.Single(accounts.Select(a => a.PaymentFingerprint).Distinct());
        Assert.Single(accounts.Select(a => string.Join('.', a.ClientAddress.Split('.').Take(3))).Distinct());
        Assert.Single(accounts.Select(a => a.UserAgent).Distinct());
        Assert.Single(accounts.Select(a => a.CampaignId).Distinct());
        Assert.Single(fleet.Select(e => e.Messages![0].Content).Distinct());
        Assert.All(accounts, a => Assert.Equal(AccessTiers.Free, a.Tier));
        Assert.True(fleet.Max(e => e.Event.Timestamp) - fleet.Min(e => e.Event.Timestamp) <= TimeSpan.FromHours(4));
        Assert.All(fleet.GroupBy(e => e.Event.AccountId), g => Assert.InRange(g.Count(), 10, 60));
    }

    [Fact]
    public void BlendedReseller_MixesAboutAFifthOfDistillationIntoCustomerTraffic()
    {
        var reseller = s_heldOut.Value.Where(e => e.Archetype == "blended-reseller").ToList();
        var share = reseller.Count(e => e.IsAttacker) / (double)reseller.Count;
        Assert.InRange(share, 0.16, 0.24);
        Assert.All(reseller, e => Assert.True(e.Account!.IsAttacker));
    }

    [Fact]
    public void SharedSupportBot_EveryAccountSendsTheSameSystemPrompt()
    {
        var bots = s_heldOut.Value.Where(e => e.Archetype == "shared-support-bot").ToList();
        Assert.Equal(2, bots.Select(e => e.Event.AccountId).Distinct().Count());
        Assert.Single(bots.Select(e => e.Messages![0]).Where(m => m.Role == "system").Select(m => m.Content).Distinct());
        Assert.All(bots, e => Assert.False(e.IsAttacker));
    }

    [Theory]
    [InlineData(PhrasingSource.Simulator)]
    [InlineData(PhrasingSource.HeldOut)]
    public void LexiconAvoidingFamilies_UseNoPhraseOfTheDetectorsLexicon(PhrasingSource phrasings)
    {
        var lexicon = ElicitationLexicon();
        Assert.True(lexicon.Count >= 30, $"read only {lexicon.Count} phrases from Lexicons.cs");
        var harvest = TrafficSimulator.Generate(HeldOutOnly(seed: 6, phrasings, days: 1))
            .Where(e => e.IsAttacker && e.Archetype is "plain-spoken-harvester" or "blended-reseller" or "card-fleet")
            .ToList();
        Assert.True(harvest.Count > 500, $"{harvest.Count} requests");
        var source = Phrasings.For(phrasings);
        foreach (var template in source.All("plain-persona").Concat(source.All("reasoning")))
        {
            Assert.DoesNotContain(lexicon, phrase => template.Contains(phrase, StringComparison.OrdinalIgnoreCase));
        }

        // Filled prompts carry WordNet glosses and Brown sentences, which now and then hold a lexicon word ("thorough",
        // "in detail"): about one request in a thousand, never the template's own words.
        var matched = harvest.Count(e => lexicon.Any(phrase => e.Event.PromptText!.Contains(phrase, StringComparison.OrdinalIgnoreCase)));
        Assert.True(matched <= harvest.Count / 200, $"{matched} of {harvest.Count} requests hold a lexicon phrase");
    }

    [Fact]
    public void HeldOutPhrasings_ReplaceTheSimulatorsTemplates()
    {
        var simulator = TrafficSimulator.Generate(HeldOutOnly(seed: 6, PhrasingSource.Simulator, days: 1)).Where(e => e.Archetype == "plain-spoken-harvester").Select(e => e.Messages![0].Content).ToHashSet();
        var heldOut = TrafficSimulator.Generate(HeldOutOnly(seed: 6, PhrasingSource.HeldOut, days: 1)).Where(e => e.Archetype == "plain-spoken-harvester").Select(e => e.Messages![0].Content).ToHashSet();
        var file = Phrasings.For(PhrasingSource.HeldOut);
        Assert.All(heldOut, persona => Assert.Contains(persona, file.All("persona")));
        Assert.Empty(simulator.Intersect(heldOut));
        foreach (var kind in new[] { "persona", "reasoning", "short-answer", "support-system", "support-turn", "assignment", "human" })
        {
            Assert.NotEmpty(file.All(kind));
            Assert.Empty(file.All(kind).Intersect(Phrasings.For(PhrasingSource.Simulator).All(kind)));
        }
    }

    [Fact]
    public void WordNetRewrite_KeepsSlots_ChangesWords_AndIsSeeded()
    {
        var template = AttackPrompts.ElicitationTemplates[5];
        var a = WordNetRewriter.Shared.Rewrite(template, SimulationRandom.For(1, "rewrite"));
        var b = WordNetRewriter.Shared.Rewrite(template, SimulationRandom.For(1, "rewrite"));
        Assert.Equal(a, b);
        Assert.True(WordNetRewriter.Shared.Count > 100);
        Assert.Equal(Slots().Matches(template).Select(m => m.Value).Order(), Slots().Matches(a).Select(m => m.Value).Order());
        var rewrites = Enumerable.Range(0, 20).Select(i => WordNetRewriter.Shared.Rewrite(template, SimulationRandom.For(i, "rewrite"))).ToList();
        Assert.True(rewrites.Distinct().Count() >= 10, string.Join("\n", rewrites.Distinct()));
        Assert.All(rewrites, r => Assert.NotEqual(template, r));
        // "Before answering, reason …." becomes "Reason …, before answering." in some rewrites.
        Assert.Contains(rewrites, r => r.Contains(" before answering.", StringComparison.Ordinal));
    }

    [Fact]
    public void WordNetPhrasings_RewriteOncePerAccount()
    {
        var events = TrafficSimulator.Generate(HeldOutOnly(seed: 6, PhrasingSource.WordNet, days: 1)).Where(e => e.Archetype == "plain-spoken-harvester").ToList();
        var personas = events.GroupBy(e => e.Event.AccountId).Select(account => Assert.Single(account.Select(e => e.Messages![0].Content).Distinct())).ToList();
        Assert.Equal(2, personas.Count);
        Assert.Contains(personas, p => !PlainPrompts.Personas.Contains(p));
    }

    /// <summary>The phrases of the detector's elicitation lexicon, read from its source so the check follows it as it changes.</summary>
    internal static List<string> ElicitationLexicon()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "DistillGuard.slnx")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        var source = File.ReadAllText(Path.Combine(directory.FullName, "src", "DistillGuard.Detection", "Prompts", "Lexicons.cs"));
        var start = source.IndexOf("ElicitationPhrases", StringComparison.Ordinal);
        Assert.True(start >= 0, "Lexicons.cs has no ElicitationPhrases");
        var end = source.IndexOf("];", start, StringComparison.Ordinal);
        return [.. Phrase().Matches(source[start..end]).Select(m => m.Groups[1].Value.ToLowerInvariant())];
    }

    private static string Line(LabelledEvent e) => $"{e.Event.RequestId}|{e.Event.Timestamp:O}|{e.Event.AccountId}|{e.Event.PromptText}|{e.Event.CompletionTokens}";

    [GeneratedRegex(@"\(""([^""]+)"",\s*[0-9.]+\)")]
    private static partial Regex Phrase();

    [GeneratedRegex(@"\{[a-z]+\}")]
    private static partial Regex Slots();
}
