using System.Buffers;
using System.Numerics.Tensors;
using DistillGuard.LanguageModels.Model;
using DistillGuard.LanguageModels.Topics;

namespace DistillGuard.LanguageModels.Sampling;

/// <summary>
/// The next-token distribution of one step, enumerable in descending probability without sorting the vocabulary.
/// </summary>
/// <remarks>
/// For a <see cref="KneserNeyModel"/>, p(w) = weight · background(w) + sparse(w): only the few hundred or thousand
/// tokens with higher-order terms go into a heap, and every other token keeps the background's precomputed order,
/// so the two streams merge lazily and top-p stops after the nucleus. Any other model is scored in full and the
/// whole vocabulary goes into the heap. Ties break by token id, so the order is deterministic. One instance per
/// generation; buffers are rented once and returned by <see cref="Dispose"/>.
/// </remarks>
internal sealed class CandidateRanking : IDisposable
{
    private readonly ILanguageModel _model;
    private readonly KneserNeyModel? _kneserNey;
    private readonly int _vocabularySize;
    private readonly float[] _values;
    private readonly int[] _touched;
    private readonly SparseVector? _sparse;
    private readonly int[] _heapIds;
    private readonly float[] _heapProbabilities;
    private int _heapCount;
    private int _backgroundCursor;
    private float _weight;
    private float _maxBackground;
    private double _temperedInverse = double.NaN;
    private double _temperedBackground;
    private double[]? _temperedPrefix;
    private readonly double[] _bucketMass = new double[BucketCount];
    private readonly double[] _bucketTouchedBackground = new double[BucketCount];

    // A positive float's bits grow with its value; the top 12 bits (sign, exponent, 3 mantissa bits) cut the
    // probability axis into buckets an eighth of an octave wide.
    private const int BucketShift = 20;
    private const int BucketCount = 1 << (32 - BucketShift);

    public CandidateRanking(ILanguageModel model)
    {
        _model = model;
        _kneserNey = model as KneserNeyModel;
        _vocabularySize = model.VocabularySize;
        _values = ArrayPool<float>.Shared.Rent(_vocabularySize);
        _touched = ArrayPool<int>.Shared.Rent(_vocabularySize);
        _heapIds = ArrayPool<int>.Shared.Rent(_vocabularySize);
        _heapProbabilities = ArrayPool<float>.Shared.Rent(_vocabularySize);
        if (_kneserNey is not null)
        {
            _sparse = new SparseVector(_values, _touched);
            _maxBackground = TensorPrimitives.Max(_kneserNey.Background);
        }
    }

    /// <summary>
    /// Topic cache mixed into every step: p'(w | h) = (1 − λ) · p(w | h) + λ · p_cache(w). The cache is sparse, so its
    /// tokens join the sparse set and every other token keeps p = weight · background: the fast paths stay exact.
    /// </summary>
    public TopicBias? Topic { get; init; }

    /// <summary>Probability of the most likely token of this step.</summary>
    public float MaxProbability { get; private set; }

    /// <summary>Scores the step after <paramref name="context"/> and restarts the enumeration.</summary>
    public void Prepare(ReadOnlySpan<int> context)
    {
        _heapCount = 0;
        if (_kneserNey is not null)
        {
            var sparse = _sparse!;
            sparse.Clear();
            _weight = _kneserNey.CollectSparse(context, sparse);
            var background = _kneserNey.Background;
            if (Topic is { } topic)
            {
                ApplyTopic(topic, sparse);
            }
            foreach (var id in sparse.Touched)
            {
                _heapIds[_heapCount] = id;
                _heapProbabilities[_heapCount++] = (_weight * background[id]) + sparse[id];
            }

            _backgroundCursor = 0;
            SkipTouchedBackground();
        }
        else
        {
            var probabilities = _values.AsSpan(0, _vocabularySize);
            _model.GetLogProbabilities(context, probabilities);
            TensorPrimitives.Exp(probabilities, probabilities);
            if (Topic is { } topic)
            {
                TensorPrimitives.Multiply(probabilities, 1 - topic.Weight, probabilities);
                var ids = topic.Ids;
                for (var i = 0; i < ids.Length; i++)
                {
                    if (ids[i] < probabilities.Length)
                    {
                        probabilities[ids[i]] += topic.Weight * topic.Probabilities[i];
                    }
                }
            }
            for (var id = 0; id < probabilities.Length; id++)
            {
                if (probabilities[id] > 0)
                {
                    _heapIds[_heapCount] = id;
                    _heapProbabilities[_heapCount++] = probabilities[id];
                }
            }

            _weight = 0;
            _backgroundCursor = _vocabularySize;
        }

        for (var i = (_heapCount / 2) - 1; i >= 0; i--)
        {
            SiftDown(i);
        }

        var top = _heapCount > 0 ? _heapProbabilities[0] : 0f;
        MaxProbability = Math.Max(top, BackgroundNext(out _));
    }

