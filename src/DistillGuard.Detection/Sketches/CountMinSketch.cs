namespace DistillGuard.Detection.Sketches;

/// <summary>A count-min sketch (Cormode &amp; Muthukrishnan 2005): frequency estimates that never under-count.</summary>
/// <remarks>Over-counts by at most e·N/width with probability 1 − e^−depth. Not thread-safe.</remarks>
public sealed class CountMinSketch
{
    private readonly int[] _cells;
    private readonly int _width;
    private readonly int _depth;

    /// <summary>Creates a sketch of <paramref name="depth"/> rows of <paramref name="width"/> counters (width a power of two).</summary>
    public CountMinSketch(int width = 64, int depth = 3)
    {
        if (width < 2 || !int.IsPow2(width))
        {
            throw new ArgumentOutOfRangeException(nameof(width), "Width must be a power of two ≥ 2.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        _width = width;
        _depth = depth;
        _cells = new int[width * depth];
    }

    /// <summary>Bytes of state.</summary>
    public int SizeBytes => _cells.Length * sizeof(int);

    /// <summary>Total of all increments.</summary>
    public long Total { get; private set; }

    /// <summary>Adds <paramref name="count"/> to <paramref name="hash"/> and returns its new estimate.</summary>
    public int Add(ulong hash, int count = 1)
    {
        var estimate = int.MaxValue;
        for (var row = 0; row < _depth; row++)
        {
            ref var cell = ref _cells[(row * _width) + Column(hash, row)];
            cell = cell > int.MaxValue - count ? int.MaxValue : cell + count;
            estimate = Math.Min(estimate, cell);
        }

        Total += count;
        return estimate;
    }

    /// <summary>Estimated count of <paramref name="hash"/> (never below the true count).</summary>
    public int Estimate(ulong hash)
    {
        var estimate = int.MaxValue;
        for (var row = 0; row < _depth; row++)
        {
            estimate = Math.Min(estimate, _cells[(row * _width) + Column(hash, row)]);
        }

        return estimate;
    }

    /// <summary>Forgets everything.</summary>
    public void Clear()
    {
        Array.Clear(_cells);
        Total = 0;
    }

    private int Column(ulong hash, int row) => (int)(HashMix.Derive(hash, row) & (ulong)(_width - 1));
}
