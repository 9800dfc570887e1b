using System.Runtime.InteropServices;

namespace DistillGuard.LanguageModels.Model;

/// <summary>Trains interpolated modified Kneser–Ney models (Chen &amp; Goodman 1998) from token sequences.</summary>
public static class KneserNeyTrainer
{
    /// <summary>Highest supported order: n-grams are packed 16 bits per token into one 64-bit key.</summary>
    public const int MaxOrder = 4;

    /// <summary>Trains a model of the given order; every sequence is wrapped in the boundary token at both ends.</summary>
    /// <remarks>Order 1 gives an absolute-discounted maximum-likelihood unigram model (the usual perplexity baseline).</remarks>
    public static KneserNeyModel Train(IEnumerable<int[]> sequences, int order, KneserNeyOptions? options = null)
    {
        options ??= new KneserNeyOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(order, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(order, MaxOrder);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.VocabularySize, 1 << 16);
        if (options.Discounts is { Length: not 3 })
        {
            throw new ArgumentException("Discounts are D1, D2 and D3+.", nameof(options));
        }

        var raw = CollectNgrams(sequences, order, options);

        // Adjusted counts per order: raw counts at the highest order and for n-grams that start at a sequence start;
        // otherwise the number of distinct left extensions (the Kneser–Ney continuation count).
        var keys = new ulong[order + 1][];
        var counts = new int[order + 1][];
        (keys[order], counts[order]) = CountRuns(raw[order]);
        for (var k = order - 1; k >= 1; k--)
        {
            var upper = keys[k + 1];
            var mask = k == 4 ? ulong.MaxValue : (1UL << (16 * k)) - 1;
            var merged = new ulong[upper.Length + raw[k].Count];
            for (var i = 0; i < upper.Length; i++)
            {
                merged[i] = upper[i] & mask;
            }

            CollectionsMarshal.AsSpan(raw[k]).CopyTo(merged.AsSpan(upper.Length));
            (keys[k], counts[k]) = CountRuns(merged);
        }

        var discounts = new float[order][];
        for (var k = 1; k <= order; k++)
        {
            discounts[k - 1] = options.Discounts ?? EstimateDiscounts(counts[k]);
        }

        var levels = BuildLevels(keys, counts, discounts, order, options.VocabularySize);
        return new KneserNeyModel(options.Id, options.VocabularySize, options.BoundaryToken, levels, discounts);
    }

    private static List<ulong>[] CollectNgrams(IEnumerable<int[]> sequences, int order, KneserNeyOptions options)
    {
        var raw = new List<ulong>[order + 1];
        for (var k = 0; k <= order; k++)
        {
            raw[k] = [];
        }

        var boundary = (ulong)options.BoundaryToken;
        var topMask = order == 4 ? ulong.MaxValue : (1UL << (16 * order)) - 1;
        foreach (var sequence in sequences)
        {
            var rolling = boundary;
            for (var i = 1; i <= sequence.Length + 1; i++)
            {
                var token = i <= sequence.Length ? sequence[i - 1] : options.BoundaryToken;
                if ((uint)token >= (uint)options.VocabularySize)
                {
                    throw new ArgumentException($"Token id {token} is outside the vocabulary of {options.VocabularySize}.", nameof(sequences));
                }

                rolling = (rolling << 16) | (uint)token;
                if (i >= order - 1)
                {
                    raw[order].Add(rolling & topMask);
                }
                else
                {
                    // Positions 0..i hold the whole prefix including the start boundary: an (i+1)-gram.
                    raw[i + 1].Add(rolling);
                }
            }
        }

        return raw;
    }

    private static (ulong[] Keys, int[] Counts) CountRuns(List<ulong> values) => CountRuns(CollectionsMarshal.AsSpan(values).ToArray());

    private static (ulong[] Keys, int[] Counts) CountRuns(ulong[] values)
    {
        Array.Sort(values);
        var keys = new List<ulong>();
        var counts = new List<int>();
        for (var i = 0; i < values.Length;)
        {
            var j = i + 1;
            while (j < values.Length && values[j] == values[i])
            {
                j++;
            }

            keys.Add(values[i]);
            counts.Add(j - i);
            i = j;
        }

        return ([.. keys], [.. counts]);
    }

    /// <summary>D1, D2, D3+ from the count-of-counts n1..n4 (Chen &amp; Goodman 1998, eq. 26).</summary>
    private static float[] EstimateDiscounts(int[] counts)
    {
        Span<double> n = stackalloc double[5];
        foreach (var c in counts)
        {
            if (c <= 4)
            {
                n[c]++;
            }
        }

        if (n[1] == 0 || n[2] == 0 || n[3] == 0 || n[4] == 0)
        {
            // Too little data for the estimate (tiny test corpora); these are typical values of the estimate on text.
            return [0.5f, 1.0f, 1.5f];
        }

        var y = n[1] / (n[1] + 2 * n[2]);
        var d1 = 1 - (2 * y * n[2] / n[1]);
        var d2 = 2 - (3 * y * n[3] / n[2]);
        var d3 = 3 - (4 * y * n[4] / n[3]);
        return [(float)Math.Clamp(d1, 0.05, 0.95), (float)Math.Clamp(d2, 0.05, 1.95), (float)Math.Clamp(d3, 0.05, 2.95)];
    }

    private static float Discount(float[] d, int count) => count switch { 1 => d[0], 2 => d[1], _ => d[2] };