    /// <summary>Scales the model's terms by 1 − λ and adds λ · p_cache to the sparse terms.</summary>
    private void ApplyTopic(TopicBias topic, SparseVector sparse)
    {
        var keep = 1 - topic.Weight;
        _weight *= keep;
        sparse.Scale(keep);
        var ids = topic.Ids;
        var probabilities = topic.Probabilities;
        for (var i = 0; i < ids.Length; i++)
        {
            if (ids[i] < _vocabularySize)
            {
                sparse.Add(ids[i], topic.Weight * probabilities[i]);
            }
        }
    }

    /// <summary>The next most likely token (ties by lower id); false when the vocabulary is exhausted.</summary>
    public bool TryNext(out int id, out float probability)
    {
        var backgroundProbability = BackgroundNext(out var backgroundId);
        if (_heapCount > 0 && (backgroundId < 0 || Before(_heapProbabilities[0], _heapIds[0], backgroundProbability, backgroundId)))
        {
            id = _heapIds[0];
            probability = _heapProbabilities[0];
            _heapCount--;
            if (_heapCount > 0)
            {
                _heapIds[0] = _heapIds[_heapCount];
                _heapProbabilities[0] = _heapProbabilities[_heapCount];
                SiftDown(0);
            }

            return true;
        }

        if (backgroundId >= 0)
        {
            id = backgroundId;
            probability = backgroundProbability;
            _backgroundCursor++;
            SkipTouchedBackground();
            return true;
        }

        id = -1;
        probability = 0;
        return false;
    }

    /// <summary>Probability of one token at this step.</summary>
    public float Probability(int id) =>
        _kneserNey is not null ? (_weight * _kneserNey.Background[id]) + _values[id] : _values[id];

    /// <summary>Writes the probability of every token at this step.</summary>
    public void WriteProbabilities(Span<float> destination)
    {
        if (_kneserNey is not null)
        {
            TensorPrimitives.MultiplyAdd(_kneserNey.Background, _weight, _values.AsSpan(0, _vocabularySize), destination);
        }
        else
        {
            _values.AsSpan(0, _vocabularySize).CopyTo(destination);
        }
    }

    /// <summary>
    /// Σ_w (p(w) / pmax)^inverseTemperature over the whole vocabulary: the normaliser of the tempered distribution,
    /// scaled so the most likely token counts 1 (no overflow or underflow at low temperatures).
    /// </summary>
    public double TemperedMass(double inverseTemperature)
    {
        double max = MaxProbability;
        if (inverseTemperature == 1)
        {
            return 1.0 / max;
        }

        double sum = 0;
        if (_kneserNey is null)
        {
            foreach (var p in _values.AsSpan(0, _vocabularySize))
            {
                sum += p > 0 ? Temper(p, max, inverseTemperature) : 0;
            }

            return sum;
        }

        var background = _kneserNey.Background;
        EnsureTemperedBackground(inverseTemperature);

        double touchedBackground = 0;
        foreach (var id in _sparse!.Touched)
        {
            sum += Temper(Probability(id), max, inverseTemperature);
            touchedBackground += Temper(background[id], _maxBackground, inverseTemperature);
        }

        // Tokens outside the sparse set have p = weight · bg, so their tempered mass is a scaled background sum.
        var scale = Temper(_weight * _maxBackground, max, inverseTemperature);
        return sum + (scale * Math.Max(0, _temperedBackground - touchedBackground));
    }

