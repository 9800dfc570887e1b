using System.Buffers;
using System.Runtime.CompilerServices;

namespace DistillGuard.Watermarking.Engines;

/// <summary>An exact set of contexts, each a span of a padded token array, found by a 64-bit hash and compared id by id.</summary>
/// <remarks>
/// Open addressing over positions (slot = position + 1, 0 empty) in a pooled array sized for the text, so adding a
/// context allocates nothing. The caller supplies the hash (the PRF's keyed context state is already at hand), which
/// only chooses the slot: equality is always decided on the ids, so the set is exact whatever the hash.
/// </remarks>
internal sealed class ContextSet : IDisposable
{
    private readonly int[] _slots;
    private readonly int _mask;

    public ContextSet(int contexts)
    {
        var capacity = 16;
        while (capacity < contexts * 2)
        {
            capacity <<= 1;
        }

        _slots = ArrayPool<int>.Shared.Rent(capacity);
        Array.Clear(_slots, 0, capacity);
        _mask = capacity - 1;
    }

    public void Dispose() => ArrayPool<int>.Shared.Return(_slots);

    /// <summary>Adds the context at <paramref name="position"/> of <paramref name="padded"/>; false when an equal one is in the set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Add(ReadOnlySpan<int> padded, int position, int width, ulong hash)
    {
        var slot = (int)((hash ^ (hash >> 29)) & (uint)_mask);
        var context = padded.Slice(position, width);
        while (true)
        {
            var stored = _slots[slot];
            if (stored == 0)
            {
                _slots[slot] = position + 1;
                return true;
            }

            if (padded.Slice(stored - 1, width).SequenceEqual(context))
            {
                return false;
            }

            slot = (slot + 1) & _mask;
        }
    }
}
