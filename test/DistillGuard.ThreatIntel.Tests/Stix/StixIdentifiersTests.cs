using DistillGuard.ThreatIntel.Stix;

namespace DistillGuard.ThreatIntel.Tests.Stix;

public sealed class StixIdentifiersTests
{
    [Fact]
    public void UuidV5_Rfc9562DnsVector_Matches()
    {
        // uuid5(NAMESPACE_DNS, "www.example.com") as RFC 9562 Appendix A.4 gives it.
        var dns = new Guid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
        Assert.Equal(new Guid("2ed6657d-e927-568b-95e1-2665a8aea6a2"), StixIdentifiers.UuidV5(dns, "www.example.com"));
    }

    [Fact]
    public void Deterministic_SameName_SameIdAndValid()
    {
        var a = StixIdentifiers.Deterministic("indicator", StixIdentifiers.StixNamespace, "x");
        Assert.Equal(a, StixIdentifiers.Deterministic("indicator", StixIdentifiers.StixNamespace, "x"));
        Assert.NotEqual(a, StixIdentifiers.Deterministic("indicator", StixIdentifiers.StixNamespace, "y"));
        Assert.True(StixIdentifiers.IsValid(a, "indicator"));
        Assert.Equal('5', a["indicator--".Length + 14]);
    }

    [Theory]
    [InlineData("indicator--not-a-uuid")]
    [InlineData("campaign--2ed6657d-e927-568b-95e1-2665a8aea6a2")]
    [InlineData("indicator--2ed6657d-e927-068b-95e1-2665a8aea6a2")]
    [InlineData("indicator--2ed6657d-e927-568b-c5e1-2665a8aea6a2")]
    public void IsValid_WrongTypeVersionOrVariant_IsFalse(string id)
    {
        Assert.False(StixIdentifiers.IsValid(id, "indicator"));
    }
}
