using System.Numerics.Tensors;

namespace DistillGuard.LanguageModels.Model;

/// <summary>An interpolated modified Kneser–Ney n-gram model over GPT-2 token ids (teacher or distilled student).</summary>
/// <remarks>Immutable; safe to share between threads. Load with <see cref="ModelFile.Load"/> or train with <see cref="KneserNeyTrainer"/>.</remarks>
public sealed class KneserNeyModel : ILanguageModel, ITokenLogProbability
{
    private readonly NgramLevel[] _levels;
    private readonly int[] _backgroundOrder;
    private readonly double[] _backgroundCumulative;
    private readonly float[] _sortedBackground;
    private readonly double[] _sortedBackgroundPrefix;

    internal KneserNeyModel(string id, int vocabularySize, int boundaryToken, NgramLevel[] levels, float[][] discounts)
    {
        Id = id;
        VocabularySize = vocabularySize;
        BoundaryToken = boundaryToken;
        _levels = levels;
        Discounts = discounts;
        if (levels[0].Probabilities.Length != vocabularySize)
        {
            throw new ArgumentException("The unigram level must cover the whole vocabulary.", nameof(levels));
        }

        var floor = TensorPrimitives.Min(levels[0].Probabilities);
        var seen = 0;
        foreach (var p in levels[0].Probabilities)
        {
            seen += p > floor ? 1 : 0;
        }

        _backgroundCumulative = new double[vocabularySize];
        double running = 0;
        for (var i = 0; i < vocabularySize; i++)
        {
            running += levels[0].Probabilities[i];
            _backgroundCumulative[i] = running;
        }

        NgramCounts = [seen, .. levels.Skip(1).Select(l => l.Count)];

        // Tokens outside every sparse continuation set keep the unigram's order, so ranking them once here lets the
        // sampler walk candidates in probability order without sorting the vocabulary per token.
        _backgroundOrder = new int[vocabularySize];
        for (var i = 0; i < vocabularySize; i++)
        {
            _backgroundOrder[i] = i;
        }

        var keys = new float[vocabularySize];
        for (var i = 0; i < vocabularySize; i++)
        {
            keys[i] = -levels[0].Probabilities[i];
        }

        Array.Sort(keys, _backgroundOrder); // unstable for ties, so fix ties by id below
        for (var start = 0; start < vocabularySize;)
        {
            var end = start + 1;
            while (end < vocabularySize && keys[end] == keys[start])
            {
                end++;
            }

            if (end - start > 1)
            {
                Array.Sort(_backgroundOrder, start, end - start);
            }

            start = end;
        }

        _sortedBackground = new float[vocabularySize];
        _sortedBackgroundPrefix = new double[vocabularySize + 1];
        for (var i = 0; i < vocabularySize; i++)
        {
            _sortedBackground[i] = levels[0].Probabilities[_backgroundOrder[i]];
            _sortedBackgroundPrefix[i + 1] = _sortedBackgroundPrefix[i] + _sortedBackground[i];
        }
    }

    /// <inheritdoc />
    public string Id { get; }

    /// <inheritdoc />
    public int VocabularySize { get; }

    /// <inheritdoc />
    public int Order => _levels.Length;

    /// <summary>The token that starts and ends every training sequence (<c>&lt;|endoftext|&gt;</c> for GPT-2).</summary>
    public int BoundaryToken { get; }

    /// <summary>Number of stored n-grams of each order (index 0 = unigrams seen in training).</summary>
    public IReadOnlyList<int> NgramCounts { get; }

    /// <summary>The modified Kneser–Ney discounts D1, D2, D3+ used for each order (index 0 = unigrams).</summary>
    public IReadOnlyList<float[]> Discounts { get; }

    internal NgramLevel[] Levels => _levels;

    /// <summary>The unigram distribution every context backs off to.</summary>
    internal ReadOnlySpan<float> Background => _levels[0].Probabilities;

    /// <summary>Token ids by descending <see cref="Background"/> probability, ties by id.</summary>
    internal ReadOnlySpan<int> BackgroundOrder => _backgroundOrder;

    /// <summary>Running sums of <see cref="Background"/> by token id, for drawing from it by binary search.</summary>
    internal ReadOnlySpan<double> BackgroundCumulative => _backgroundCumulative;

