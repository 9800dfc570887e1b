using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using System.Text;

namespace DistillGuard.Watermarking.Keys;

/// <summary>One watermark key (a master key or a key derived for one epoch) and the pseudo-random function it keys.</summary>
/// <remarks>
/// The PRF, bit for bit (so any adapter can reproduce it; see the conformance vectors in the tests):
/// the SipHash-2-4 key is the first 16 bytes of the 32-byte key (two little-endian 64-bit words);
/// the window seed is <c>s = SipHash(tag ‖ h ‖ id₁ … id_h)</c> with a one-byte scheme tag (<c>'G'</c> green list,
/// <c>'E'</c> exponential minimum, <c>'B'</c> account buckets, <c>'L'</c> lexical), one byte h, and each id as a
/// little-endian int32; the 32-bit value of a candidate is <c>u = lowbias32(lo(s) ⊕ id)</c> with <c>hi(s)</c> xored in
/// after the first multiply (see <see cref="TokenBits(ulong, int)"/>). One SipHash per step and two 32-bit
/// multiply-xorshifts per candidate keep generation and detection cheap (eight candidates per AVX2 instruction);
/// the secret seed makes u unpredictable without the key. <see cref="ToString"/> never shows key material.
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
        if (window.Length > 7)
        {
            Span<byte> message = stackalloc byte[2 + (4 * window.Length)];
            message[0] = tag;
            message[1] = (byte)window.Length;
            for (var i = 0; i < window.Length; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(message.Slice(2 + (4 * i), 4), window[i]);
            }

            return SipHash.Hash(_k0, _k1, message);
        }

        // The same message (at most 30 bytes) assembled into its little-endian words with shifts: writing bytes and
        // reading them back as words would stall on store forwarding, once per token in the detector.
        var length = 2 + (4 * window.Length);
        return SipHash.HashWords(
            _k0,
            _k1,
            tag | ((ulong)window.Length << 8) | (Id(window, 0) << 16) | (Id(window, 1) << 48),
            (Id(window, 1) >> 16) | (Id(window, 2) << 16) | (Id(window, 3) << 48),
            (Id(window, 3) >> 16) | (Id(window, 4) << 16) | (Id(window, 5) << 48),
            (Id(window, 5) >> 16) | (Id(window, 6) << 16),
            length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Id(ReadOnlySpan<int> window, int i) => i < window.Length ? (uint)window[i] : 0UL;

    /// <summary>The keyed 64-bit hash of arbitrary bytes under scheme tag <paramref name="tag"/>.</summary>
    public ulong Hash(byte tag, ReadOnlySpan<byte> data)
    {
        var buffer = data.Length <= 256 ? stackalloc byte[data.Length + 1] : new byte[data.Length + 1];
        buffer[0] = tag;
        data.CopyTo(buffer[1..]);
        return SipHash.Hash(_k0, _k1, buffer);
    }

    /// <summary>The pseudo-random 32-bit value of candidate <paramref name="id"/> after a window with seed <paramref name="seed"/>.</summary>
    /// <remarks>
    /// Chris Wellons' lowbias32 mixer (hash-prospector, 2018: shifts 16, 15, 16; multipliers 0x7feb352d, 0x846ca68b)
    /// applied to the low seed word xor the id, with the high seed word xored in after the first multiply, so both
    /// halves of the seed key the value. A bijection of the id for a fixed seed. 32-bit lanes are what AVX2 can
    /// multiply (it has no 64-bit multiply), which is why the candidate value is 32 bits wide.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint TokenBits(ulong seed, int id)
    {
        var x = (uint)seed ^ (uint)id;
        x ^= x >> 16;
        x *= 0x7FEB352DU;
        x ^= (uint)(seed >> 32);
        x ^= x >> 15;
        x *= 0x846CA68BU;
        return x ^ (x >> 16);
    }

    /// <summary><see cref="TokenBits(ulong, int)"/> of eight candidates at once, with the seed split into its low and high words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<uint> TokenBits(Vector256<uint> low, Vector256<uint> high, Vector256<int> ids)
    {
        var x = MixedBeforeLastShift(low, high, ids);
        return x ^ Vector256.ShiftRightLogical(x, 16);
    }

    /// <summary><see cref="TokenBits(ulong, int)"/> of eight candidates without its last xorshift (x ^ x &gt;&gt; 16), which leaves the top 16 bits unchanged.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<uint> MixedBeforeLastShift(Vector256<uint> low, Vector256<uint> high, Vector256<int> ids)
    {
        var x = low ^ ids.AsUInt32();
        x ^= Vector256.ShiftRightLogical(x, 16);
        x *= 0x7FEB352DU;
        x ^= high;
        x ^= Vector256.ShiftRightLogical(x, 15);
        return x * 0x846CA68BU;
    }

    /// <summary><see cref="TokenBits(ulong, int)"/> in the high half of a 64-bit value, so a comparison with ⌊γ·2⁶⁴⌋ decides green exactly as the 32-bit one with <see cref="GreenThreshold(double)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong TokenValue(ulong seed, int id) => (ulong)TokenBits(seed, id) << 32;

    /// <summary>The 32-bit green threshold of fraction <paramref name="gamma"/>: a candidate is green when its <see cref="TokenBits(ulong, int)"/> is below it.</summary>
    /// <remarks>⌈⌊γ·2⁶⁴⌋ / 2³²⌉, which makes <c>u &lt; T</c> the same test as <c>u·2³² &lt; ⌊γ·2⁶⁴⌋</c>.</remarks>
    public static uint GreenThreshold(double gamma)
    {
        var wide = (ulong)(gamma * 18446744073709551616.0);
        return (uint)Math.Min(uint.MaxValue, (wide >> 32) + ((wide & 0xFFFF_FFFFUL) == 0 ? 0UL : 1UL));
    }

    /// <summary>The Gumbel scheme's uniform r = (u + ½) / 2³² of a candidate value, in (0, 1) and exact in a double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ToUniform(uint bits) => (bits + 0.5) * (1.0 / 4294967296);

    /// <summary>The Exp(1) score −ln(1 − r) of a candidate value, r = (u + ½) / 2³² the Gumbel scheme's uniform.</summary>
    /// <remarks>1 − r = (~u + ½) / 2³² exactly, so the score is 32 ln 2 − ln(~u + ½) without cancellation near r = 1.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ExponentialScore(uint bits) => ThirtyTwoLn2 - Math.Log(~bits + 0.5);

    /// <summary>32 ln 2: the score offset of <see cref="ExponentialScore"/>.</summary>
    internal static readonly double ThirtyTwoLn2 = 32 * Math.Log(2);

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
