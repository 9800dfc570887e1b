namespace DistillGuard.LanguageModels.Sampling;

/// <summary>One step of a generation: the text that became safe to emit, the token behind it, and the finish reason at the end.</summary>
public sealed class GenerationStep
{
    internal GenerationStep(string text, IReadOnlyList<GeneratedToken> tokens, string? finishReason)
    {
        Text = text;
        Tokens = tokens;
        FinishReason = finishReason;
    }

    /// <summary>Text delta; the concatenation of all deltas is the completion (never containing a stop sequence).</summary>
    /// <remarks>May be empty while an unfinished character or a possible stop-sequence prefix is held back.</remarks>
    public string Text { get; }

    /// <summary>The token(s) generated in this step; empty on a final step that only reports the finish.</summary>
    public IReadOnlyList<GeneratedToken> Tokens { get; }

    /// <summary><c>stop</c> or <c>length</c> on the last step; null before.</summary>
    public string? FinishReason { get; }
}

/// <summary>A generated token with its log-probability under the model and, if requested, the most likely alternatives.</summary>
public sealed class GeneratedToken
{
    internal GeneratedToken(int id, string text, ReadOnlyMemory<byte> bytes, float logProbability, IReadOnlyList<TokenLogProbability> topLogProbabilities)
    {
        Id = id;
        Text = text;
        Bytes = bytes;
        LogProbability = logProbability;
        TopLogProbabilities = topLogProbabilities;
    }

    /// <summary>Token id.</summary>
    public int Id { get; }

    /// <summary>Token text (U+FFFD where the token holds part of a multi-byte character).</summary>
    public string Text { get; }

    /// <summary>The token's exact UTF-8 bytes.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>Natural-log probability of the token under the model, before temperature, top-p and logits processing.</summary>
    public float LogProbability { get; }

    /// <summary>The most likely tokens at this position (model log-probabilities), most likely first; empty unless requested.</summary>
    public IReadOnlyList<TokenLogProbability> TopLogProbabilities { get; }
}

/// <summary>A token and its natural-log probability under the model.</summary>
public readonly record struct TokenLogProbability(int Id, string Text, float LogProbability);

/// <summary>The finish reasons a generation reports (OpenAI's names).</summary>
public static class FinishReasons
{
    /// <summary>A stop sequence or the end-of-text token ended the generation.</summary>
    public const string Stop = "stop";

    /// <summary>The generation reached its token limit.</summary>
    public const string Length = "length";
}
