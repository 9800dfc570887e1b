using System.Text;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Stix;

namespace DistillGuard.ThreatIntel.Tests.Indicators;

public sealed class IndicatorExportTests
{
    private static readonly FlaggedOperator Fleet = new("cmp-0123456789ab", IntelFixtures.Traits(IntelFixtures.Fleet(6, 20)), 0.8, "friction");

    private static string Export(string? partner = null, byte keyFill = 7) => Encoding.UTF8.GetString(StixJson.Canonical(
        IndicatorExport.Build([Fleet], IntelFixtures.Key(keyFill), IntelFixtures.Options(partner), IntelFixtures.Start.AddDays(1))));

    [Fact]
    public void Export_Fleet_CarriesNoPromptAddressOrAccount()
    {
        var text = Export();
        Assert.DoesNotContain("integral", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("step by step", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("203.0.113", text, StringComparison.Ordinal);
        Assert.DoesNotContain("fleet-", text, StringComparison.Ordinal);
        Assert.DoesNotContain("example.com", text, StringComparison.Ordinal);
        Assert.DoesNotContain("harvest-bot", text, StringComparison.Ordinal);
        Assert.DoesNotContain("cmp-0123456789ab", text, StringComparison.Ordinal);
        Assert.DoesNotContain("key_fleet", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_SameInput_SameBytes()
    {
        Assert.Equal(Export(), Export());
    }

    [Fact]
    public void Export_PerPartner_IdsDifferButHashesMatch()
    {
        var a = StixJson.ParseBundle(Encoding.UTF8.GetBytes(Export("partner-a")));
        var b = StixJson.ParseBundle(Encoding.UTF8.GetBytes(Export("partner-b")));
        var ia = a.Objects.First(o => o.GetProperty("type").GetString() == "indicator");
        var ib = b.Objects.First(o => o.GetProperty("type").GetString() == "indicator");
        Assert.NotEqual(ia.GetProperty("id").GetString(), ib.GetProperty("id").GetString());
        Assert.Equal(ia.GetProperty("pattern").GetString(), ib.GetProperty("pattern").GetString());
        // Only the DistillGuard project's identity (author of the extension) is common to both feeds; our producer identity
        // and our campaign have a different id in each partner's feed.
        var ids = a.Objects.Concat(b.Objects).Where(o => o.GetProperty("type").GetString() is "campaign" or "identity").Select(o => o.GetProperty("id").GetString()).ToList();
        Assert.Equal(6, ids.Count);
        Assert.Equal([DistillationExtension.ProjectIdentityId], ids.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key!));
    }

    [Fact]
    public void Export_OtherSharingKey_OtherHashes()
    {
        var a = Export(keyFill: 7);
        var b = Export(keyFill: 8);
        var pa = StixJson.ParseBundle(Encoding.UTF8.GetBytes(a)).Objects.First(o => o.GetProperty("type").GetString() == "indicator").GetProperty("pattern").GetString();
        var pb = StixJson.ParseBundle(Encoding.UTF8.GetBytes(b)).Objects.First(o => o.GetProperty("type").GetString() == "indicator").GetProperty("pattern").GetString();
        Assert.NotEqual(pa, pb);
    }

    [Fact]
    public void Hash_KindsAreSeparated()
    {
        var key = IntelFixtures.Key();
        Assert.NotEqual(key.Hash(ArtifactKind.Network, "x"), key.Hash(ArtifactKind.Client, "x"));
        Assert.Equal(32, key.Hash(ArtifactKind.Network, "x").Length);
        Assert.Throws<ArgumentException>(() => new SharingKey(new byte[16]));
    }
}
