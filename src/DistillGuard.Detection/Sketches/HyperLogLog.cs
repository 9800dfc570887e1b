using System.Numerics;

namespace DistillGuard.Detection.Sketches;

/// <summary>A HyperLogLog distinct counter over 64-bit hashes with one byte per register.</summary>
/// <remarks>
/// Standard error ≈ 1.04/√m (Flajolet et al. 2007); m = 256 gives ≈ 6.5 % in 256 bytes, enough to tell 20 distinct
/// templates from 2,000. Small cardinalities use linear counting, as in the paper. Not thread-safe.
/// </remarks>
public sealed class HyperLogLog
{
    private readonly byte[] _registers;
    private readonly int _bits;

    /// <summary>Creates a counter with 2^<paramref name="bits"/> registers (4–16).</summary>
    public HyperLogLog(int bits = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bits, 4);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bits, 16);
        _bits = bits;
        _registers = new byte[1 << bits];
    }

    /// <summary>Number of registers.</summary>
    public int Registers => _registers.Length;

    /// <summary>Bytes of state.</summary>
    public int SizeBytes => _registers.Length;

    /// <summary>Adds an already-hashed item.</summary>
    public void Add(ulong hash)
    {
        hash = HashMix.Mix(hash);
        var index = (int)(hash >> (64 - _bits));
        var rest = (hash << _bits) | (1UL << (_bits - 1));
        var rank = (byte)(BitOperations.LeadingZeroCount(rest) + 1);
        if (rank > _registers[index])
        {
            _registers[index] = rank;
        }
    }

    /// <summary>Estimated number of distinct hashes added.</summary>
    public double Estimate()
    {
        var m = (double)_registers.Length;
        var sum = 0.0;
        var zeros = 0;
        foreach (var r in _registers)
        {
            sum += Math.ScaleB(1.0, -r);
            if (r == 0)
            {
                zeros++;
            }
        }

        var alpha = _registers.Length switch
        {
            16 => 0.673,
            32 => 0.697,
            64 => 0.709,
            _ => 0.7213 / (1 + (1.079 / m)),
        };
        var raw = alpha * m * m / sum;
        if (raw <= 2.5 * m && zeros > 0)
        {
            return m * Math.Log(m / zeros);
        }

        return raw;
    }

    /// <summary>Adds every item of <paramref name="other"/> (register-wise max); both must have the same size.</summary>
    public void UnionWith(HyperLogLog other)
    {
        if (other._registers.Length != _registers.Length)
        {
            throw new ArgumentException("Register counts differ.", nameof(other));
        }

        for (var i = 0; i < _registers.Length; i++)
        {
            _registers[i] = Math.Max(_registers[i], other._registers[i]);
        }
    }

    /// <summary>Estimated distinct count of the union with <paramref name="other"/>, without changing either.</summary>
    public double EstimateUnion(HyperLogLog other)
    {
        var merged = new HyperLogLog(_bits);
        merged.UnionWith(this);
        merged.UnionWith(other);
        return merged.Estimate();
    }

    /// <summary>Forgets everything.</summary>
    public void Clear() => Array.Clear(_registers);
}