    /// <summary><see cref="Background"/> in <see cref="BackgroundOrder"/> (descending).</summary>
    internal ReadOnlySpan<float> SortedBackground => _sortedBackground;

    /// <summary>Prefix sums of <see cref="SortedBackground"/> (length V + 1).</summary>
    internal ReadOnlySpan<double> SortedBackgroundPrefix => _sortedBackgroundPrefix;

    /// <inheritdoc />
    public void GetLogProbabilities(ReadOnlySpan<int> context, Span<float> logProbabilities)
    {
        if (logProbabilities.Length != VocabularySize)
        {
            throw new ArgumentException($"Expected a span of {VocabularySize} entries.", nameof(logProbabilities));
        }

        logProbabilities.Clear();
        var weight = 1f;
        var maxContext = Math.Min(Order - 1, context.Length);
        for (var length = maxContext; length >= 1; length--)
        {
            if (!TryGetChildren(context[^length..], out var words, out var probabilities, out var backoff))
            {
                continue;
            }

            for (var i = 0; i < words.Length; i++)
            {
                logProbabilities[words[i]] += weight * probabilities[i];
            }

            weight *= backoff;
        }

        TensorPrimitives.MultiplyAdd(Background, weight, logProbabilities, logProbabilities);
        TensorPrimitives.Log(logProbabilities, logProbabilities);
    }

    /// <summary>Natural-log probability of one token after <paramref name="context"/>, without scoring the whole vocabulary.</summary>
    public double GetLogProbability(ReadOnlySpan<int> context, int token)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)token, (uint)VocabularySize, nameof(token));
        double weight = 1;
        double sum = 0;
        var maxContext = Math.Min(Order - 1, context.Length);
        for (var length = maxContext; length >= 1; length--)
        {
            if (!TryGetChildren(context[^length..], out var words, out var probabilities, out var backoff))
            {
                continue;
            }

            var index = words.BinarySearch((ushort)token);
            if (index >= 0)
            {
                sum += weight * probabilities[index];
            }

            weight *= backoff;
        }

        return Math.Log(sum + (weight * Background[token]));
    }

    /// <summary>
    /// Adds the sparse higher-order terms of p(w | context) to <paramref name="sparse"/> and returns the weight of the
    /// unigram background, so that p(w) = weight · Background[w] + sparse[w].
    /// </summary>
    internal float CollectSparse(ReadOnlySpan<int> context, SparseVector sparse)
    {
        var weight = 1f;
        var maxContext = Math.Min(Order - 1, context.Length);
        for (var length = maxContext; length >= 1; length--)
        {
            if (!TryGetChildren(context[^length..], out var words, out var probabilities, out var backoff))
            {
                continue;
            }

            for (var i = 0; i < words.Length; i++)
            {
                sparse.Add(words[i], weight * probabilities[i]);
            }

            weight *= backoff;
        }

        return weight;
    }

    /// <summary>Finds the continuations of a context (its children in the next trie level) and its backoff weight.</summary>
    private bool TryGetChildren(ReadOnlySpan<int> context, out ReadOnlySpan<ushort> words, out ReadOnlySpan<float> probabilities, out float backoff)
    {
        words = default;
        probabilities = default;
        backoff = 1f;
        var node = context[0];
        if ((uint)node >= (uint)VocabularySize)
        {
            return false;
        }

        for (var depth = 1; depth < context.Length; depth++)
        {
            var parent = _levels[depth - 1];
            var children = _levels[depth];
            var start = parent.ChildStarts![node];
            var end = parent.ChildStarts[node + 1];
            var token = context[depth];
            if ((uint)token > ushort.MaxValue)
            {
                return false;
            }

            var found = children.Words.AsSpan(start, end - start).BinarySearch((ushort)token);
            if (found < 0)
            {
                return false;
            }

            node = start + found;
        }

        var level = _levels[context.Length - 1];
        var next = _levels[context.Length];
        var first = level.ChildStarts![node];
        var last = level.ChildStarts[node + 1];
        if (first == last)
        {
            return false;
        }

        words = next.Words.AsSpan(first, last - first);
        probabilities = next.Probabilities.AsSpan(first, last - first);
        backoff = level.Backoffs![node];
        return true;
    }
}
