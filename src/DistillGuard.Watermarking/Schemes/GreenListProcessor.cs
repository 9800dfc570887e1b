using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Schemes;

/// <summary>The green-list watermark as a sampler hook: adds δ to the logits of green surviving candidates.</summary>
/// <remarks>
/// Runs after temperature and top-p (TextSeal's <c>after_topp</c>), so no token outside the nucleus is promoted.
/// Greedy steps, steps with fewer than h previous tokens and repeated windows are left alone. Stateless and
/// allocation-free per token; one instance serves any number of concurrent requests. Per step: one SipHash of the
/// window, then eight candidates per AVX2 iteration (two 32-bit multiplies, a compare and a masked add).
/// </remarks>
public sealed class GreenListProcessor : ILogitsProcessor
{
    private readonly WatermarkKey _key;
    private readonly int _width;
    private readonly float _delta;
    private readonly uint _threshold;
    private readonly int _shift;
    private readonly int _vocabulary;

    /// <summary>Creates the processor for <paramref name="key"/>, marking payload bucket <paramref name="payload"/>.</summary>
    public GreenListProcessor(WatermarkKey key, WatermarkParameters parameters, int payload = 0, int vocabularySize = 50_257)
    {
        parameters.Validate();
        if (parameters.Scheme != WatermarkScheme.GreenList)
        {
            throw new ArgumentException("The parameters are not of the green-list scheme.", nameof(parameters));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(payload);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(payload, parameters.PayloadBuckets);
        _key = key;
        _width = parameters.ContextWidth;
        _delta = (float)parameters.Delta;
        _threshold = parameters.GreenThreshold;
        _shift = payload;
        _vocabulary = vocabularySize;
    }

    /// <inheritdoc />
    public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits)
    {
        var previous = context.PreviousTokens;
        if (context.Greedy || previous.Length < _width || ResponseWindows.IsRepeated(previous, context.GeneratedCount, _width))
        {
            return;
        }

        var seed = _key.WindowSeed((byte)'G', previous[^_width..]);
        var done = Vector256.IsHardwareAccelerated ? MarkVectorised(seed, candidateIds, logits) : 0;
        for (var i = done; i < candidateIds.Length; i++)
        {
            // Branch-free: green is a coin flip per candidate, which a branch predictor cannot learn.
            var green = WatermarkKey.TokenBits(seed, Shifted(candidateIds[i])) < _threshold ? 1f : 0f;
            logits[i] += green * _delta;
        }
    }

    /// <summary>Marks whole blocks of eight candidates; returns how many it handled.</summary>
    /// <remarks>
    /// When the threshold is a multiple of 2¹⁶ (γ = 0.25 gives 2³⁰), u &lt; T is decided by the top 16 bits alone, which
    /// the last xorshift of the mixer leaves unchanged: the test becomes (x &gt;&gt; 16) &lt; T / 2¹⁶ on the value before
    /// it, a signed compare of small numbers, exactly the same decision in fewer instructions.
    /// </remarks>
    private int MarkVectorised(ulong seed, ReadOnlySpan<int> candidateIds, Span<float> logits)
    {
        var count = Math.Min(candidateIds.Length, logits.Length) & ~(Vector256<int>.Count - 1);
        var low = Vector256.Create((uint)seed);
        var high = Vector256.Create((uint)(seed >> 32));
        var delta = Vector256.Create(_delta);
        ref var id = ref MemoryMarshal.GetReference(candidateIds);
        ref var logit = ref MemoryMarshal.GetReference(logits);
        if (_shift == 0 && (_threshold & 0xFFFF) == 0)
        {
            // The common case (no payload, γ a multiple of 2⁻¹⁶), in as few instructions as the test allows.
            var top = Vector256.Create((int)(_threshold >> 16));
            for (var i = 0; i < count; i += Vector256<int>.Count)
            {
                var x = WatermarkKey.MixedBeforeLastShift(low, high, Vector256.LoadUnsafe(ref id, (nuint)i));
                var green = Vector256.LessThan(Vector256.ShiftRightLogical(x, 16).AsInt32(), top);
                (Vector256.LoadUnsafe(ref logit, (nuint)i) + (green.AsSingle() & delta)).StoreUnsafe(ref logit, (nuint)i);
            }

            return count;
        }

        var threshold = Vector256.Create(_threshold);
        var shift = Vector256.Create(_shift);
        var vocabulary = Vector256.Create(_vocabulary);
        for (var i = 0; i < count; i += Vector256<int>.Count)
        {
            var ids = Vector256.LoadUnsafe(ref id, (nuint)i) + shift;
            ids -= Vector256.GreaterThanOrEqual(ids, vocabulary) & vocabulary;
            var green = Vector256.LessThan(WatermarkKey.TokenBits(low, high, ids), threshold).AsInt32();
            (Vector256.LoadUnsafe(ref logit, (nuint)i) + (green.AsSingle() & delta)).StoreUnsafe(ref logit, (nuint)i);
        }

        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Shifted(int candidate)
    {
        var id = candidate + _shift;
        return id >= _vocabulary ? id - _vocabulary : id;
    }
}
