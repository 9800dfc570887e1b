using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Schemes;

/// <summary>The distortion-free exponential-minimum watermark as a sampler hook: picks argmax r^(1/p) among the survivors.</summary>
/// <remarks>
/// r is the keyed PRF value of (window, candidate) in (0, 1) and p the candidate's probability after temperature
/// and top-p; over random keys the choice is an exact sample from p (Aaronson 2022). The hook leaves only the
/// chosen logit finite, so the sampler's draw returns it. Greedy steps, short contexts and repeated windows sample
/// normally, which also keeps repeated prompts from always getting the same continuation.
/// </remarks>
public sealed class GumbelProcessor : ILogitsProcessor
{
    // Candidates per chunk: one stack buffer of float bounds (4 KB).
    private const int Chunk = 1_024;

    // The bound's lower estimate of log2(1 − r) is read from a float's bits: log2 f ≥ bits(f) / 2²³ − 127 for
    // f > 0 (the mantissa's chord under the concave log2). The float holds ⌊(2³² − 1 − u) / 2⌋ ≤ (1 − r)·2³¹, so
    // ln(1 − r) ≥ ln 2 · bits / 2²³ − 158 ln 2 up to the float's rounding (and for u ≥ 2³² − 2, where the float is 0,
    // by a wide margin). Bounds and thresholds are both kept less the constant 158 ln 2, which saves an add.
    private const float LnTwoPerBit = 0.6931471805599453f / (1 << 23);
    private const double BoundShift = 158 * 0.6931471805599453;

    private readonly WatermarkKey _key;
    private readonly int _width;

    /// <summary>Creates the processor for <paramref name="key"/>.</summary>
    public GumbelProcessor(WatermarkKey key, WatermarkParameters parameters)
    {
        parameters.Validate();
        if (parameters.Scheme != WatermarkScheme.Gumbel)
        {
            throw new ArgumentException("The parameters are not of the Gumbel scheme.", nameof(parameters));
        }

        _key = key;
        _width = parameters.ContextWidth;
    }

