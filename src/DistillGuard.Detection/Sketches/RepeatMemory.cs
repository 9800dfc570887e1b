namespace DistillGuard.Detection.Sketches;

/// <summary>A direct-mapped table of 8-bit fingerprints that says, with one probe, whether an exact request was sent before.</summary>
/// <remarks>
/// It errs towards "new", the side that never lowers suspicion: a later request mapped to the same slot overwrites the
/// earlier one, so a full table forgets (an account flooding it only makes its own repeats look new), and a new request is
/// taken for a repeat only when its slot holds an equal fingerprint (at most 1 in 255). Not thread-safe.
/// </remarks>
public sealed class RepeatMemory
{
    private readonly byte[] _slots;

    /// <summary>Creates a table of <paramref name="slots"/> one-byte slots (16–65,536).</summary>
    public RepeatMemory(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slots, 1 << 16);
        _slots = new byte[slots];
    }

    /// <summary>Bytes of state.</summary>
    public int SizeBytes => _slots.Length;

    /// <summary>True when the table holds <paramref name="hash"/> (an already-hashed request).</summary>
    public bool Contains(ulong hash)
    {
        var (slot, fingerprint) = Locate(hash);
        return _slots[slot] == fingerprint;
    }

    /// <summary>Remembers <paramref name="hash"/>, replacing whatever shared its slot.</summary>
    public void Add(ulong hash)
    {
        var (slot, fingerprint) = Locate(hash);
        _slots[slot] = fingerprint;
    }

    /// <summary>Forgets everything.</summary>
    public void Clear() => Array.Clear(_slots);

    private (int Slot, byte Fingerprint) Locate(ulong hash)
    {
        hash = HashMix.Mix(hash);
        // 0 marks an empty slot, so fingerprints run 1..255.
        // Lemire's multiply-shift maps the top 32 bits onto any table size without a division.
        return ((int)(((hash >> 32) * (ulong)_slots.Length) >> 32), (byte)((hash & 0xFFFF_FFFF) % 255 + 1));
    }
}
