using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Semantics;

/// <summary>Semantic detection log messages (event ids 4100–4199). Never carries prompt text.</summary>
internal static partial class SemanticLog
{
    [LoggerMessage(4100, LogLevel.Information, "Sentence-embedding model loaded in {Milliseconds:F0} ms ({MaxTokens} tokens per prompt); semantic detectors active.")]
    public static partial void ModelLoaded(ILogger logger, double milliseconds, int maxTokens);

    [LoggerMessage(4101, LogLevel.Error, "The sentence-embedding model could not be loaded; semantic detectors stay silent.")]
    public static partial void ModelFailed(ILogger logger, Exception exception);

    [LoggerMessage(4102, LogLevel.Warning, "Semantic detection is behind: {Dropped} sampled prompts dropped so far.")]
    public static partial void PromptsDropped(ILogger logger, long dropped);

    [LoggerMessage(4103, LogLevel.Error, "Embedding a batch of sampled prompts failed; the batch is skipped.")]
    public static partial void EmbedFailed(ILogger logger, Exception exception);
}
