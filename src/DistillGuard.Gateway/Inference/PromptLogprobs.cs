using System.Buffers;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Model;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Gateway.Inference;

/// <summary>A prompt token as the legacy completions endpoint echoes it: its log-probability given the text before it and the likeliest alternatives.</summary>
/// <param name="Id">Token id.</param>
/// <param name="LogProbability">Natural-log probability given the tokens before it; null for the first token (OpenAI returns null there).</param>
/// <param name="Top">The likeliest tokens at this position, most likely first (ties to the lower id); empty for the first token.</param>
internal sealed record PromptToken(int Id, float? LogProbability, TokenLogProbability[] Top);

/// <summary>
/// Scores a prompt with the served model, for <c>/v1/completions</c> with <c>echo</c> and <c>logprobs</c>: OpenAI's
/// legacy way to read a text through a model (and the radioactivity audit's "reading mode").
/// </summary>
/// <remarks>
/// The context is the one <see cref="TextGenerator"/> uses for a completion: the boundary token, then the prompt. No
/// sampling and no logits processor take part, so the served model's own watermark does not touch these numbers.
/// </remarks>
internal static class PromptLogprobs
{
    /// <summary>Scores every token of <paramref name="prompt"/>, keeping the <paramref name="topK"/> likeliest alternatives per position.</summary>
    /// <remarks>
    /// The alternatives come from a greedy one-token step of <paramref name="generator"/> (its candidate ranking walks the
    /// distribution lazily instead of scoring the whole vocabulary); only where that step ends the text (the boundary
    /// token is the likeliest) is the whole distribution scored.
    /// </remarks>
    public static PromptToken[] Score(ILanguageModel model, TextGenerator generator, TextTokenizer tokenizer, IReadOnlyList<int> prompt, int topK, CancellationToken cancellationToken)
    {
        var result = new PromptToken[prompt.Count];
        if (prompt.Count == 0)
        {
            return result;
        }

        var tokens = prompt.ToArray();
        var vocabulary = model.VocabularySize;
        var scores = ArrayPool<float>.Shared.Rent(vocabulary);
        var sequence = ArrayPool<int>.Shared.Rent(tokens.Length + 1);
        try
        {
            sequence[0] = TextTokenizer.EndOfText;
            tokens.CopyTo(sequence, 1);
            result[0] = new PromptToken(tokens[0], null, []);
            for (var i = 1; i < tokens.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var start = Math.Max(0, i + 1 - (model.Order - 1));
                var context = sequence.AsSpan(start, i + 1 - start);
                var token = tokens[i];
                // Only the last Order-1 tokens condition the next one, so the generator gets just those: the whole prefix
                // (copied into its buffer per position) made scoring a prompt quadratic in its length. Shorter prefixes
                // keep the boundary token in front, exactly as before.
                var from = Math.Max(0, i - (model.Order - 1));
                var prefix = new ArraySegment<int>(tokens, from, i - from);
                var step = generator.Generate(new GenerationRequest { PromptTokens = prefix, MaxTokens = 1, Temperature = 0, Logprobs = true, TopLogprobs = Math.Max(1, topK) }, cancellationToken).First();
                if (step.Tokens.Count == 1 && model is KneserNeyModel kneserNey)
                {
                    var top = step.Tokens[0].TopLogProbabilities;
                    result[i] = new PromptToken(token, (float)kneserNey.GetLogProbability(context, token), [.. top.Take(topK)]);
                    continue;
                }

                var row = scores.AsSpan(0, vocabulary);
                model.GetLogProbabilities(context, row);
                result[i] = new PromptToken(token, (uint)token < (uint)vocabulary ? row[token] : float.NegativeInfinity, Top(row, topK, tokenizer));
            }

            return result;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
            ArrayPool<int>.Shared.Return(sequence);
        }
    }

    /// <summary>The <paramref name="k"/> largest entries by one scan (k ≤ 20): strictly greater displaces, so ties keep the lower id.</summary>
    private static TokenLogProbability[] Top(ReadOnlySpan<float> row, int k, TextTokenizer tokenizer)
    {
        if (k <= 0)
        {
            return [];
        }

        Span<int> ids = stackalloc int[k];
        Span<float> values = stackalloc float[k];
        var count = 0;
        for (var id = 0; id < row.Length; id++)
        {
            var value = row[id];
            if (count == k && !(value > values[k - 1]))
            {
                continue;
            }

            var at = count < k ? count++ : k - 1;
            while (at > 0 && value > values[at - 1])
            {
                ids[at] = ids[at - 1];
                values[at] = values[at - 1];
                at--;
            }

            ids[at] = id;
            values[at] = value;
        }

        var top = new TokenLogProbability[count];
        for (var i = 0; i < count; i++)
        {
            top[i] = new TokenLogProbability(ids[i], tokenizer.GetTokenText(ids[i]), values[i]);
        }

        return top;
    }
}
