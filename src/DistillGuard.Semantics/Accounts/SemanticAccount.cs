using System.Numerics.Tensors;

namespace DistillGuard.Semantics.Accounts;

/// <summary>
/// One account's semantic evidence in fixed space: a time-decayed reservoir of int8-quantised prompt embeddings and
/// decayed running sums (the embedding sum for breadth, near-duplicate and intent hit rates).
/// </summary>
/// <remarks>
/// The reservoir is weighted by recency (Efraimidis &amp; Spirakis 2006 with weight e^{t/τ}: keep the largest
/// t/τ + Gumbel keys), so it is a sample of the last few half-lives, not of the account's whole life. Each sum is
/// decayed by 2^(−Δt/half-life) when a prompt is folded in; the features are ratios of sums, so they need no decay
/// when read. Quantisation is per vector (largest component at ±127); cosines between dequantised vectors differ from
/// the float ones by about 1e-3. Not thread-safe: the owner locks it.
/// </remarks>
internal sealed class SemanticAccount
{
    /// <summary>Embeddings kept per account.</summary>
    public const int Slots = 12;

    private readonly int _dimensions;
    private readonly sbyte[] _codes;
    private readonly float[] _scales = new float[Slots];
    private readonly double[] _keys = new double[Slots];
    private readonly ulong[] _hashes = new ulong[Slots];
    private readonly float[] _sum;
    private int _filled;
    private double _weight;
    private double _weightSquares;
    private double _templateTrials;
    private double _templateHits;
    private double _intentHits;
    private long _decayedTo;

    public SemanticAccount(int dimensions)
    {
        _dimensions = dimensions;
        _codes = new sbyte[Slots * dimensions];
        _sum = new float[dimensions];
    }

    /// <summary>Sampled prompts folded in (not decayed).</summary>
    public int Samples { get; private set; }

    /// <summary>Prompts offered to the sampler this clock hour, and the hour.</summary>
    public int HourOffered { get; set; }

    public long Hour { get; set; } = long.MinValue;

    /// <summary>Prompts offered after the hour's first ones, for the 1-in-m rule.</summary>
    public long LateOffered { get; set; }

    /// <summary>Prompts this account has put into the population sample.</summary>
    public int Contributed { get; set; }

    public long LastSeen { get; private set; }

    /// <summary>Changes with every fold; caches of derived values compare it.</summary>
    public int Version { get; private set; }

    /// <summary>Embeddings held.</summary>
    public int Filled => _filled;

    /// <summary>Bytes held: codes, scales, keys, hashes, the sum and the scalars.</summary>
    public int SizeBytes => _codes.Length + (Slots * (4 + 8 + 8)) + (_sum.Length * 4) + 96;

