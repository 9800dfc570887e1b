using System.Text;
using System.Text.Json;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;
using DistillGuard.ThreatIntel.Tests.Indicators;

namespace DistillGuard.ThreatIntel.Tests.Signing;

public sealed class BundleSignatureTests
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static byte[] Bundle() => StixJson.Canonical(IndicatorExport.Build(
        [new FlaggedOperator("cmp-1", IntelFixtures.Traits(IntelFixtures.Fleet(4, 10)), 0.7, "review")],
        IntelFixtures.Key(), IntelFixtures.Options(), IntelFixtures.Start.AddDays(1)));

    [Fact]
    public void Verify_SignedCanonicalBundle_Succeeds()
    {
        using var key = SigningKey.Generate();
        var bytes = Bundle();
        var signature = key.SignDetached(bytes);
        Assert.Matches("^[A-Za-z0-9_-]+\\.\\.[A-Za-z0-9_-]+$", signature);
        Assert.True(key.PublicKey.Verify(bytes, signature));
        Assert.Equal(key.KeyId, DetachedSignature.KeyIdOf(signature));
    }

    [Fact]
    public void Verify_ReindentedBundle_SucceedsAfterCanonicalisation()
    {
        using var key = SigningKey.Generate();
        var bytes = Bundle();
        var signature = key.SignDetached(bytes);
        using var document = JsonDocument.Parse(bytes);
        var pretty = JsonSerializer.SerializeToUtf8Bytes(document.RootElement, Indented);
        Assert.NotEqual(bytes, pretty);
        Assert.True(key.PublicKey.Verify(CanonicalJson.Serialize(pretty), signature));
    }

    [Fact]
    public void Verify_OneChangedByte_Fails()
    {
        using var key = SigningKey.Generate();
        var bytes = Bundle();
        var signature = key.SignDetached(bytes);
        var text = Encoding.UTF8.GetString(bytes);
        var tampered = Encoding.UTF8.GetBytes(text.Replace("\"confidence\":70", "\"confidence\":99", StringComparison.Ordinal));
        Assert.NotEqual(bytes, tampered);
        Assert.False(key.PublicKey.Verify(tampered, signature));
    }

    [Fact]
    public void Verify_OtherKeyOrGarbage_Fails()
    {
        using var key = SigningKey.Generate();
        using var other = SigningKey.Generate();
        var bytes = Bundle();
        Assert.False(other.PublicKey.Verify(bytes, key.SignDetached(bytes)));
        Assert.False(key.PublicKey.Verify(bytes, "not a signature"));
        Assert.False(key.PublicKey.Verify(bytes, ""));
        Assert.False(key.PublicKey.Verify(bytes, "eyJhbGciOiJub25lIn0.."));
    }

    [Fact]
    public void Pem_RoundTrip_KeepsKeyId()
    {
        using var key = SigningKey.Generate();
        using var again = SigningKey.FromPem(key.ExportPem());
        Assert.Equal(key.KeyId, again.KeyId);
        var bytes = Bundle();
        Assert.True(VerificationKey.FromPem(key.PublicKey.ExportPem()).Verify(bytes, again.SignDetached(bytes)));
    }
}