    /// <summary>
    /// Selects the top-p nucleus of the tempered distribution without ordering it: probability buckets an eighth of
    /// an octave wide are summed from the top until they hold <paramref name="topP"/> of the mass, and every token in
    /// those buckets survives (so the nucleus may exceed top-p by part of one bucket). Call before <see cref="TryNext"/>.
    /// </summary>
    /// <returns>Number of survivors written to the spans, in a deterministic order.</returns>
    public int SelectNucleus(double topP, double inverseTemperature, Span<int> ids, Span<float> probabilities, Span<float> tempered, out double mass)
    {
        double max = MaxProbability;
        var target = topP * TemperedMass(inverseTemperature);
        var top = Bucket(MaxProbability);
        Array.Clear(_bucketMass, 0, top + 1);
        Array.Clear(_bucketTouchedBackground, 0, top + 1);
        for (var i = 0; i < _heapCount; i++)
        {
            var p = _heapProbabilities[i];
            _bucketMass[Bucket(p)] += Temper(p, max, inverseTemperature);
        }

        var useBackground = _kneserNey is not null && _weight > 0;
        ReadOnlySpan<float> sorted = default;
        ReadOnlySpan<double> prefix = default;
        double scale = 0;
        if (useBackground)
        {
            var background = _kneserNey!.Background;
            foreach (var id in _sparse!.Touched)
            {
                var p = _weight * background[id];
                _bucketTouchedBackground[Bucket(p)] += Temper(p, max, inverseTemperature);
            }

            sorted = _kneserNey.SortedBackground;
            if (inverseTemperature == 1)
            {
                prefix = _kneserNey.SortedBackgroundPrefix;
                scale = _weight / max;
            }
            else
            {
                EnsureTemperedBackground(inverseTemperature);
                prefix = _temperedPrefix;
                scale = Temper(_weight * _maxBackground, max, inverseTemperature);
            }
        }

        var cut = 0;
        var backgroundEnd = 0;
        double cumulative = 0;
        for (var b = top; b >= 0; b--)
        {
            cumulative += _bucketMass[b];
            if (useBackground)
            {
                var end = CountAtLeast(sorted, BucketLow(b) / _weight);
                cumulative += (scale * (prefix[end] - prefix[backgroundEnd])) - _bucketTouchedBackground[b];
                backgroundEnd = end;
            }

            if (cumulative >= target)
            {
                cut = b;
                break;
            }
        }

        var count = 0;
        mass = 0;
        for (var i = 0; i < _heapCount; i++)
        {
            var p = _heapProbabilities[i];
            if (Bucket(p) >= cut)
            {
                ids[count] = _heapIds[i];
                probabilities[count] = p;
                var q = Temper(p, max, inverseTemperature);
                tempered[count++] = (float)q;
                mass += q;
            }
        }

        if (useBackground)
        {
            var order = _kneserNey!.BackgroundOrder;
            for (var i = 0; i < backgroundEnd; i++)
            {
                var id = order[i];
                if (_values[id] != 0f)
                {
                    continue; // touched: already counted with its sparse terms
                }

                var p = _weight * sorted[i];
                ids[count] = id;
                probabilities[count] = p;
                var q = Temper(p, max, inverseTemperature);
                tempered[count++] = (float)q;
                mass += q;
            }
        }

        return count;
    }

    /// <summary>Draws a token from the untempered distribution with uniform <paramref name="u"/> in [0, 1).</summary>
    public int Draw(double u)
    {
        if (_kneserNey is null)
        {
            double total = 0;
            foreach (var p in _values.AsSpan(0, _vocabularySize))
            {
                total += p;
            }

            return Scan(_values.AsSpan(0, _vocabularySize), u * total);
        }

        // A mixture: the sparse terms first (in their deterministic collection order), then the scaled background
        // by binary search over its running sums. O(sparse + log V) instead of a pass over the vocabulary.
        double sparseMass = 0;
        foreach (var id in _sparse!.Touched)
        {
            sparseMass += _values[id];
        }

        var target = u * (sparseMass + _weight);
        if (target < sparseMass)
        {
            double running = 0;
            foreach (var id in _sparse.Touched)
            {
                running += _values[id];
                if (running > target)
                {
                    return id;
                }
            }

            return _sparse.Touched[^1];
        }

        var cumulative = _kneserNey.BackgroundCumulative;
        var index = cumulative.BinarySearch((target - sparseMass) / _weight);
        index = index < 0 ? ~index : index + 1;
        return Math.Min(index, _vocabularySize - 1);
    }

