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

    // How far below the largest bound the first pass scores candidates. With equal logits, e^Reach candidates on
    // average lie that close (bounds − logit are Exp(1)-like at the top); a dominant token needs the second pass
    // when −ln r / (1 − r) > e^(Reach − 0.06), i.e. r below about 0.25.
    private const float Reach = 0.5f;

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
    /// bounded from below through a float's exponent bits); the exact score is then computed only for candidates
    /// whose bound reaches the best exact score so far less a safety margin: one or two per step, rarely more. In
    /// the probability form: candidate i can beat the best s* = min E/p only if r_i &gt; exp(−s*·p_i) ≥ 1 − s*·p_i, the
    /// same test. The candidates need no order (the sampler's nucleus is not sorted). Ties keep the lowest index, as
    /// a single pass with a strict comparison would.
    /// </remarks>
    [SkipLocalsInit] // the bounds buffer is written before it is read; zeroing 4 KB per step would cost more than the scan
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

            // One pass scores the candidates within Reach of the largest bound, the most likely winners; a second pass
            // is needed only when the best score found is further below the largest bound than that (the winner's
            // bound exceeds its score by little when r is near 1, but by more for a dominant token with a small r).
            var cutoff = max - Reach;
            Scan(seed, ids, chunk, bound, start, cutoff, ref best, ref bestScore);
            if (Threshold(bestScore) < cutoff)
            {
                Scan(seed, ids, chunk, bound, start, float.NegativeInfinity, ref best, ref bestScore);
            }
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

    /// <summary>Scores, in index order, every candidate whose bound reaches <paramref name="floor"/> and the threshold of the best score so far.</summary>
    private static void Scan(ulong seed, ReadOnlySpan<int> ids, ReadOnlySpan<float> logits, ReadOnlySpan<float> bounds, int start, float floor, ref int best, ref double bestScore)
    {
        var threshold = Math.Max(floor, Threshold(bestScore));
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // Four vectors per test: the scan is a compare per candidate and one branch per 32.
            const int Block = 4 * 8;
            ref var bound = ref MemoryMarshal.GetReference(bounds);
            var limit = bounds.Length - (bounds.Length % Block);
            for (; i < limit; i += Block)
            {
                var t = Vector256.Create(threshold);
                var any = Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref bound, (nuint)i), t)
                    | Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref bound, (nuint)(i + 8)), t)
                    | Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref bound, (nuint)(i + 16)), t)
                    | Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref bound, (nuint)(i + 24)), t);
                if (any.ExtractMostSignificantBits() == 0)
                {
                    continue;
                }

                for (var j = i; j < i + Block; j++)
                {
                    if (bounds[j] >= threshold)
                    {
                        Consider(seed, ids[j], logits[j], start + j, ref best, ref bestScore);
                        threshold = Math.Max(floor, Threshold(bestScore));
                    }
                }
            }
        }

        for (; i < bounds.Length; i++)
        {
            if (bounds[i] >= threshold)
            {
                Consider(seed, ids[i], logits[i], start + i, ref best, ref bestScore);
                threshold = Math.Max(floor, Threshold(bestScore));
            }
        }
    }
}
