using System.Runtime.CompilerServices;

namespace DistillGuard.Detection.Sketches;

/// <summary>Cheap 64-bit finalisers that turn one hash into many independent-looking ones.</summary>
internal static class HashMix
{
    /// <summary>The SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijection with full avalanche.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }

    /// <summary>The <paramref name="index"/>-th derived hash of <paramref name="hash"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Derive(ulong hash, int index) => Mix(hash + (0x9E3779B97F4A7C15UL * (ulong)(index + 1)));
}
