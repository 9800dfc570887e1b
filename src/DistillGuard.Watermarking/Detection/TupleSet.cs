using System.Buffers;
using System.Runtime.CompilerServices;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Detection;

/// <summary>An exact set of (window, token) tuples packed into 128 bits (up to eight 16-bit ids), open addressing.</summary>
/// <remarks>Grows by doubling into pooled arrays, returned by <see cref="Dispose"/>: no allocation per token, and none per call once the pool is warm.</remarks>
internal sealed class TupleSet : IDisposable
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

        (_lo, _hi, _used) = Rent(capacity);
        _mask = capacity - 1;
    }

    public void Dispose() => Return(_lo, _hi, _used);

    private static (ulong[], ulong[], bool[]) Rent(int capacity)
    {
        var used = ArrayPool<bool>.Shared.Rent(capacity);
        Array.Clear(used, 0, capacity);
        return (ArrayPool<ulong>.Shared.Rent(capacity), ArrayPool<ulong>.Shared.Rent(capacity), used);
    }

    private static void Return(ulong[] lo, ulong[] hi, bool[] used)
    {
        ArrayPool<ulong>.Shared.Return(lo);
        ArrayPool<ulong>.Shared.Return(hi);
        ArrayPool<bool>.Shared.Return(used);
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
        if (_count * 2 >= _mask + 1)
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
        var (lo, hi, used, capacity) = (_lo, _hi, _used, _mask + 1);
        (_lo, _hi, _used) = Rent(capacity * 2);
        _mask = (capacity * 2) - 1;
        _count = 0;
        for (var i = 0; i < capacity; i++)
        {
            if (used[i])
            {
                Add(lo[i], hi[i]);
            }
        }

        Return(lo, hi, used);
    }
}
