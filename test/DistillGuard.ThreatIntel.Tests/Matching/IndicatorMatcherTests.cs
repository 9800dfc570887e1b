using System.Globalization;
using System.Text.Json;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Matching;
using DistillGuard.ThreatIntel.Stix;
using DistillGuard.ThreatIntel.Tests.Indicators;
using DistillGuard.Usage;

namespace DistillGuard.ThreatIntel.Tests.Matching;

public sealed class IndicatorMatcherTests
{
    private static IndicatorLibrary LibraryFromProviderA(SharingKey key)
    {
        var bundle = IndicatorExport.Build(
            [new FlaggedOperator("cmp-a", IntelFixtures.Traits(IntelFixtures.Fleet(8, 30)), 0.9, "friction")],
            key, IntelFixtures.Options(), IntelFixtures.Start.AddDays(1));
        var imported = bundle.Objects.Select(o => IndicatorLibrary.Read(o, "provider-a", "high")).OfType<ImportedIndicator>().ToList();
        Assert.Single(imported);
        return new IndicatorLibrary(imported, key.KeyId);
    }

    private static IEnumerable<UsageEvent> Benign(int accounts, int requestsEach, int seed)
    {
        var random = new Random(seed);
        string[] topics = ["the history of the county", "a recipe for bread", "how rivers form", "tax rules for freelancers", "the rules of chess", "why the sky is blue"];
        for (var a = 0; a < accounts; a++)
        {
            for (var r = 0; r < requestsEach; r++)
            {
                yield return new UsageEvent
                {
                    RequestId = $"b-{seed}-{a}-{r}",
                    Timestamp = IntelFixtures.Start.AddMinutes(a + (r * 13)),
                    AccountId = $"user-{seed}-{a}",
                    ClientAddress = string.Create(CultureInfo.InvariantCulture, $"10.{seed % 200}.{a % 250}.{r % 250}"),
                    UserAgent = a % 2 == 0 ? "OpenAI/Python 1.50.0" : "Mozilla/5.0",
                    Endpoint = "chat.completions",
                    PromptText = $"Tell me about {topics[random.Next(topics.Length)]} please, number {random.Next(1000)}",
                    CompletionTokens = 120,
                    Status = 200,
                };
            }
        }
    }

    private static MatchCalibration Calibrate(IndicatorLibrary library, SharingKey key) =>
        MatchCalibration.Fit(library, key, Benign(400, 20, seed: 1).Concat(IntelFixtures.Fleet(3, 20, "harness", "192.0.2", "OpenAI/Python 1.50.0")
            .Select(e => e with { PromptText = "You are a helpful coding agent. Fix the failing test in " + e.RequestId })));

    [Fact]
    public void Match_SameOperatorNewAccounts_MatchesAllThreeKindsWithReadableReason()
    {
        var key = IntelFixtures.Key();
        var library = LibraryFromProviderA(key);
        var matcher = new IndicatorMatcher(library, key, Calibrate(library, key));
        foreach (var e in IntelFixtures.Fleet(4, 5, prefix: "moved"))
        {
            matcher.Observe(e);
        }

        var matches = matcher.Matches("moved-0@example.com", IntelFixtures.Start.AddDays(2));
        var match = Assert.Single(matches);
        Assert.Equal(3, match.Kinds);
        Assert.Equal(5, match.MatchedRequests);
        Assert.True(match.PValue < 0.01, $"p = {match.PValue}");
        Assert.True(match.Evidence > 0);
        Assert.Contains("matches indicator indicator--", match.Reason, StringComparison.Ordinal);
        Assert.Contains("from partner provider-a", match.Reason, StringComparison.Ordinal);
        Assert.Contains("confidence 90", match.Reason, StringComparison.Ordinal);
        Assert.Contains("seen 5 times", match.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_BenignPopulationOfOtherSeeds_HasNoMatch()
    {
        var key = IntelFixtures.Key();
        var library = LibraryFromProviderA(key);
        var matcher = new IndicatorMatcher(library, key, Calibrate(library, key));
        foreach (var seed in new[] { 2, 3, 4 })
        {
            foreach (var e in Benign(300, 20, seed))
            {
                matcher.Observe(e);
            }
        }

        Assert.Equal(900, matcher.Accounts.Count);
        Assert.All(matcher.Accounts, a => Assert.Empty(matcher.Matches(a)));
    }

    [Fact]
    public void Match_OtherSharingGroupKey_MatchesNothing()
    {
        var library = LibraryFromProviderA(IntelFixtures.Key(7));
        var other = IntelFixtures.Key(9);
        var matcher = new IndicatorMatcher(new IndicatorLibrary(library.Indicators, other.KeyId), other, MatchCalibration.None);
        foreach (var e in IntelFixtures.Fleet(2, 10, prefix: "moved"))
        {
            matcher.Observe(e);
        }

        Assert.Empty(matcher.Matches("moved-0@example.com"));
    }

    [Fact]
    public void Match_TemplateOnly_IsReportedAsTemplateOnly()
    {
        var key = IntelFixtures.Key();
        var library = LibraryFromProviderA(key);
        var matcher = new IndicatorMatcher(library, key, Calibrate(library, key));
        foreach (var e in IntelFixtures.Fleet(1, 10, prefix: "moved").Concat(IntelFixtures.Fleet(1, 10, prefix: "elsewhere", network: "198.18.7", agent: "curl/8.0")))
        {
            matcher.Observe(e);
        }

        var full = Assert.Single(matcher.Matches("moved-0@example.com"));
        var templateOnly = Assert.Single(matcher.Matches("elsewhere-0@example.com"));
        Assert.Equal(1, templateOnly.Kinds);
        Assert.Equal(3, full.Kinds);
        Assert.True(templateOnly.PValue >= full.PValue);
        Assert.Contains("template only", templateOnly.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Calibration_None_GivesNoEvidence()
    {
        var key = IntelFixtures.Key();
        var matcher = new IndicatorMatcher(LibraryFromProviderA(key), key, MatchCalibration.None);
        foreach (var e in IntelFixtures.Fleet(1, 10, prefix: "moved"))
        {
            matcher.Observe(e);
        }

        var match = Assert.Single(matcher.Matches("moved-0@example.com"));
        Assert.Equal(1, match.PValue);
        Assert.Equal(0, match.Evidence);
    }

    [Fact]
    public void Read_IndicatorWithBrokenExtension_IsRefused()
    {
        var key = IntelFixtures.Key();
        var indicator = IndicatorExport.Build([new FlaggedOperator("x", IntelFixtures.Traits(IntelFixtures.Fleet(2, 5)), 0.8, "review")], key, IntelFixtures.Options(), IntelFixtures.Start)
            .Objects.First(o => o.GetProperty("type").GetString() == "indicator");
        var text = indicator.GetRawText().Replace("\"template_hashes\":[\"", "\"template_hashes\":[\"ZZ", StringComparison.Ordinal);
        using var document = JsonDocument.Parse(text);
        Assert.Throws<StixFormatException>(() => IndicatorLibrary.Read(document.RootElement, "p", "high"));
    }
}
