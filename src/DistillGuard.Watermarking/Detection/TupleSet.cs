using System.Runtime.CompilerServices;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Detection;

/// <summary>An exact set of (window, token) tuples packed into 128 bits (up to eight 16-bit ids), open addressing.</summary>
/// <remarks>Grows by doubling, so scoring n tokens allocates O(log n) times, never per token.</remarks>
internal sealed class TupleSet
{
    private ulong[] _lo;
    private ulong[] _hi;
    private bool[] _used;
    private int _count;
    private int _mask;

    public TupleSet(int expected)
    {
        var capacity = 16;
        while (capacity < expected * 2)
        {
            capacity <<= 1;
        }

        _lo = new ulong[capacity];
        _hi = new ulong[capacity];
        _used = new bool[capacity];
        _mask = capacity - 1;
    }

    /// <summary>Packs a tuple of up to eight ids below 65,536; false when an id does not fit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryPack(ReadOnlySpan<int> window, int token, out ulong lo, out ulong hi)
    {
        lo = (uint)token;
        hi = 0;
        if ((uint)token > ushort.MaxValue)
        {
            return false;
        }

        for (var i = 0; i < window.Length; i++)
        {
            var id = (uint)window[i];
            if (id > ushort.MaxValue)
            {
                return false;
            }

            var slot = i + 1;
            if (slot < 4)
            {
                lo |= (ulong)id << (16 * slot);
            }
            else
            {
                hi |= (ulong)id << (16 * (slot - 4));
            }
        }

        // The length goes into the spare top bits only when h < 7, which keeps different widths apart.
        hi ^= (ulong)window.Length << 61;
        return true;
    }

    /// <summary>Adds the tuple; false when it was already present.</summary>
    public bool Add(ulong lo, ulong hi)
    {
        if (_count * 2 >= _lo.Length)
        {
            Grow();
        }

        var index = (int)(WatermarkKey.Mix(lo ^ (hi * 0x9E3779B97F4A7C15UL)) & (ulong)_mask);
        while (_used[index])
        {
            if (_lo[index] == lo && _hi[index] == hi)
            {
                return false;
            }

            index = (index + 1) & _mask;
        }

        _used[index] = true;
        _lo[index] = lo;
        _hi[index] = hi;
        _count++;
        return true;
    }

    private void Grow()
    {
        var (lo, hi, used) = (_lo, _hi, _used);
        _lo = new ulong[lo.Length * 2];
        _hi = new ulong[lo.Length * 2];
        _used = new bool[lo.Length * 2];
        _mask = _lo.Length - 1;
        _count = 0;
        for (var i = 0; i < lo.Length; i++)
        {
            if (used[i])
            {
                Add(lo[i], hi[i]);
            }
        }
    }
}
