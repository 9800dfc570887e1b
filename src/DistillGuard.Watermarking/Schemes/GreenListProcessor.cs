using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Schemes;

/// <summary>The green-list watermark as a sampler hook: adds δ to the logits of green surviving candidates.</summary>
/// <remarks>
/// Runs after temperature and top-p (TextSeal's <c>after_topp</c>), so no token outside the nucleus is promoted.
/// Greedy steps, steps with fewer than h previous tokens and repeated windows are left alone. Stateless and
/// allocation-free per token; one instance serves any number of concurrent requests.
/// </remarks>
public sealed class GreenListProcessor : ILogitsProcessor
{
    private readonly WatermarkKey _key;
    private readonly int _width;
    private readonly float _delta;
    private readonly ulong _threshold;
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
        for (var i = 0; i < candidateIds.Length; i++)
        {
            var id = candidateIds[i] + _shift;
            if (id >= _vocabulary)
            {
                id -= _vocabulary;
            }

            // Branch-free: green is a coin flip per candidate, which a branch predictor cannot learn.
            var green = WatermarkKey.TokenValue(seed, id) < _threshold ? 1f : 0f;
            logits[i] += green * _delta;
        }
    }
}
