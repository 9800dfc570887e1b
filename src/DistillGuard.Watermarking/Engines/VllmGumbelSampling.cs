namespace DistillGuard.Watermarking.Engines;

/// <summary>vLLM's Gumbel-max choice of the next token: argmax over the candidates of logit − ln(−ln u), u the PRF's uniform for (context, candidate).</summary>
/// <remarks>
/// The engine's own sampling rule, for test engines and for measuring attacks on the mark; the gateway never
/// generates with it. u is clamped below by the smallest normal float as vLLM does (it is never 0 here anyway).
/// </remarks>
public static class VllmGumbelSampling
{
    // torch.finfo(torch.float32).tiny, the clamp vLLM applies before the double logarithm.
    private const float SmallestNormal = 1.17549435E-38f;

    /// <summary>The index into <paramref name="candidates"/> of the watermarked choice; ties go to the lowest index.</summary>
    /// <param name="prf">The PRF of the key (for the dual-key scheme, of the key chosen for this step).</param>
    /// <param name="context">The <c>context_width</c> previous ids, −1 before the start.</param>
    /// <param name="candidates">Candidate token ids.</param>
    /// <param name="logits">Their logits (after temperature), in the same order.</param>
    public static int Choose(VllmPhiloxPrf prf, ReadOnlySpan<int> context, ReadOnlySpan<int> candidates, ReadOnlySpan<double> logits)
    {
        if (candidates.Length == 0 || candidates.Length != logits.Length)
        {
            throw new ArgumentException("Candidates and logits must be non-empty and of the same length.", nameof(logits));
        }

        var state = prf.Absorb(context);
        var best = 0;
        var bestScore = double.NegativeInfinity;
        for (var i = 0; i < candidates.Length; i++)
        {
            var u = Math.Max(VllmPhiloxPrf.Uniform(prf.Word(state, candidates[i])), SmallestNormal);
            var score = logits[i] - Math.Log(-Math.Log(u));
            if (score > bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        return best;
    }

    /// <summary>The context of position <paramref name="position"/> of <paramref name="tokens"/> into <paramref name="context"/>: the previous ids, −1 before the start.</summary>
    public static void Context(ReadOnlySpan<int> tokens, int position, Span<int> context)
    {
        for (var j = 0; j < context.Length; j++)
        {
            var at = position - context.Length + j;
            context[j] = at < 0 ? -1 : tokens[at];
        }
    }
}
