namespace DistillGuard.Watermarking.Schemes;

/// <summary>Which token-level watermark a response carries.</summary>
public enum WatermarkScheme
{
    /// <summary>Green list with a logit bias (Kirchenbauer et al., ICML 2023).</summary>
    GreenList,

    /// <summary>Distortion-free exponential-minimum (Gumbel-max) sampling (Aaronson 2022; Kuditipudi et al., TMLR 2024).</summary>
    Gumbel,
}

/// <summary>The parameters of a token-level watermark; generation and detection must use the same ones.</summary>
public sealed record WatermarkParameters
{
    /// <summary>The scheme.</summary>
    public WatermarkScheme Scheme { get; init; } = WatermarkScheme.GreenList;

    /// <summary>Green-list fraction γ; 0.25 is the Kirchenbauer et al. README baseline.</summary>
    public double Gamma { get; init; } = 0.25;

    /// <summary>Logit bias δ added to green candidates; 2.0 is the Kirchenbauer et al. README baseline.</summary>
    public double Delta { get; init; } = 2.0;

    /// <summary>Context width h: how many previous tokens seed the PRF.</summary>
    public int ContextWidth { get; init; } = 2;

    /// <summary>Number of account buckets M encoded as a cyclic shift of the green list (Three Bricks); 1 disables the payload.</summary>
    public int PayloadBuckets { get; init; } = 1;

    /// <summary>The defaults of the green-list scheme: γ 0.25, δ 2.0, h 2.</summary>
    public static WatermarkParameters GreenListDefaults { get; } = new();

    /// <summary>The defaults of the distortion-free scheme: h 4 (vLLM's and TensorRT-LLM's Gumbel context width).</summary>
    public static WatermarkParameters GumbelDefaults { get; } = new() { Scheme = WatermarkScheme.Gumbel, ContextWidth = 4 };

    /// <summary>Every problem with these parameters, as (property, reason).</summary>
    public IEnumerable<(string Property, string Reason)> Problems()
    {
        // The green test compares 32-bit values, so γ needs at least one value green and one red.
        if (!(Gamma >= 1.0 / 4294967296 && Gamma <= 1 - (1.0 / 4294967296)))
        {
            yield return (nameof(Gamma), "must be strictly between 0 and 1 (within 2^-32 of neither)");
        }

        if (!double.IsFinite(Delta) || Delta < 0 || Delta > 20)
        {
            yield return (nameof(Delta), "must be between 0 and 20");
        }

        if (ContextWidth is < 1 or > 7)
        {
            yield return (nameof(ContextWidth), "must be between 1 and 7");
        }

        if (PayloadBuckets is < 1 or > 4096)
        {
            yield return (nameof(PayloadBuckets), "must be between 1 and 4096");
        }
    }

    /// <summary>Throws when the parameters are unusable.</summary>
    public void Validate()
    {
        foreach (var (property, reason) in Problems())
        {
            throw new ArgumentException($"{property} {reason}.", property);
        }
    }

    /// <summary>The PRF tag byte of the scheme.</summary>
    internal byte Tag => Scheme == WatermarkScheme.GreenList ? (byte)'G' : (byte)'E';

    /// <summary>The green threshold: a <see cref="Keys.WatermarkKey.TokenBits(ulong, int)"/> value below it is green.</summary>
    internal uint GreenThreshold => Keys.WatermarkKey.GreenThreshold(Gamma);
}
