using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace DistillGuard.Storage.Accounts;

/// <summary>SHA-256 of an API key: what the store keeps and looks keys up by.</summary>
/// <remarks>Equality is constant-time over the 32 bytes, so a lookup never leaks how much of a stored hash matched.</remarks>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct KeyHash : IEquatable<KeyHash>
{
    private readonly ulong _a, _b, _c, _d;

    private KeyHash(ReadOnlySpan<byte> bytes)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(bytes);
        (_a, _b, _c, _d) = (words[0], words[1], words[2], words[3]);
    }

    public static KeyHash Of(ReadOnlySpan<byte> key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(key, hash);
        return new KeyHash(hash);
    }

    public static KeyHash FromHex(string hex) => new(Convert.FromHexString(hex));

    public string ToHex()
    {
        Span<byte> bytes = stackalloc byte[32];
        WriteTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Public key id, safe to log and show: <c>key_</c> and the first 12 hex digits of the hash.</summary>
    public string KeyId() => "key_" + ToHex()[..12];

    public bool Equals(KeyHash other)
    {
        Span<byte> mine = stackalloc byte[32];
        Span<byte> theirs = stackalloc byte[32];
        WriteTo(mine);
        other.WriteTo(theirs);
        return CryptographicOperations.FixedTimeEquals(mine, theirs);
    }

    public override bool Equals(object? obj) => obj is KeyHash other && Equals(other);

    // The hash is uniformly distributed already; its first word is a fine bucket key.
    public override int GetHashCode() => (int)_a;

    private void WriteTo(Span<byte> destination)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(destination);
        (words[0], words[1], words[2], words[3]) = (_a, _b, _c, _d);
    }
}

/// <summary>Issuing, validating and hashing API keys.</summary>
internal static class ApiKey
{
    public const int MinLength = 20;
    public const int MaxLength = 200;
    private const string Prefix = "dg-";

    /// <summary>A fresh key: <c>dg-</c> and 32 random bytes in base64url (256 bits of entropy).</summary>
    public static string Issue()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return Prefix + Base64Url.EncodeToString(random);
    }

    /// <summary>Throws when a supplied key is not 20–200 printable ASCII characters without spaces; the message never contains the key.</summary>
    public static void Validate(string key, string parameterName)
    {
        if (key.Length is < MinLength or > MaxLength)
        {
            throw new ArgumentException(
                $"An API key must be {MinLength} to {MaxLength} characters long; the supplied key has {key.Length}.", parameterName);
        }

        for (var i = 0; i < key.Length; i++)
        {
            if (key[i] is < '!' or > '~')
            {
                throw new ArgumentException(
                    $"An API key may contain only printable ASCII characters without spaces (0x21–0x7E); the supplied key has U+{(int)key[i]:X4} at position {i}.",
                    parameterName);
            }
        }
    }

    /// <summary>True when the key could be valid; the hot path rejects anything else without hashing it.</summary>
    public static bool IsWellFormed(string? key)
    {
        if (key is null || key.Length is < MinLength or > MaxLength)
        {
            return false;
        }

        foreach (var c in key)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Hashes a well-formed key without allocating.</summary>
    public static KeyHash Hash(string key)
    {
        Span<byte> utf8 = stackalloc byte[MaxLength];
        // Well-formed keys are ASCII: one byte per char.
        var length = Encoding.ASCII.GetBytes(key, utf8);
        return KeyHash.Of(utf8[..length]);
    }
}
