using System.Text;
using DistillGuard.ThreatIntel.Exchange;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;
using DistillGuard.ThreatIntel.Tests.Indicators;

namespace DistillGuard.ThreatIntel.Tests.Exchange;

public sealed class SignedContentTests
{
    private static byte[] Bundle() => StixJson.Canonical(IndicatorExport.Build(
        [new FlaggedOperator("cmp-1", IntelFixtures.Traits(IntelFixtures.Fleet(4, 10)), 0.7, "review")], IntelFixtures.Key(), IntelFixtures.Options(), IntelFixtures.Start));

    [Fact]
    public void Verify_SignedBundle_ReturnsEveryObject()
    {
        using var key = SigningKey.Generate();
        var bytes = Bundle();
        var objects = SignedContent.Verify(bytes, key.SignDetached(bytes), key.PublicKey, "bundle");
        Assert.Contains(objects, o => o.Type == "indicator");
        Assert.All(objects, o => Assert.True(StixIdentifiers.IsValid(o.Id, o.Type)));
    }

    [Fact]
    public void Verify_Unsigned_IsRejected()
    {
        using var key = SigningKey.Generate();
        Assert.Equal("unsigned", Assert.Throws<IntelRejectedException>(() => SignedContent.Verify(Bundle(), null, key.PublicKey, "bundle")).Code);
    }

    [Fact]
    public void Verify_SignedByAnother_IsRejected()
    {
        using var key = SigningKey.Generate();
        using var other = SigningKey.Generate();
        var bytes = Bundle();
        Assert.Equal("bad_signature", Assert.Throws<IntelRejectedException>(() => SignedContent.Verify(bytes, other.SignDetached(bytes), key.PublicKey, "bundle")).Code);
    }

    [Fact]
    public void Verify_SignedButMalformedStix_IsRejected()
    {
        using var key = SigningKey.Generate();
        var bytes = Encoding.UTF8.GetBytes("{\"type\":\"bundle\",\"id\":\"bundle--2ed6657d-e927-568b-95e1-2665a8aea6a2\",\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--nope\"}]}");
        Assert.Equal("malformed_stix", Assert.Throws<IntelRejectedException>(() => SignedContent.Verify(bytes, key.SignDetached(CanonicalJson.Serialize(bytes)), key.PublicKey, "bundle")).Code);
    }
}
