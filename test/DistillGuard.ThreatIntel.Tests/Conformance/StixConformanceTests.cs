using System.Text.Json;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Stix;
using DistillGuard.ThreatIntel.Tests.Indicators;

namespace DistillGuard.ThreatIntel.Tests.Conformance;

public sealed class StixConformanceTests
{
    private static StixBundle ExportedBundle()
    {
        var operators = new[]
        {
            new FlaggedOperator("cmp-0123456789ab", IntelFixtures.Traits(IntelFixtures.Fleet(8, 30)), 0.81, "friction"),
            new FlaggedOperator("lone-account@example.com", IntelFixtures.Traits(IntelFixtures.Fleet(1, 60, "lone", "198.51.100", "python-requests/2.31")), 0.55, "review"),
        };
        return IndicatorExport.Build(operators, IntelFixtures.Key(), IntelFixtures.Options(), IntelFixtures.Start.AddDays(2));
    }

    [Fact]
    public void Export_EveryObject_ValidatesAgainstOasisSchema()
    {
        var bundle = ExportedBundle();
        var types = bundle.Objects.Select(o => o.GetProperty("type").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "indicator", "campaign", "attack-pattern", "relationship", "sighting", "identity", "marking-definition" }, types);
        foreach (var o in bundle.Objects)
        {
            var errors = StixSchemas.Errors(o);
            Assert.True(errors.Count == 0, $"{o.GetProperty("id")}: {string.Join("; ", errors)}");
        }
    }

    [Fact]
    public void Export_Bundle_ValidatesAgainstOasisSchema()
    {
        using var document = JsonDocument.Parse(StixJson.Canonical(ExportedBundle()));
        var errors = StixSchemas.Errors(document.RootElement, "bundle");
        Assert.True(errors.Count == 0, string.Join("; ", errors));
    }

    [Fact]
    public void Schema_IndicatorWithoutPattern_IsRejected()
    {
        // The validator must be able to fail: drop a required property and the same schema refuses the object.
        var indicator = ExportedBundle().Objects.First(o => o.GetProperty("type").GetString() == "indicator");
        var broken = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(indicator.GetRawText())!;
        broken.Remove("pattern");
        using var document = JsonDocument.Parse(JsonSerializer.Serialize(broken));
        Assert.NotEmpty(StixSchemas.Errors(document.RootElement));
    }

    [Fact]
    public void ExtensionDefinition_ValidatesOnItsOwn_ButNotInsideABundle()
    {
        var definition = StixJson.ToElement(DistillationExtension.Definition());
        Assert.Empty(StixSchemas.Errors(definition));

        // Why the definition travels beside the bundle: the OASIS bundle schema's oneOf (core | cyber-observable core)
        // matches an extension-definition twice and refuses the bundle.
        using var document = JsonDocument.Parse(StixJson.Canonical(new StixBundle { Id = ExportedBundle().Id, Objects = [definition] }));
        Assert.NotEmpty(StixSchemas.Errors(document.RootElement, "bundle"));
    }

    [Fact]
    public void Export_Indicator_DeclaresOurPatternTypeAndExtension()
    {
        var indicator = ExportedBundle().Objects.First(o => o.GetProperty("type").GetString() == "indicator");
        Assert.Equal(DistillationExtension.PatternType, indicator.GetProperty("pattern_type").GetString());
        var content = indicator.GetProperty("extensions").GetProperty(DistillationExtension.Id);
        Assert.Equal("property-extension", content.GetProperty("extension_type").GetString());
        Assert.Equal(64, content.GetProperty("template_minhash").GetArrayLength());
        Assert.StartsWith("[template-hash IN ('", indicator.GetProperty("pattern").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Export_AttackPatterns_ReferenceAtlasTechniques()
    {
        var ids = ExportedBundle().Objects.Where(o => o.GetProperty("type").GetString() == "attack-pattern")
            .Select(o => o.GetProperty("external_references")[0].GetProperty("external_id").GetString()!).Order().ToArray();
        Assert.Equal(["AML.T0005.001", "AML.T0024", "AML.T0040"], ids);
    }

    [Fact]
    public void Tlp_Markings_ValidateAndCarryPublishedIds()
    {
        foreach (var level in Enum.GetValues<TlpLevel>())
        {
            var element = StixJson.ToElement(Tlp.Marking(level));
            Assert.Empty(StixSchemas.Errors(element));
            Assert.Equal(Tlp.MarkingId(level), element.GetProperty("id").GetString());
        }

        Assert.Equal("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", Tlp.MarkingId(TlpLevel.AmberStrict));
    }
}
