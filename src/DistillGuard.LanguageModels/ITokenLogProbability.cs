namespace DistillGuard.LanguageModels;

/// <summary>A model that can score one token without scoring the whole vocabulary (for fast perplexity).</summary>
public interface ITokenLogProbability
{
    /// <summary>Natural-log probability of <paramref name="token"/> after <paramref name="context"/>; equals that token's entry of <see cref="ILanguageModel.GetLogProbabilities"/>.</summary>
    double GetLogProbability(ReadOnlySpan<int> context, int token);
}