    public static double Temper(double p, double max, double inverseTemperature) =>
        inverseTemperature == 1 ? p / max : Math.Exp(inverseTemperature * Math.Log(p / max));

    /// <summary>Index of the first entry whose running sum exceeds <paramref name="target"/>.</summary>
    public static int Scan(ReadOnlySpan<float> weights, double target)
    {
        double running = 0;
        var last = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            if (weights[i] <= 0)
            {
                continue;
            }

            last = i;
            running += weights[i];
            if (running > target)
            {
                return i;
            }
        }

        return last;
    }

    public void Dispose()
    {
        ArrayPool<float>.Shared.Return(_values);
        ArrayPool<int>.Shared.Return(_touched);
        ArrayPool<int>.Shared.Return(_heapIds);
        ArrayPool<float>.Shared.Return(_heapProbabilities);
        if (_temperedPrefix is not null)
        {
            ArrayPool<double>.Shared.Return(_temperedPrefix);
        }
    }

    private static int Bucket(float p) => BitConverter.SingleToInt32Bits(p) >> BucketShift;

    private static float BucketLow(int bucket) => BitConverter.Int32BitsToSingle(bucket << BucketShift);

    /// <summary>How many leading entries of a descending array are at least <paramref name="threshold"/>.</summary>
    private static int CountAtLeast(ReadOnlySpan<float> descending, float threshold)
    {
        int low = 0, high = descending.Length;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (descending[mid] >= threshold)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    /// <summary>Σ (bg / bgmax)^(1/T) in total and as prefix sums in background order; depends on T only, so once per generation.</summary>
    private void EnsureTemperedBackground(double inverseTemperature)
    {
        if (_temperedInverse == inverseTemperature)
        {
            return;
        }

        _temperedInverse = inverseTemperature;
        var sorted = _kneserNey!.SortedBackground;
        _temperedPrefix ??= ArrayPool<double>.Shared.Rent(sorted.Length + 1);
        _temperedPrefix[0] = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            _temperedPrefix[i + 1] = _temperedPrefix[i] + Temper(sorted[i], _maxBackground, inverseTemperature);
        }

        _temperedBackground = _temperedPrefix[sorted.Length];
    }

    private static bool Before(float p, int id, float otherP, int otherId) => p > otherP || (p == otherP && id < otherId);

    private float BackgroundNext(out int id)
    {
        if (_backgroundCursor >= _vocabularySize)
        {
            id = -1;
            return 0;
        }

        id = _kneserNey!.BackgroundOrder[_backgroundCursor];
        return _weight * _kneserNey.Background[id];
    }

    private void SkipTouchedBackground()
    {
        if (_kneserNey is null)
        {
            return;
        }

        var order = _kneserNey.BackgroundOrder;
        while (_backgroundCursor < _vocabularySize && _values[order[_backgroundCursor]] != 0f)
        {
            _backgroundCursor++;
        }
    }

    private void SiftDown(int index)
    {
        var ids = _heapIds;
        var probabilities = _heapProbabilities;
        var id = ids[index];
        var p = probabilities[index];
        while (true)
        {
            var child = (2 * index) + 1;
            if (child >= _heapCount)
            {
                break;
            }

            if (child + 1 < _heapCount && Before(probabilities[child + 1], ids[child + 1], probabilities[child], ids[child]))
            {
                child++;
            }

            if (!Before(probabilities[child], ids[child], p, id))
            {
                break;
            }

            ids[index] = ids[child];
            probabilities[index] = probabilities[child];
            index = child;
        }

        ids[index] = id;
        probabilities[index] = p;
    }
}
