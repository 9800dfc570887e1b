using System.Runtime.CompilerServices;

namespace DistillGuard.Watermarking.Engines;

/// <summary>Four 32-bit words: a Philox counter or output block.</summary>
public readonly record struct PhiloxBlock(uint X0, uint X1, uint X2, uint X3)
{
    /// <summary>Word <paramref name="index"/> (0–3).</summary>
    public uint this[int index] => (index & 3) switch
    {
        0 => X0,
        1 => X1,
        2 => X2,
        _ => X3,
    };
}

/// <summary>The Philox4x32-10 block function (Salmon, Moraes, Dror and Shaw, SC 2011; the Random123 constants).</summary>
/// <remarks>Stateless: a pure function of a 128-bit counter and a 64-bit key, so it serves any number of threads.</remarks>
public static class Philox4x32
{
    // Multipliers and Weyl key increments of Random123's philox4x32 (the golden ratio and √3 − 1 in 32 bits).
    private const uint M0 = 0xD2511F53;
    private const uint M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9;
    private const uint W1 = 0xBB67AE85;

    /// <summary>Ten rounds of Philox over <paramref name="counter"/> with the key (<paramref name="key0"/>, <paramref name="key1"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PhiloxBlock Encrypt(PhiloxBlock counter, uint key0, uint key1)
    {
        uint c0 = counter.X0, c1 = counter.X1, c2 = counter.X2, c3 = counter.X3;
        // Unrolled, with the key schedule k + r·W folded into each round: no loop-carried key, more overlap.
        Round(ref c0, ref c1, ref c2, ref c3, key0, key1);
        Round(ref c0, ref c1, ref c2, ref c3, key0 + W0, key1 + W1);
        Round(ref c0, ref c1, ref c2, ref c3, unchecked(key0 + (2 * W0)), unchecked(key1 + (2 * W1)));
        Round(ref c0, ref c1, ref c2, ref c3, unchecked(key0 + (3 * W0)), unchecked(key1 + (3 * W1)));
        Round(ref c0, ref c1, ref c2, ref c3, unchecked(key0 + (4 * W0)), unchecked(key1 + (4 * W1)));
        Round(ref c0, ref c1, ref c2, ref c3, unchecked(key0 + (5 * W0)), unchecked(key1 + (5 * W1)));
        Round(ref c0, ref c1, ref c2, ref c3, unchecked(key0 + (6 * W0)), unchecked(key1 + (6 * W1)));
        Round(ref c0, ref c1, ref c2, ref c3, unchecked(key0 + (7 * W0)), unchecked(key1 + (7 * W1)));
        Round(ref c0, ref c1, ref c2, ref c3, unchecked(key0 + (8 * W0)), unchecked(key1 + (8 * W1)));
        Round(ref c0, ref c1, ref c2, ref c3, unchecked(key0 + (9 * W0)), unchecked(key1 + (9 * W1)));
        return new PhiloxBlock(c0, c1, c2, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref uint c0, ref uint c1, ref uint c2, ref uint c3, uint key0, uint key1)
    {
        var p0 = (ulong)M0 * c0;
        var p1 = (ulong)M1 * c2;
        var n0 = (uint)(p1 >> 32) ^ c1 ^ key0;
        var n2 = (uint)(p0 >> 32) ^ c3 ^ key1;
        c1 = (uint)p1;
        c3 = (uint)p0;
        c0 = n0;
        c2 = n2;
    }
}
