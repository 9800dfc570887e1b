namespace DistillGuard.LanguageModels.Topics;

/// <summary>
/// A prompt's topic as a sampler bias: a cache distribution over the words of passages on that topic, mixed into the
/// model's next-token distribution at every step (see <see cref="TopicIndex.BiasFor"/>).
/// </summary>
/// <remarks>Immutable; one per request, shared by its choices.</remarks>
public sealed class TopicBias
{
    internal TopicBias(int[] ids, float[] probabilities, float weight, IReadOnlyList<string> terms, int passages)
    {
        Ids = ids;
        Probabilities = probabilities;
        Weight = weight;
        Terms = terms;
        Passages = passages;
    }

    /// <summary>Token ids of the cache, ascending.</summary>
    internal int[] Ids { get; }

    /// <summary>Per token in <see cref="Ids"/>, its cache probability (they sum to 1).</summary>
    internal float[] Probabilities { get; }

    /// <summary>Weight λ of the cache: p = (1 − λ) · p_model + λ · p_cache.</summary>
    public float Weight { get; }

    /// <summary>The prompt's content words (base forms) the topic was built from.</summary>
    public IReadOnlyList<string> Terms { get; }

    /// <summary>How many corpus passages the cache was counted from.</summary>
    public int Passages { get; }

    /// <summary>How many tokens the cache holds.</summary>
    public int Count => Ids.Length;

    /// <summary>The cache probability of token <paramref name="id"/> (0 when it is not in the cache).</summary>
    public float CacheProbability(int id)
    {
        var at = Array.BinarySearch(Ids, id);
        return at < 0 ? 0f : Probabilities[at];
    }
}
