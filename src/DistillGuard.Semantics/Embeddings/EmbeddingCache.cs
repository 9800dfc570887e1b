using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace DistillGuard.Semantics.Embeddings;

/// <summary>Embeddings by a hash of the text, so that a template sent a thousand times costs one embedding.</summary>
/// <remarks>
/// Bounded: when it holds <see cref="Capacity"/> entries it starts again empty, a clock-free policy whose worst case is
/// one re-embedding per entry per fill; at 384 floats an entry, the default 4,096 entries are 6 MB. Thread-safe.
/// </remarks>
public sealed class EmbeddingCache(ISentenceEmbedder embedder, int capacity = 4096)
{
    private readonly ConcurrentDictionary<ulong, float[]> _entries = new();
    private long _hits;
    private long _misses;

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public ISentenceEmbedder Embedder { get; } = embedder ?? throw new ArgumentNullException(nameof(embedder));

    /// <summary>Texts answered from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Texts the model embedded.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>The hash texts are cached by.</summary>
    public static ulong Hash(string text) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(text.AsSpan()), 0x5E3A);

    /// <summary>The embeddings of <paramref name="texts"/> (shared arrays: do not modify), embedding the missing ones in one batch.</summary>
    public float[][] Get(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var results = new float[texts.Count][];
        var missing = new List<int>();
        for (var i = 0; i < texts.Count; i++)
        {
            if (_entries.TryGetValue(Hash(texts[i]), out var cached))
            {
                results[i] = cached;
                Interlocked.Increment(ref _hits);
            }
            else
            {
                missing.Add(i);
            }
        }

        if (missing.Count == 0)
        {
            return results;
        }

        var batch = missing.Select(i => texts[i]).ToArray();
        var vectors = batch.Select(_ => new float[Embedder.Dimensions]).ToArray();
        Embedder.Embed(batch, vectors);
        if (_entries.Count + vectors.Length > Capacity)
        {
            _entries.Clear();
        }

        for (var j = 0; j < missing.Count; j++)
        {
            results[missing[j]] = vectors[j];
            _entries[Hash(batch[j])] = vectors[j];
        }

        Interlocked.Add(ref _misses, missing.Count);
        return results;
    }
}