    private static NgramLevel[] BuildLevels(ulong[][] keys, int[][] counts, float[][] discounts, int order, int vocabularySize)
    {
        // Parent index of every n-gram (order >= 2) in the level below; both levels are sorted, so one merge walk.
        var parents = new int[order + 1][];
        var childCounts = new int[order + 1][];
        childCounts[1] = new int[vocabularySize];
        for (var k = 2; k <= order; k++)
        {
            var below = keys[k - 1];
            var parent = new int[keys[k].Length];
            if (k > 2)
            {
                childCounts[k - 1] = new int[below.Length];
            }

            var cursor = 0;
            for (var i = 0; i < keys[k].Length; i++)
            {
                var prefix = keys[k][i] >> 16;
                if (k == 2)
                {
                    parent[i] = (int)prefix;
                }
                else
                {
                    while (cursor < below.Length && below[cursor] < prefix)
                    {
                        cursor++;
                    }

                    // Every prefix of a stored n-gram is stored one order below (see CollectNgrams).
                    if (cursor >= below.Length || below[cursor] != prefix)
                    {
                        throw new InvalidOperationException($"The {k - 1}-gram prefix of a {k}-gram is missing.");
                    }

                    parent[i] = cursor;
                }

                childCounts[k - 1][parent[i]]++;
            }

            parents[k] = parent;
        }

        var levels = new NgramLevel[order];
        levels[0] = BuildUnigrams(keys[1], counts[1], discounts[0], vocabularySize, order > 1 ? childCounts[1] : null, order > 1 ? parents[2] : null, order > 1 ? counts[2] : null, order > 1 ? discounts[1] : null);
        for (var k = 2; k <= order; k++)
        {
            var n = keys[k].Length;
            var words = new ushort[n];
            var probabilities = new float[n];
            for (var i = 0; i < n; i++)
            {
                words[i] = (ushort)(keys[k][i] & 0xFFFF);
            }

            float[]? backoffs = null;
            int[]? childStarts = null;
            if (k < order)
            {
                (backoffs, childStarts) = ContextWeights(childCounts[k], parents[k + 1], counts[k + 1], discounts[k]);
            }

            levels[k - 1] = new NgramLevel(words, probabilities, backoffs, childStarts);
        }

        // Discounted terms: (a(hw) - D(a)) / a(h·), where a(h·) sums the adjusted counts of h's children.
        for (var k = 2; k <= order; k++)
        {
            var parent = parents[k];
            var count = counts[k];
            var totals = new double[k == 2 ? vocabularySize : keys[k - 1].Length];
            for (var i = 0; i < parent.Length; i++)
            {
                if (parent[i] >= 0)
                {
                    totals[parent[i]] += count[i];
                }
            }

            var probabilities = levels[k - 1].Probabilities;
            for (var i = 0; i < parent.Length; i++)
            {
                probabilities[i] = parent[i] < 0 ? 0f : (float)((count[i] - Discount(discounts[k - 1], count[i])) / totals[parent[i]]);
            }
        }

        return levels;
    }

    private static NgramLevel BuildUnigrams(ulong[] keys, int[] counts, float[] discount, int vocabularySize, int[]? childCounts, int[]? childParents, int[]? childAdjusted, float[]? childDiscount)
    {
        double total = 0;
        Span<double> countOfCounts = stackalloc double[4];
        for (var i = 0; i < keys.Length; i++)
        {
            total += counts[i];
            countOfCounts[Math.Min(counts[i], 3)]++;
        }

        var gamma = total == 0 ? 1.0 : ((discount[0] * countOfCounts[1]) + (discount[1] * countOfCounts[2]) + (discount[2] * countOfCounts[3])) / total;
        var uniform = gamma / vocabularySize;
        var probabilities = new float[vocabularySize];
        for (var w = 0; w < vocabularySize; w++)
        {
            probabilities[w] = (float)uniform;
        }

        for (var i = 0; i < keys.Length; i++)
        {
            probabilities[(int)keys[i]] = (float)(((counts[i] - Discount(discount, counts[i])) / total) + uniform);
        }

        if (childCounts is null)
        {
            return new NgramLevel(null, probabilities, null, null);
        }

        var (backoffs, childStarts) = ContextWeights(childCounts, childParents!, childAdjusted!, childDiscount!);
        return new NgramLevel(null, probabilities, backoffs, childStarts);
    }

    /// <summary>γ(h) = (D1·N1(h·) + D2·N2(h·) + D3+·N3+(h·)) / a(h·) and the child ranges of every context.</summary>
    private static (float[] Backoffs, int[] ChildStarts) ContextWeights(int[] childCounts, int[] childParents, int[] childAdjusted, float[] childDiscount)
    {
        var n = childCounts.Length;
        var childStarts = new int[n + 1];
        for (var i = 0; i < n; i++)
        {
            childStarts[i + 1] = childStarts[i] + childCounts[i];
        }

        var totals = new double[n];
        var discounted = new double[n];
        for (var i = 0; i < childParents.Length; i++)
        {
            var p = childParents[i];
            if (p >= 0)
            {
                totals[p] += childAdjusted[i];
                discounted[p] += Discount(childDiscount, childAdjusted[i]);
            }
        }

        var backoffs = new float[n];
        for (var i = 0; i < n; i++)
        {
            backoffs[i] = totals[i] == 0 ? 1f : (float)(discounted[i] / totals[i]);
        }

        return (backoffs, childStarts);
    }
}
