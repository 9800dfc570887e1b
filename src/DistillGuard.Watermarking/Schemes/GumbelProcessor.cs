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

        var max = float.NegativeInfinity;
        foreach (var logit in logits)
        {
            max = Math.Max(max, logit);
        }

        double total = 0;
        foreach (var logit in logits)
        {
            total += Math.Exp(logit - max);
        }

        var seed = _key.WindowSeed((byte)'E', previous[^_width..]);
        var best = -1;
        var bestScore = double.NegativeInfinity;
        for (var i = 0; i < candidateIds.Length; i++)
        {
            var p = Math.Exp(logits[i] - max) / total;
            if (p <= 0)
            {
                continue;
            }

            // argmax r^(1/p) = argmax ln(r) / p; ln(r) < 0 because r is in (0, 1).
            var score = Math.Log(WatermarkKey.ToUnit(WatermarkKey.TokenValue(seed, candidateIds[i]))) / p;
            if (score > bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = i == best ? 0f : float.NegativeInfinity;
        }
    }
}
