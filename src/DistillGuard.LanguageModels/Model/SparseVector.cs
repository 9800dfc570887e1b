namespace DistillGuard.LanguageModels.Model;

/// <summary>A dense vocabulary-sized accumulator that remembers which entries were touched, so clearing costs O(touched).</summary>
/// <remarks>Not thread-safe; one per generation. Only positive values are added, so zero marks an untouched entry.</remarks>
internal sealed class SparseVector
{
    private readonly float[] _values;
    private readonly int[] _touched;

    public SparseVector(float[] values, int[] touched)
    {
        _values = values;
        _touched = touched;
        Array.Clear(_values);
    }

    public int Count { get; private set; }

    public ReadOnlySpan<int> Touched => _touched.AsSpan(0, Count);

    public float this[int id] => _values[id];

    public void Add(int id, float value)
    {
        ref var slot = ref _values[id];
        if (slot == 0f)
        {
            _touched[Count++] = id;
        }

        slot += value;
    }

    /// <summary>Multiplies every touched entry by a positive factor.</summary>
    public void Scale(float factor)
    {
        foreach (var id in Touched)
        {
            _values[id] *= factor;
        }
    }

    public void Clear()
    {
        foreach (var id in Touched)
        {
            _values[id] = 0f;
        }

        Count = 0;
    }
}
