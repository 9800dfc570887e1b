using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace DistillGuard.ThreatIntel.Indicators;

/// <summary>The secret a sharing group agrees on; every artifact in an indicator is an HMAC-SHA256 under it.</summary>
/// <remarks>
/// Why keyed: a template key, a /24 or a user-agent string comes from a small space (2^24 IPv4 /24s, a few thousand
/// user agents, the templates a guesser can write), so a plain hash is reversed by hashing every candidate. Under a
/// 256-bit key unknown to the guesser each candidate costs a guess of the key, 2^256 work; members of the group can test
/// candidates, which is the point of sharing with them and why the key goes only to the group. Hashes are truncated to
/// 128 bits: a collision between two different artifacts then needs about 2^64 artifacts.
/// </remarks>
public sealed class SharingKey
{
    /// <summary>Bytes of key material (256 bits).</summary>
    public const int KeyBytes = 32;

    private readonly byte[] _key;

    public SharingKey(ReadOnlySpan<byte> key)
    {
        if (key.Length < KeyBytes)
        {
            throw new ArgumentException($"A sharing-group key has at least {KeyBytes} bytes; got {key.Length}.", nameof(key));
        }

        _key = key.ToArray();
        KeyId = Convert.ToHexStringLower(HMACSHA256.HashData(_key, "distillguard key id"u8)[..8]);
    }

    /// <summary>A public name for the key (HMAC of a constant), so that receivers know which group key an indicator needs.</summary>
    public string KeyId { get; }

    public static SharingKey Generate() => new(RandomNumberGenerator.GetBytes(KeyBytes));

    /// <summary>The key in <paramref name="path"/> (base64), created when missing.</summary>
    public static SharingKey LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            return FromText(File.ReadAllText(path));
        }

        var bytes = RandomNumberGenerator.GetBytes(KeyBytes);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, Convert.ToBase64String(bytes) + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return new SharingKey(bytes);
    }

    /// <summary>Reads a base64 key; throws <see cref="FormatException"/> when it is not one.</summary>
    public static SharingKey FromText(string text) => new(Convert.FromBase64String(text.Trim()));

    public string ExportText() => Convert.ToBase64String(_key);

    /// <summary>The 128-bit keyed hash (hex) of an artifact of <paramref name="kind"/>.</summary>
    public string Hash(ArtifactKind kind, string value) => Convert.ToHexStringLower(Mac(kind, Encoding.UTF8.GetBytes(value))[..16]);

    /// <summary>The keyed hash of a template key (a 64-bit skeleton hash).</summary>
    public string Hash(ArtifactKind kind, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return Convert.ToHexStringLower(Mac(kind, bytes)[..16]);
    }

    /// <summary>A keyed 64-bit item for a MinHash sketch, so that the sketch's slots reveal nothing without the key.</summary>
    public ulong SketchItem(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return BinaryPrimitives.ReadUInt64LittleEndian(Mac(ArtifactKind.SketchItem, bytes));
    }

    private byte[] Mac(ArtifactKind kind, ReadOnlySpan<byte> value)
    {
        // Domain separation: one artifact kind's hash is never another kind's.
        var input = new byte[value.Length + 1];
        input[0] = (byte)kind;
        value.CopyTo(input.AsSpan(1));
        return HMACSHA256.HashData(_key, input);
    }
}

/// <summary>What a keyed hash stands for.</summary>
public enum ArtifactKind : byte
{
    /// <summary>The head of a prompt's skeleton (system prompt and instruction opening, values masked).</summary>
    Template = 1,

    /// <summary>A client /24 (IPv4) or /48 (IPv6).</summary>
    Network = 2,

    /// <summary>A client library's User-Agent.</summary>
    Client = 3,

    /// <summary>A payment instrument's fingerprint as the payment processor gives it.</summary>
    Payment = 4,

    /// <summary>An item of a MinHash sketch.</summary>
    SketchItem = 5,
}