    /// <summary>True when a prompt with this text hash is in the reservoir (an exact repeat adds no evidence).</summary>
    public bool Holds(ulong hash)
    {
        for (var i = 0; i < _filled; i++)
        {
            if (_hashes[i] == hash)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Folds in one sampled prompt's embedding at <paramref name="unixSeconds"/>.</summary>
    /// <param name="gumbel">A Gumbel(0, 1) draw for the reservoir key (from the prompt's hash, so replays are reproducible).</param>
    /// <param name="intent">True when the prompt is near an intent prototype.</param>
    public void Fold(float[] vector, ulong hash, long unixSeconds, double halfLifeSeconds, double gumbel, bool intent, double templateCosine)
    {
        Decay(unixSeconds, halfLifeSeconds);
        LastSeen = Math.Max(LastSeen, unixSeconds);
        if (_filled > 0)
        {
            _templateTrials++;
            if (NearestCosine(vector) >= templateCosine)
            {
                _templateHits++;
            }
        }

        _intentHits += intent ? 1 : 0;
        _weight++;
        _weightSquares++;
        TensorPrimitives.Add(_sum, vector, _sum);

        // Recency-weighted reservoir: key t/τ + Gumbel with τ = half-life / ln 2.
        var key = (unixSeconds / (halfLifeSeconds / Math.Log(2))) + gumbel;
        if (_filled < Slots)
        {
            Store(_filled++, vector, hash, key);
        }
        else if (SmallestKey() is var slot && key > _keys[slot])
        {
            Store(slot, vector, hash, key);
        }

        Samples++;
        Version++;
    }

    /// <summary>Largest cosine between <paramref name="vector"/> and a held embedding (−1 when none is held).</summary>
    public double NearestCosine(ReadOnlySpan<float> vector)
    {
        var best = -1.0;
        for (var i = 0; i < _filled; i++)
        {
            best = Math.Max(best, Dot(i, vector));
        }

        return best;
    }

    /// <summary>The held embeddings, dequantised (unit length).</summary>
    public float[][] Vectors()
    {
        var result = new float[_filled][];
        for (var i = 0; i < _filled; i++)
        {
            var v = new float[_dimensions];
            var codes = _codes.AsSpan(i * _dimensions, _dimensions);
            for (var d = 0; d < _dimensions; d++)
            {
                v[d] = codes[d] * _scales[i];
            }

            var norm = TensorPrimitives.Norm(v);
            if (norm > 0)
            {
                TensorPrimitives.Divide(v, norm, v);
            }

            result[i] = v;
        }

        return result;
    }

    /// <summary>Decayed share of prompts (after the first) that were near-duplicates in meaning of a held one.</summary>
    public double TemplateShare => _templateTrials > 0 ? _templateHits / _templateTrials : double.NaN;

    /// <summary>Decayed share of prompts near an intent prototype.</summary>
    public double IntentShare => _weight > 0 ? _intentHits / _weight : double.NaN;

    /// <summary>1 − the (decay-weighted) mean cosine over pairs of distinct sampled prompts.</summary>
    public double Breadth
    {
        get
        {
            var pairs = (_weight * _weight) - _weightSquares;
            if (pairs <= 1e-9)
            {
                return double.NaN;
            }

            var squared = (double)TensorPrimitives.Dot(_sum, _sum);
            return 1 - Math.Clamp((squared - _weightSquares) / pairs, -1, 1);
        }
    }

    private void Decay(long unixSeconds, double halfLifeSeconds)
    {
        if (_decayedTo == 0 || unixSeconds <= _decayedTo)
        {
            _decayedTo = Math.Max(_decayedTo, unixSeconds);
            return;
        }

        var factor = Math.Pow(2, -(unixSeconds - _decayedTo) / halfLifeSeconds);
        _decayedTo = unixSeconds;
        _weight *= factor;
        _weightSquares *= factor * factor;
        _templateTrials *= factor;
        _templateHits *= factor;
        _intentHits *= factor;
        TensorPrimitives.Multiply(_sum, (float)factor, _sum);
    }

    private int SmallestKey()
    {
        var slot = 0;
        for (var i = 1; i < Slots; i++)
        {
            if (_keys[i] < _keys[slot])
            {
                slot = i;
            }
        }

        return slot;
    }

    private void Store(int slot, ReadOnlySpan<float> vector, ulong hash, double key)
    {
        var max = TensorPrimitives.MaxMagnitude(vector);
        var scale = max > 0 ? Math.Abs(max) / 127f : 1f;
        var codes = _codes.AsSpan(slot * _dimensions, _dimensions);
        for (var d = 0; d < _dimensions; d++)
        {
            codes[d] = (sbyte)Math.Clamp(MathF.Round(vector[d] / scale), -127, 127);
        }

        _scales[slot] = scale;
        _keys[slot] = key;
        _hashes[slot] = hash;
    }

    // Cosine of a held (quantised) embedding with a unit vector: the dequantised vector's norm is ≈ 1 but not exactly.
    private double Dot(int slot, ReadOnlySpan<float> vector)
    {
        var codes = _codes.AsSpan(slot * _dimensions, _dimensions);
        double dot = 0, norm = 0;
        for (var d = 0; d < _dimensions; d++)
        {
            dot += codes[d] * vector[d];
            norm += codes[d] * codes[d];
        }

        return norm > 0 ? dot / Math.Sqrt(norm) : 0;
    }
}
