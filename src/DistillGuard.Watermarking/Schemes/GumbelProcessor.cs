using System.Numerics.Tensors;
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
    // Candidates per chunk: two stack buffers of doubles (4 KB) for the vectorised logarithms.
    private const int Chunk = 256;
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

        // argmax r^(1/p) = argmax ln(r) / p = argmin (−ln r) / p = argmax logit − ln(−ln r): the softmax's normaliser
        // and maximum cancel, so no exp is needed, and the two logarithms run four doubles at a time. r is exact in a
        // double (33 bits), so ln r keeps full relative precision even next to 1.
        var seed = _key.WindowSeed((byte)'E', previous[^_width..]);
        Span<double> buffer = stackalloc double[Chunk];
        Span<double> gumbel = stackalloc double[Chunk];
        var best = -1;
        var bestScore = double.NegativeInfinity;
        for (var start = 0; start < candidateIds.Length; start += Chunk)
        {
            var count = Math.Min(Chunk, candidateIds.Length - start);
            var r = buffer[..count];
            var noise = gumbel[..count];
            for (var i = 0; i < count; i++)
            {
                r[i] = WatermarkKey.ToUniform(WatermarkKey.TokenBits(seed, candidateIds[start + i]));
            }

            TensorPrimitives.Log(r, noise);
            TensorPrimitives.Negate(noise, noise);
            TensorPrimitives.Log(noise, noise);
            for (var i = 0; i < count; i++)
            {
                var score = logits[start + i] - noise[i];
                if (score > bestScore)
                {
                    bestScore = score;
                    best = start + i;
                }
            }
        }

        if (best < 0)
        {
            return;
        }

        logits.Fill(float.NegativeInfinity);
        logits[best] = 0f;
    }
}
