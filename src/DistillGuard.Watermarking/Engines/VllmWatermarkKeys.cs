using System.Buffers.Binary;
using System.Security.Cryptography;

namespace DistillGuard.Watermarking.Engines;

/// <summary>vLLM's key derivation: the first 8 bytes (big-endian) of SHA-256(domain ‖ key as 8 big-endian bytes).</summary>
public static class VllmWatermarkKeys
{
    /// <summary>The dual-key scheme's key A (draft tokens, weight 1 − α): domain <c>key_a</c>.</summary>
    public static ulong DualKeyA(ulong key) => Derive(key, "key_a"u8);

    /// <summary>The dual-key scheme's key B (weight α): domain <c>key_b</c>.</summary>
    public static ulong DualKeyB(ulong key) => Derive(key, "key_b"u8);

    /// <summary>Derives a 64-bit key for <paramref name="domain"/> from <paramref name="key"/>.</summary>
    public static ulong Derive(ulong key, ReadOnlySpan<byte> domain)
    {
        Span<byte> input = stackalloc byte[domain.Length + 8];
        domain.CopyTo(input);
        BinaryPrimitives.WriteUInt64BigEndian(input[domain.Length..], key);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input, digest);
        return BinaryPrimitives.ReadUInt64BigEndian(digest);
    }
}
