using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace DistillGuard.Watermarking.Keys;

/// <summary>One watermark key (a master key or a key derived for one epoch) and the pseudo-random function it keys.</summary>
/// <remarks>
/// The PRF, bit for bit (so any adapter can reproduce it; see the conformance vectors in the tests):
/// the SipHash-2-4 key is the first 16 bytes of the 32-byte key (two little-endian 64-bit words);
/// the window seed is <c>s = SipHash(tag ‖ h ‖ id₁ … id_h)</c> with a one-byte scheme tag (<c>'G'</c> green list,
/// <c>'E'</c> exponential minimum, <c>'B'</c> account buckets, <c>'L'</c> lexical), one byte h, and each id as a
/// little-endian int32; the value of a candidate is <c>u = SplitMix64Finalizer(s ⊕ (id + 1)·0x9E3779B97F4A7C15)</c>.
/// One SipHash per step and one multiply-xorshift per candidate keep generation and detection cheap; the secret
/// seed makes u unpredictable without the key. <see cref="ToString"/> never shows key material.
/// </remarks>
public sealed class WatermarkKey
{
    /// <summary>Length of key material in bytes.</summary>
    public const int Length = 32;

    private readonly byte[] _material;
    private readonly ulong _k0;
    private readonly ulong _k1;

    /// <summary>Wraps 32 bytes of secret key material.</summary>
    public WatermarkKey(ReadOnlySpan<byte> material, int epoch = -1)
    {
        if (material.Length != Length)
        {
            throw new ArgumentException($"A watermark key is {Length} bytes.", nameof(material));
        }

        _material = material.ToArray();
        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(_material);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(_material.AsSpan(8));
        Epoch = epoch;
    }

    /// <summary>The epoch this key was derived for, or -1 for a master key.</summary>
    public int Epoch { get; }

    /// <summary>Creates a fresh random master key.</summary>
    public static WatermarkKey CreateRandom() => new(RandomNumberGenerator.GetBytes(Length));

    /// <summary>Derives the key of <paramref name="epoch"/> with HKDF-SHA256 (RFC 5869), info <c>distillguard/watermark/v1/epoch/N</c>.</summary>
    public WatermarkKey DeriveEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        Span<byte> derived = stackalloc byte[Length];
        var info = Encoding.ASCII.GetBytes($"distillguard/watermark/v1/epoch/{epoch}");
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _material, derived, ReadOnlySpan<byte>.Empty, info);
        return new WatermarkKey(derived, epoch);
    }

    /// <summary>The keyed seed of a context window for the scheme with tag <paramref name="tag"/>.</summary>
    public ulong WindowSeed(byte tag, ReadOnlySpan<int> window)
    {
        Span<byte> message = stackalloc byte[2 + (4 * window.Length)];
        message[0] = tag;
        message[1] = (byte)window.Length;
        for (var i = 0; i < window.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(message[(2 + (4 * i))..], window[i]);
        }

        return SipHash.Hash(_k0, _k1, message);
    }

    /// <summary>The keyed 64-bit hash of arbitrary bytes under scheme tag <paramref name="tag"/>.</summary>
    public ulong Hash(byte tag, ReadOnlySpan<byte> data)
    {
        var buffer = data.Length <= 256 ? stackalloc byte[data.Length + 1] : new byte[data.Length + 1];
        buffer[0] = tag;
        data.CopyTo(buffer[1..]);
        return SipHash.Hash(_k0, _k1, buffer);
    }

    /// <summary>The pseudo-random 64-bit value of candidate <paramref name="id"/> after a window with seed <paramref name="seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong TokenValue(ulong seed, int id) => Mix((seed ^ ((ulong)(uint)(id + 1) * 0x9E3779B97F4A7C15UL)));

    /// <summary>The SplitMix64 finalizer (Steele, Lea and Flood, 2014): a bijection with full avalanche.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Maps a 64-bit value to the open interval (0, 1) with 53 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ToUnit(ulong value) => ((value >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>Never shows key material.</summary>
    public override string ToString() => Epoch < 0 ? "WatermarkKey(master)" : $"WatermarkKey(epoch {Epoch})";
}
