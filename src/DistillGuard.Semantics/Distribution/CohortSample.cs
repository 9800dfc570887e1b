namespace DistillGuard.Semantics.Distribution;

/// <summary>
/// A uniform reservoir (Vitter's algorithm R, seeded) of prompt embeddings from the whole served population, each
/// account contributing at most a few, with its bandwidth and within-sample kernel mean cached for the MMD.
/// </summary>
/// <remarks>
/// Attackers are a small minority of accounts and each adds at most <see cref="SemanticOptions.CohortContributions"/>
/// prompts, so the sample stands for benign traffic; a calibration replay of benign traffic fills it with benign
/// prompts only. The cached terms are refreshed when a sixteenth of the sample has changed, so scoring many accounts
/// does not redo the quadratic work. Thread-safe.
/// </remarks>
internal sealed class CohortSample(int capacity, int referenceSize, int seed)
{
    private readonly List<float[]> _vectors = new(capacity);
    private readonly Random _random = new(seed);
    private long _offered;
    private int _changes;
    private Reference? _reference;

    /// <summary>The reference the MMD is computed against: up to <c>referenceSize</c> vectors, the bandwidth and their within-sample mean.</summary>
    internal sealed record Reference(float[][] Vectors, double Bandwidth, double Within, int Version);

    public int Count
    {
        get
        {
            lock (_vectors)
            {
                return _vectors.Count;
            }
        }
    }

    public void Offer(float[] vector)
    {
        lock (_vectors)
        {
            _offered++;
            if (_vectors.Count < capacity)
            {
                _vectors.Add(vector);
                _changes++;
                return;
            }

            var slot = _random.NextInt64(_offered);
            if (slot < capacity)
            {
                _vectors[(int)slot] = vector;
                _changes++;
            }
        }
    }

    /// <summary>The current reference, or null while the sample holds fewer than <paramref name="minimum"/> vectors.</summary>
    public Reference? Current(int minimum)
    {
        float[][] vectors;
        int version;
        lock (_vectors)
        {
            if (_vectors.Count < minimum)
            {
                return null;
            }

            var stale = _reference is null || _changes >= Math.Max(1, _vectors.Count / 16) || _reference.Vectors.Length < Math.Min(referenceSize, _vectors.Count) && _changes > 0;
            if (!stale)
            {
                return _reference;
            }

            var take = Math.Min(referenceSize, _vectors.Count);
            vectors = _vectors.Take(take).ToArray();
            version = (_reference?.Version ?? 0) + 1;
            _changes = 0;
        }

        var bandwidth = MaximumMeanDiscrepancy.MedianBandwidth(vectors);
        var reference = new Reference(vectors, bandwidth, MaximumMeanDiscrepancy.WithinMean(vectors, bandwidth), version);
        lock (_vectors)
        {
            if (_reference is null || _reference.Version < version)
            {
                _reference = reference;
            }

            return _reference;
        }
    }
}
