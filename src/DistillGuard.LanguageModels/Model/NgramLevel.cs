namespace DistillGuard.LanguageModels.Model;

/// <summary>The n-grams of one order, stored as a sorted trie level (children of a context are a contiguous range).</summary>
internal sealed class NgramLevel
{
    public NgramLevel(ushort[]? words, float[] probabilities, float[]? backoffs, int[]? childStarts)
    {
        Words = words;
        Probabilities = probabilities;
        Backoffs = backoffs;
        ChildStarts = childStarts;
    }

    /// <summary>Last token of each n-gram; null for unigrams, which are indexed by token id directly.</summary>
    public ushort[]? Words { get; }

    /// <summary>
    /// For order 1 the full interpolated unigram probability; for higher orders the discounted term
    /// <c>(a(hw) - D) / a(h)</c> of interpolated Kneser–Ney.
    /// </summary>
    public float[] Probabilities { get; }

    /// <summary>Interpolation weight γ(h) of this n-gram used as a context; null for the highest order.</summary>
    public float[]? Backoffs { get; }

    /// <summary>Start of each entry's children in the next level (length Count + 1); null for the highest order.</summary>
    public int[]? ChildStarts { get; }

    public int Count => Probabilities.Length;
}
