namespace DistillGuard.Detection.Sketches;

/// <summary>A MinHash signature of a set (Broder 1997): the share of equal slots estimates the Jaccard similarity.</summary>
/// <remarks>k slots give a standard error of about √(J(1−J)/k). One base hash per item, k derived by mixing. Not thread-safe.</remarks>
public sealed class MinHashSignature
{
    private readonly uint[] _slots;

    /// <summary>Creates an empty signature with <paramref name="size"/> slots.</summary>
    public MinHashSignature(int size = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        _slots = new uint[size];
        Clear();
    }

    /// <summary>Number of slots.</summary>
    public int Size => _slots.Length;

    /// <summary>Bytes of state.</summary>
    public int SizeBytes => _slots.Length * sizeof(uint);

    /// <summary>True until the first item is added.</summary>
    public bool IsEmpty => _slots[0] == uint.MaxValue && Array.TrueForAll(_slots, static s => s == uint.MaxValue);

    /// <summary>Adds an already-hashed item.</summary>
    public void Add(ulong hash)
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            var h = (uint)(HashMix.Derive(hash, i) >> 32);
            if (h < _slots[i])
            {
                _slots[i] = h;
            }
        }
    }

    /// <summary>Estimated Jaccard similarity with a signature of the same size; 0 when either is empty.</summary>
    public double Jaccard(MinHashSignature other)
    {
        if (other._slots.Length != _slots.Length)
        {
            throw new ArgumentException("Signature sizes differ.", nameof(other));
        }

        if (IsEmpty || other.IsEmpty)
        {
            return 0;
        }

        var equal = 0;
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] == other._slots[i])
            {
                equal++;
            }
        }

        return (double)equal / _slots.Length;
    }

    /// <summary>The slots, for export (e.g. cross-account linking).</summary>
    public ReadOnlySpan<uint> Slots => _slots;

    /// <summary>Forgets everything.</summary>
    public void Clear() => Array.Fill(_slots, uint.MaxValue);
}
