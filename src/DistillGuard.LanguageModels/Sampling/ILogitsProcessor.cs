namespace DistillGuard.LanguageModels.Sampling;

/// <summary>
/// The logits-processing hook of the sampler: a watermark (or any other bias) adjusts the logits of the
/// candidates that survived temperature and top-p, just before the token is drawn.
/// </summary>
/// <remarks>Called once per generated token; must not allocate. One instance may serve many requests concurrently.</remarks>
public interface ILogitsProcessor
{
    /// <summary>Adjusts <paramref name="logits"/> (parallel to <paramref name="candidateIds"/>) in place.</summary>
    void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits);
}

/// <summary>What a logits processor may look at when it adjusts one step.</summary>
public readonly ref struct LogitsContext
{
    /// <summary>Creates the context for one sampling step.</summary>
    public LogitsContext(ReadOnlySpan<int> previousTokens, int generatedCount, bool greedy)
    {
        PreviousTokens = previousTokens;
        GeneratedCount = generatedCount;
        Greedy = greedy;
    }

    /// <summary>Prompt tokens followed by the tokens generated so far in this choice.</summary>
    public ReadOnlySpan<int> PreviousTokens { get; }

    /// <summary>How many tokens this choice has generated before this step.</summary>
    public int GeneratedCount { get; }

    /// <summary>True when the request decodes greedily (temperature 0); watermarks leave such steps alone.</summary>
    public bool Greedy { get; }
}
