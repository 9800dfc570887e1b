namespace DistillGuard.LanguageModels;

/// <summary>A next-token model over the GPT-2 BPE vocabulary.</summary>
/// <remarks>Implementations are immutable after loading and safe to call from many threads at once.</remarks>
public interface ILanguageModel
{
    /// <summary>The model id served by the gateway, e.g. <c>dg-teacher</c>.</summary>
    string Id { get; }

    /// <summary>Number of token ids the model scores (the tokenizer's vocabulary size).</summary>
    int VocabularySize { get; }

    /// <summary>The n-gram order: the model looks at the last <c>Order - 1</c> tokens of the context.</summary>
    int Order { get; }

    /// <summary>Writes the natural-log probability of every vocabulary token after <paramref name="context"/>.</summary>
    /// <remarks>The probabilities sum to one. <paramref name="logProbabilities"/> has length <see cref="VocabularySize"/>.</remarks>
    void GetLogProbabilities(ReadOnlySpan<int> context, Span<float> logProbabilities);
}
