using System.Security.Cryptography;
using System.Text;

namespace DistillGuard.ThreatIntel.Stix;

/// <summary>STIX identifiers: <c>type--UUID</c>, deterministic (UUIDv5, RFC 9562 §5.5) wherever the same thing must keep its id.</summary>
/// <remarks>
/// STIX 2.1 §2.9 recommends UUIDv5 for cyber-observables (namespace 00abedb4-aa42-466c-9c01-fed23315a9b7) so that two
/// producers name one observable alike; we use v5 for our domain objects too, under a producer namespace, so that a
/// campaign re-exported tomorrow is a new version of the same object rather than a new object.
/// </remarks>
public static class StixIdentifiers
{
    /// <summary>The STIX 2.1 namespace for cyber-observable ids (§2.9).</summary>
    public static readonly Guid StixNamespace = new("00abedb4-aa42-466c-9c01-fed23315a9b7");

    /// <summary><c>type--uuidv5(namespace, name)</c>.</summary>
    public static string Deterministic(string type, Guid ns, string name) => $"{type}--{UuidV5(ns, name)}";

    /// <summary>A random (v4) id, for bundles and one-off objects.</summary>
    public static string Random(string type) => $"{type}--{Guid.NewGuid()}";

    /// <summary>True when <paramref name="id"/> is <c>type--UUID</c> with the version and variant STIX requires.</summary>
    public static bool IsValid(string? id, string type)
    {
        if (id is null || !id.StartsWith(type + "--", StringComparison.Ordinal))
        {
            return false;
        }

        var uuid = id.AsSpan(type.Length + 2);
        return uuid.Length == 36 && Guid.TryParseExact(uuid, "D", out _) && uuid[14] is >= '1' and <= '5' && uuid[19] is '8' or '9' or 'a' or 'b' or 'A' or 'B';
    }

    /// <summary>The UUID version 5 of <paramref name="name"/> in <paramref name="ns"/> (SHA-1 of namespace bytes ‖ UTF-8 name).</summary>
    public static Guid UuidV5(Guid ns, string name)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        ns.TryWriteBytes(input, bigEndian: true, out _);
        nameBytes.CopyTo(input, 16);
        Span<byte> hash = stackalloc byte[20];
        // SHA-1 is what RFC 9562 §5.5 defines UUIDv5 with; it names objects here, it protects nothing.
#pragma warning disable CA5350
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
