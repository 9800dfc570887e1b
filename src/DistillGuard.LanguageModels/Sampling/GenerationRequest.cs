using DistillGuard.LanguageModels.Answers;
using DistillGuard.LanguageModels.Topics;

namespace DistillGuard.LanguageModels.Sampling;

/// <summary>What to generate: the prompt and the OpenAI-style sampling parameters of one choice.</summary>
public sealed class GenerationRequest
{
    /// <summary>Most stop sequences a request may carry (OpenAI's limit).</summary>
    public const int MaxStopSequences = 4;

    /// <summary>Most alternatives per token a request may ask for (OpenAI's limit).</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>The prompt as token ids; the model sees a sequence boundary before it.</summary>
    public required IReadOnlyList<int> PromptTokens { get; init; }

    /// <summary>Most tokens to generate; the finish reason is <c>length</c> when reached.</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>
    /// Fewest tokens to generate before the end-of-text token may be drawn (vLLM's <c>min_tokens</c>): until then it
    /// is left out of the distribution, which is renormalised over the others. Stop sequences still apply. 0: no floor.
    /// </summary>
    public int MinTokens { get; init; }

    /// <summary>
    /// How long the answer should be (<see cref="AnswerLength.Plan"/>); null: the model ends where it samples
    /// end-of-text. With a plan, end-of-text before <see cref="AnswerPlan.Tokens"/> starts a new paragraph (the text
    /// gets a blank line, the model's context a sequence boundary); from there the answer ends after the first token
    /// that ends a sentence, at a sampled end-of-text (the model's paragraph end), or (short kinds) at the first word boundary after
    /// <see cref="AnswerPlan.HardEnd"/>, with finish reason <c>stop</c>. <see cref="MaxTokens"/> still caps it.
    /// </summary>
    public AnswerPlan? Plan { get; init; }

    /// <summary>Optional topic bias (<see cref="TopicIndex.BiasFor"/>): boosts the tokens of passages on the prompt's topic.</summary>
    public TopicBias? Topic { get; init; }

    /// <summary>Sampling temperature; 0 decodes greedily (argmax).</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Nucleus mass: only the most likely tokens whose probabilities sum to at least this survive.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Seed of the sampler's random stream; null draws a random seed. Equal seeds give equal output.</summary>
    public long? Seed { get; init; }

    /// <summary>Up to four strings that end the generation; they are never part of the returned text.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Whether to report the log-probability of each generated token.</summary>
    public bool Logprobs { get; init; }

    /// <summary>How many most likely alternatives (0..20) to report per token when <see cref="Logprobs"/> is set.</summary>
    public int TopLogprobs { get; init; }

    /// <summary>Optional hook (e.g. a watermark) applied to the surviving candidates before each draw.</summary>
    public ILogitsProcessor? LogitsProcessor { get; init; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(PromptTokens);
        ArgumentNullException.ThrowIfNull(Stop);
        if (MaxTokens < 1)
        {
            throw new ArgumentException("MaxTokens must be at least 1.", nameof(MaxTokens));
        }

        if (MinTokens < 0 || MinTokens > MaxTokens)
        {
            throw new ArgumentException("MinTokens must be between 0 and MaxTokens.", nameof(MinTokens));
        }

        if (!float.IsFinite(Temperature) || Temperature < 0)
        {
            throw new ArgumentException("Temperature must be a finite number >= 0.", nameof(Temperature));
        }

        if (!float.IsFinite(TopP) || TopP <= 0 || TopP > 1)
        {
            throw new ArgumentException("TopP must be in (0, 1].", nameof(TopP));
        }

        if (Stop.Count > MaxStopSequences || Stop.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException($"At most {MaxStopSequences} non-empty stop sequences are allowed.", nameof(Stop));
        }

        if (TopLogprobs is < 0 or > MaxTopLogprobs)
        {
            throw new ArgumentException($"TopLogprobs must be in 0..{MaxTopLogprobs}.", nameof(TopLogprobs));
        }
    }
}
