using System.Buffers;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Lab.ModelQuality;

/// <summary>Intrinsic evaluation of language models.</summary>
public static class ModelEvaluation
{
    /// <summary>
    /// Per-token perplexity of <paramref name="model"/> on <paramref name="sequences"/>, each wrapped in the boundary
    /// token: the context starts with the boundary and the closing boundary is predicted too.
    /// </summary>
    public static double Perplexity(ILanguageModel model, IEnumerable<int[]> sequences, int boundaryToken = TextTokenizer.EndOfText)
    {
        var (logSum, count) = sequences.AsParallel()
            .Select(sequence => LogLikelihood(model, sequence, boundaryToken))
            .Aggregate((0.0, 0L), (acc, x) => (acc.Item1 + x.Sum, acc.Item2 + x.Count));
        return count == 0 ? double.NaN : Math.Exp(-logSum / count);
    }

    private static (double Sum, long Count) LogLikelihood(ILanguageModel model, int[] sequence, int boundaryToken)
    {
        if (model is ITokenLogProbability pointwise)
        {
            // Same number, but one token's probability instead of the whole vocabulary per position.
            var tokens = new int[sequence.Length + 1];
            tokens[0] = boundaryToken;
            sequence.CopyTo(tokens, 1);
            double total = 0;
            for (var i = 0; i <= sequence.Length; i++)
            {
                var start = Math.Max(0, i + 1 - (model.Order - 1));
                total += pointwise.GetLogProbability(tokens.AsSpan(start, i + 1 - start), i < sequence.Length ? sequence[i] : boundaryToken);
            }

            return (total, sequence.Length + 1L);
        }

        var scores = ArrayPool<float>.Shared.Rent(model.VocabularySize);
        var context = ArrayPool<int>.Shared.Rent(sequence.Length + 1);
        try
        {
            context[0] = boundaryToken;
            sequence.CopyTo(context, 1);
            double sum = 0;
            for (var i = 0; i <= sequence.Length; i++)
            {
                var start = Math.Max(0, i + 1 - (model.Order - 1));
                model.GetLogProbabilities(context.AsSpan(start, i + 1 - start), scores.AsSpan(0, model.VocabularySize));
                var target = i < sequence.Length ? sequence[i] : boundaryToken;
                sum += scores[target];
            }

            return (sum, sequence.Length + 1L);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
            ArrayPool<int>.Shared.Return(context);
        }
    }
}
