using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Detection;

/// <summary>An exact set of (window, token) tuples packed into 128 bits (up to eight 16-bit ids), open addressing.</summary>
/// <remarks>
/// Each slot is two adjacent words (lo, hi), so a probe touches one cache line; (0, 0) marks an empty slot and the
/// one tuple that packs to (0, 0) is kept in a flag. For h ≤ 3 the tuple fits in lo alone (hi holds only h, the same
/// for every tuple of a set), so slots are one word: half the memory, and half the cache misses on long texts. Grows by doubling into pooled arrays, returned by
/// <see cref="Dispose"/>: no allocation per token, and none per call once the pool is warm.
/// </remarks>
internal sealed class TupleSet : IDisposable
{
    private readonly int _words;
    private ulong[] _slots;
    private int _count;
    private int _mask;
    private bool _hasZero;

    public TupleSet(int expected, int width)
    {
        _words = width <= 3 ? 1 : 2;
        var capacity = 16;
        while (capacity < expected * 2)
        {
            capacity <<= 1;
        }

        _slots = Rent(capacity);
        _mask = capacity - 1;
    }

    public void Dispose() => ArrayPool<ulong>.Shared.Return(_slots);

    private ulong[] Rent(int capacity)
    {
        var slots = ArrayPool<ulong>.Shared.Rent(_words * capacity);
        Array.Clear(slots, 0, _words * capacity);
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

    /// <summary>Asks the processor to fetch the slot of a tuple that will be added soon (a hint; no effect on the result).</summary>
    /// <remarks>
    /// On a long text the set outgrows the caches and every probe would wait for memory; fetching a few tuples ahead
    /// overlaps those waits. Skipped when the set would grow before the tuple is added (the slot would move).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void Prefetch(ulong lo, ulong hi)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        var index = _words == 1 ? Home(lo) : HomeWide(lo, hi);
        fixed (ulong* slots = _slots)
        {
            Sse.Prefetch0(slots + (_words * index));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(ulong lo) => (int)(WatermarkKey.Mix(lo) & (ulong)_mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int HomeWide(ulong lo, ulong hi) => (int)(WatermarkKey.Mix(lo ^ (hi * 0x9E3779B97F4A7C15UL)) & (ulong)_mask);

    /// <summary>Adds the tuple; false when it was already present.</summary>
    public bool Add(ulong lo, ulong hi)
    {
        if (_words == 1)
        {
            hi = 0;
        }

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

        return _words == 1 ? AddNarrow(lo) : AddWide(lo, hi);
    }

    private bool AddNarrow(ulong lo)
    {
        var slots = _slots;
        var index = Home(lo);
        while (true)
        {
            var stored = slots[index];
            if (stored == 0)
            {
                slots[index] = lo;
                _count++;
                return true;
            }

            if (stored == lo)
            {
                return false;
            }

            index = (index + 1) & _mask;
        }
    }

    private bool AddWide(ulong lo, ulong hi)
    {
        var slots = _slots;
        var index = HomeWide(lo, hi);
        while (true)
        {
            var storedLo = slots[2 * index];
            var storedHi = slots[(2 * index) + 1];
            if ((storedLo | storedHi) == 0)
            {
                slots[2 * index] = lo;
                slots[(2 * index) + 1] = hi;
                _count++;
                return true;
            }

            if (storedLo == lo && storedHi == hi)
            {
                return false;
            }

            index = (index + 1) & _mask;
        }
    }

    private void Grow()
    {
        var (old, capacity) = (_slots, _mask + 1);
        _slots = Rent(capacity * 2);
        _mask = (capacity * 2) - 1;
        _count = 0;
        for (var i = 0; i < capacity; i++)
        {
            var lo = old[_words * i];
            var hi = _words == 1 ? 0 : old[(2 * i) + 1];
            if ((lo | hi) != 0)
            {
                _ = _words == 1 ? AddNarrow(lo) : AddWide(lo, hi);
            }
        }

        ArrayPool<ulong>.Shared.Return(old);
    }
}
