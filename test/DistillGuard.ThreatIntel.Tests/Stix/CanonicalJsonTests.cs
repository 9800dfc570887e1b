using System.Text;
using DistillGuard.ThreatIntel.Stix;

namespace DistillGuard.ThreatIntel.Tests.Stix;

public sealed class CanonicalJsonTests
{
    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1e21, "1e+21")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(333333333.33333329, "333333333.3333333")]
    [InlineData(1e30, "1e+30")]
    [InlineData(4.5, "4.5")]
    [InlineData(2e-3, "0.002")]
    [InlineData(1e-27, "1e-27")]
    [InlineData(1e-7, "1e-7")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(-5e-324, "-5e-324")]
    [InlineData(9007199254740992.0, "9007199254740992")]
    [InlineData(295147905179352830000.0, "295147905179352830000")]
    public void Number_Rfc8785Vectors_SerialiseAsEcmaScript(double value, string expected)
    {
        Assert.Equal(expected, CanonicalJson.Number(value));
    }

    [Fact]
    public void Serialize_Rfc8785SortingExample_OrdersByUtf16CodeUnits()
    {
        // RFC 8785 §3.2.3.
        var json = "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}";
        var canonical = Encoding.UTF8.GetString(CanonicalJson.Serialize(Encoding.UTF8.GetBytes(json)));
        var order = new[] { "\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33" };
        var positions = order.Select(k => canonical.IndexOf("\"" + (k == "\r" ? "\\r" : k) + "\":", StringComparison.Ordinal)).ToArray();
        Assert.DoesNotContain(-1, positions);
        Assert.Equal(positions.Order().ToArray(), positions);
    }

    [Fact]
    public void Serialize_WhitespaceAndOrder_DoNotChangeBytes()
    {
        var a = CanonicalJson.Serialize("{ \"b\" : [1, 2.50, true, null],\n \"a\": \"x\\u0041\\n\" }"u8);
        var b = CanonicalJson.Serialize("{\"a\":\"xA\\n\",\"b\":[1,2.5,true,null]}"u8);
        Assert.Equal(a, b);
        Assert.Equal("{\"a\":\"xA\\n\",\"b\":[1,2.5,true,null]}", Encoding.UTF8.GetString(a));
    }

    [Fact]
    public void Serialize_DuplicateMember_IsRefused()
    {
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => CanonicalJson.Serialize("{\"a\":1,\"a\":2}"u8));
    }
}
