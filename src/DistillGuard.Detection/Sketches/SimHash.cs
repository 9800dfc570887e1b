using System.Numerics;

namespace DistillGuard.Detection.Sketches;

/// <summary>Charikar's SimHash: a 64-bit fingerprint whose Hamming distance tracks the cosine distance of feature sets.</summary>
/// <remarks>Manku, Jain &amp; Das Sarma (WWW 2007) found near-duplicate web pages within 3 bits of 64.</remarks>
public ref struct SimHashBuilder
{
    private Span<int> _votes;

    /// <summary>Starts a fingerprint over a caller-provided buffer of 64 counters.</summary>
    public SimHashBuilder(Span<int> votes)
    {
        if (votes.Length != 64)
        {
            throw new ArgumentException("SimHash needs 64 counters.", nameof(votes));
        }

        votes.Clear();
        _votes = votes;
        Features = 0;
    }

    /// <summary>Number of features added.</summary>
    public int Features { get; private set; }

    /// <summary>Adds one hashed feature with weight 1.</summary>
    public void Add(ulong hash)
    {
        hash = HashMix.Mix(hash);
        for (var bit = 0; bit < 64; bit++)
        {
            _votes[bit] += (int)((hash >> bit) & 1) * 2 - 1;
        }

        Features++;
    }

    /// <summary>The fingerprint (0 when no feature was added).</summary>
    public readonly ulong ToHash()
    {
        var result = 0UL;
        for (var bit = 0; bit < 64; bit++)
        {
            if (_votes[bit] > 0)
            {
                result |= 1UL << bit;
            }
        }

        return result;
    }

    /// <summary>Number of differing bits between two fingerprints.</summary>
    public static int Distance(ulong a, ulong b) => BitOperations.PopCount(a ^ b);
}
