using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DistillGuard.ThreatIntel.Stix;

/// <summary>The JSON Canonicalization Scheme (RFC 8785): one byte sequence per JSON value, so that a signature survives re-serialisation.</summary>
/// <remarks>
/// Members sorted by their UTF-16 code units, no insignificant whitespace, strings with the minimal escapes of ECMAScript's
/// JSON.stringify, numbers in ECMAScript's shortest round-trip form. Duplicate member names are refused (RFC 8785 §3.1 requires
/// I-JSON input).
/// </remarks>
public static class CanonicalJson
{
    /// <summary>The canonical UTF-8 bytes of <paramref name="value"/>.</summary>
    public static byte[] Serialize(JsonElement value)
    {
        var builder = new StringBuilder();
        Write(builder, value);
        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    /// <summary>The canonical bytes of a JSON text; throws <see cref="JsonException"/> when it is not JSON.</summary>
    public static byte[] Serialize(ReadOnlySpan<byte> json)
    {
        using var document = JsonDocument.Parse(json.ToArray());
        return Serialize(document.RootElement);
    }

    private static void Write(StringBuilder b, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<(string Name, JsonElement Value)>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in value.EnumerateObject())
                {
                    if (!seen.Add(p.Name))
                    {
                        throw new JsonException($"duplicate member '{p.Name}' (RFC 8785 needs I-JSON)");
                    }

                    members.Add((p.Name, p.Value));
                }

                members.Sort(static (x, y) => string.CompareOrdinal(x.Name, y.Name));
                b.Append('{');
                for (var i = 0; i < members.Count; i++)
                {
                    if (i > 0)
                    {
                        b.Append(',');
                    }

                    WriteString(b, members[i].Name);
                    b.Append(':');
                    Write(b, members[i].Value);
                }

                b.Append('}');
                break;
            case JsonValueKind.Array:
                b.Append('[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first)
                    {
                        b.Append(',');
                    }

                    first = false;
                    Write(b, item);
                }

                b.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(b, value.GetString()!);
                break;
            case JsonValueKind.Number:
                b.Append(Number(value.GetDouble()));
                break;
            case JsonValueKind.True:
                b.Append("true");
                break;
            case JsonValueKind.False:
                b.Append("false");
                break;
            default:
                b.Append("null");
                break;
        }
    }

    /// <summary>ECMAScript Number.prototype.toString for a finite double (RFC 8785 §3.2.2.3).</summary>
    internal static string Number(double d)
    {
        if (!double.IsFinite(d))
        {
            throw new JsonException("NaN and infinities are not JSON");
        }

        if (d == 0)
        {
            return "0";
        }

        // "R" gives the shortest digits that round-trip; re-lay them out as ECMAScript does.
        var shortest = d.ToString("R", CultureInfo.InvariantCulture);
        var negative = shortest.StartsWith('-');
        var body = negative ? shortest[1..] : shortest;
        var e = body.IndexOfAny(['E', 'e']);
        var mantissa = e >= 0 ? body[..e] : body;
        var exp10 = e >= 0 ? int.Parse(body[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        var fracPart = dot >= 0 ? mantissa[(dot + 1)..] : "";
        var digits = (intPart + fracPart).TrimStart('0');
        var leadingZeros = (intPart + fracPart).Length - digits.Length;
        // value = 0.digits × 10^n
        var n = intPart.Length - leadingZeros + exp10;
        digits = digits.TrimEnd('0');
        var k = digits.Length;
        var sb = new StringBuilder(negative ? "-" : "");
        if (k <= n && n <= 21)
        {
            sb.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            sb.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            sb.Append(digits[0]);
            if (k > 1)
            {
                sb.Append('.').Append(digits, 1, k - 1);
            }

            sb.Append('e').Append(n - 1 >= 0 ? "+" : "-").Append(Math.Abs(n - 1).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    private static void WriteString(StringBuilder b, string s)
    {
        b.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"':
                    b.Append("\\\"");
                    break;
                case '\\':
                    b.Append("\\\\");
                    break;
                case '\b':
                    b.Append("\\b");
                    break;
                case '\f':
                    b.Append("\\f");
                    break;
                case '\n':
                    b.Append("\\n");
                    break;
                case '\r':
                    b.Append("\\r");
                    break;
                case '\t':
                    b.Append("\\t");
                    break;
                default:
                    if (c < 0x20)
                    {
                        b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        b.Append(c);
                    }

                    break;
            }
        }

        b.Append('"');
    }
}
