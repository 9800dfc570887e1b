using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace DistillGuard.Gateway.ThreatIntel;

/// <summary>The opaque <c>next</c> token of a paged TAXII read: where the page ended, bound to the collection and the filters.</summary>
/// <remarks>
/// HMAC-SHA256 under a server secret, so that a token we did not issue, or one issued for another collection or another
/// filter set, is refused with a TAXII error instead of silently paging something else.
/// </remarks>
internal sealed class TaxiiCursor(byte[] secret)
{
    public string Issue(string collection, string filters, long sequence)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(payload, sequence);
        var mac = Mac(collection, filters, payload);
        return Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(mac);
    }

    /// <summary>The sequence a token carries, or null when we did not issue it for this collection and these filters.</summary>
    public long? Read(string token, string collection, string filters)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            return null;
        }

        try
        {
            var payload = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
            var mac = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
            if (payload.Length != 8 || !CryptographicOperations.FixedTimeEquals(mac, Mac(collection, filters, payload)))
            {
                return null;
            }

            return BinaryPrimitives.ReadInt64BigEndian(payload);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private byte[] Mac(string collection, string filters, ReadOnlySpan<byte> payload)
    {
        var input = Encoding.UTF8.GetBytes(collection + "\n" + filters + "\n").Concat(payload.ToArray()).ToArray();
        return HMACSHA256.HashData(secret, input)[..16];
    }
}