    /// <inheritdoc />
    public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits)
    {
        var previous = context.PreviousTokens;
        if (context.Greedy || candidateIds.Length < 2 || previous.Length < _width || ResponseWindows.IsRepeated(previous, context.GeneratedCount, _width))
        {
            return;
        }

        var best = Choose(_key.WindowSeed((byte)'E', previous[^_width..]), candidateIds, logits);
        if (best < 0)
        {
            return;
        }

        logits.Fill(float.NegativeInfinity);
        logits[best] = 0f;
    }

    /// <summary>The first index of the largest score logit − ln(−ln r), or −1 when no score exceeds −∞.</summary>
    /// <remarks>
    /// argmax r^(1/p) = argmin (−ln r) / p = argmax logit − ln(−ln r): the softmax's normaliser cancels. The two
    /// logarithms are taken only for candidates that could win. Since −ln r ≥ 1 − r, every score is at most the
    /// bound logit − ln(1 − r), and that bound is nearly tight where winners live (r near 1). One vectorised pass
    /// computes the PRF and a cheap upper estimate of the bound for all candidates (no logarithm: ln(1 − r) is
    /// bounded from below through a float's exponent bits); the exact score is then computed for the candidate with
    /// the largest bound, and for every other candidate whose bound reaches the best exact score less a safety
    /// margin, which for uniform r is a handful per step. The candidates need no order. Ties keep the lowest index,
    /// as a single pass with a strict comparison would.
    /// </remarks>
    internal static int Choose(ulong seed, ReadOnlySpan<int> candidateIds, ReadOnlySpan<float> logits)
    {
        Span<float> bounds = stackalloc float[Chunk];
        var best = -1;
        var bestScore = double.NegativeInfinity;
        for (var start = 0; start < candidateIds.Length; start += Chunk)
        {
            var count = Math.Min(Chunk, candidateIds.Length - start);
            var ids = candidateIds.Slice(start, count);
            var chunk = logits.Slice(start, count);
            var bound = bounds[..count];
            var max = Bounds(seed, ids, chunk, bound);
            if (max == float.NegativeInfinity || max < Threshold(bestScore))
            {
                // Every score here is −∞, NaN, or below the best so far.
                continue;
            }

            if (!float.IsFinite(max))
            {
                // A +∞ logit (or a NaN maximum): no bound to prune with, so every candidate is scored.
                for (var i = 0; i < count; i++)
                {
                    Consider(seed, ids[i], chunk[i], start + i, ref best, ref bestScore);
                }

                continue;
            }

            // The most promising candidate first, so the threshold is tight before the scan.
            var first = MemoryMarshal.Cast<float, int>(bound).IndexOf(BitConverter.SingleToInt32Bits(max));
            Consider(seed, ids[first], chunk[first], start + first, ref best, ref bestScore);
            Scan(seed, ids, chunk, bound, start, first, ref best, ref bestScore);
        }

        return best;
    }

    /// <summary>The exact score of a candidate with PRF value <paramref name="value"/>, computed as the straightforward loop would.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double Score(uint value, float logit) => logit - Math.Log(-Math.Log(WatermarkKey.ToUniform(value)));

    /// <summary>The candidate's bound less 158 ln 2, computed without a logarithm: at least its <see cref="Score"/> less 158 ln 2, up to float rounding.</summary>
    /// <remarks>The same operations as the vectorised pass in <see cref="Bounds"/>, one rounding each, so both give the same bits.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Bound(uint value, float logit)
    {
        var halfComplement = (int)((value >> 1) ^ 0x7FFF_FFFFU);
        return MathF.FusedMultiplyAdd(BitConverter.SingleToInt32Bits((float)halfComplement), -LnTwoPerBit, logit);
    }

    /// <summary>
    /// The smallest <see cref="Bound"/> a candidate needs to be scored: the best exact score, less 158 ln 2 and less a
    /// margin that covers the float arithmetic of the bound many times over.
    /// </summary>
    /// <remarks>
    /// The bound's rounding: the int-to-float conversions (≤ 6e-8 of ln(1 − r), ≤ 64 units of the bits: 5e-6) and the
    /// multiply-add (half a float ulp of |logit| + 110). A candidate near the threshold has |logit| within 110 of
    /// |best|, so (|best| + 256) · 2⁻¹⁶, 0.004 at a best score near 0, is at least 16 times that.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Threshold(double bestScore) => (float)(bestScore - BoundShift - ((Math.Abs(bestScore) + 256) * (1.0 / 65_536)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Consider(ulong seed, int id, float logit, int index, ref int best, ref double bestScore)
    {
        var score = Score(WatermarkKey.TokenBits(seed, id), logit);
        if (score > bestScore || (score == bestScore && index < best))
        {
            bestScore = score;
            best = index;
        }
    }

    /// <summary>Writes each candidate's bound (≥ its score, up to float rounding) and returns the largest, NaNs ignored.</summary>
    internal static float Bounds(ulong seed, ReadOnlySpan<int> ids, ReadOnlySpan<float> logits, Span<float> bounds)
    {
        var count = ids.Length;
        var max = float.NegativeInfinity;
        if (!Vector256.IsHardwareAccelerated || count < Vector256<int>.Count)
        {
            for (var i = 0; i < count; i++)
            {
                bounds[i] = Bound(WatermarkKey.TokenBits(seed, ids[i]), logits[i]);
                max = bounds[i] > max ? bounds[i] : max;
            }

            return max;
        }

        var low = Vector256.Create((uint)seed);
        var high = Vector256.Create((uint)(seed >> 32));
        var complement = Vector256.Create(0x7FFF_FFFFU);
        var scale = Vector256.Create(-LnTwoPerBit);
        var maxima = Vector256.Create(float.NegativeInfinity);
        ref var id = ref MemoryMarshal.GetReference(ids);
        ref var logit = ref MemoryMarshal.GetReference(logits);
        ref var bound = ref MemoryMarshal.GetReference(bounds);

        // The last block overlaps the one before it when count is not a multiple of eight: same values written twice.
        for (var i = 0; i < count; i += Vector256<int>.Count)
        {
            var at = (nuint)Math.Min(i, count - Vector256<int>.Count);
            var value = WatermarkKey.TokenBits(low, high, Vector256.LoadUnsafe(ref id, at));
            var halfComplement = (Vector256.ShiftRightLogical(value, 1) ^ complement).AsInt32();
            var bits = Vector256.ConvertToSingle(Vector256.ConvertToSingle(halfComplement).AsInt32());
            var b = Vector256.FusedMultiplyAdd(bits, scale, Vector256.LoadUnsafe(ref logit, at));
            b.StoreUnsafe(ref bound, at);

            // vmaxps returns its second operand when the first is NaN; where a NaN maximum comes out, Choose scores all.
            maxima = Vector256.MaxNative(b, maxima);
        }

        for (var lane = 0; lane < Vector256<float>.Count; lane++)
        {
            max = maxima[lane] > max ? maxima[lane] : max;
        }

        return max;
    }

    /// <summary>Scores, in index order, every candidate but <paramref name="scored"/> whose bound reaches the threshold of the best score so far.</summary>
    private static void Scan(ulong seed, ReadOnlySpan<int> ids, ReadOnlySpan<float> logits, ReadOnlySpan<float> bounds, int start, int scored, ref int best, ref double bestScore)
    {
        var threshold = Threshold(bestScore);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var bound = ref MemoryMarshal.GetReference(bounds);
            var limit = bounds.Length & ~(Vector256<float>.Count - 1);
            for (; i < limit; i += Vector256<float>.Count)
            {
                var mask = Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref bound, (nuint)i), Vector256.Create(threshold)).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    var j = i + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    if (j != scored && bounds[j] >= threshold)
                    {
                        Consider(seed, ids[j], logits[j], start + j, ref best, ref bestScore);
                        threshold = Threshold(bestScore);
                    }
                }
            }
        }

        for (; i < bounds.Length; i++)
        {
            if (i != scored && bounds[i] >= threshold)
            {
                Consider(seed, ids[i], logits[i], start + i, ref best, ref bestScore);
                threshold = Threshold(bestScore);
            }
        }
    }
}
