using System.Buffers;
using System.Runtime.CompilerServices;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Detection;

/// <summary>An exact set of (window, token) tuples packed into 128 bits (up to eight 16-bit ids), open addressing.</summary>
/// <remarks>
/// Each slot is two adjacent words (lo, hi), so a probe touches one cache line; (0, 0) marks an empty slot and the
/// one tuple that packs to (0, 0) is kept in a flag. Grows by doubling into pooled arrays, returned by
/// <see cref="Dispose"/>: no allocation per token, and none per call once the pool is warm.
/// </remarks>
internal sealed class TupleSet : IDisposable
{
    private ulong[] _slots;
    private int _count;
    private int _mask;
    private bool _hasZero;

    public TupleSet(int expected)
    {
        var capacity = 16;
        while (capacity < expected * 2)
        {
            capacity <<= 1;
        }

        _slots = Rent(capacity);
        _mask = capacity - 1;
    }

    public void Dispose() => ArrayPool<ulong>.Shared.Return(_slots);

    private static ulong[] Rent(int capacity)
    {
        var slots = ArrayPool<ulong>.Shared.Rent(2 * capacity);
        Array.Clear(slots, 0, 2 * capacity);
        return slots;
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
        if ((lo | hi) == 0)
        {
            var added = !_hasZero;
            _hasZero = true;
            return added;
        }

        if (_count * 2 >= _mask + 1)
        {
            Grow();
        }

        var slots = _slots;
        var index = (int)(WatermarkKey.Mix(lo ^ (hi * 0x9E3779B97F4A7C15UL)) & (ulong)_mask);
        while (true)
        {
            var storedLo = slots[2 * index];
            var storedHi = slots[(2 * index) + 1];
            if ((storedLo | storedHi) == 0)
            {
                break;
            }

            if (storedLo == lo && storedHi == hi)
            {
                return false;
            }

            index = (index + 1) & _mask;
        }

        slots[2 * index] = lo;
        slots[(2 * index) + 1] = hi;
        _count++;
        return true;
    }

    private void Grow()
    {
        var (old, capacity) = (_slots, _mask + 1);
        _slots = Rent(capacity * 2);
        _mask = (capacity * 2) - 1;
        _count = 0;
        for (var i = 0; i < capacity; i++)
        {
            if ((old[2 * i] | old[(2 * i) + 1]) != 0)
            {
                Add(old[2 * i], old[(2 * i) + 1]);
            }
        }

        ArrayPool<ulong>.Shared.Return(old);
    }
}
