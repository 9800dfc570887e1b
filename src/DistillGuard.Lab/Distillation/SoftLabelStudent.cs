using System.Numerics.Tensors;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Model;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Lab.Distillation;

/// <summary>
/// A student distilled with the teacher's log-probabilities: at every context of the harvest it knows the teacher's
/// top-k next-token distribution (soft labels), not only the one token the teacher sampled there.
/// </summary>
/// <remarks>
/// The n-gram analogue of training a student's next-token distribution on top-k soft labels with cross-entropy: for a
/// model that is a table over its last <c>Order - 1</c> tokens, that loss is minimised by the average of the soft labels
/// seen at each context. Where the harvest had such a context, the student predicts the averaged top-k probabilities
/// and spreads the rest of the mass (1 − their sum, at least <see cref="ResidualFloor"/>) over the other tokens in
/// proportion to its text-trained Kneser–Ney model; elsewhere it is that model. Immutable and thread-safe.
/// </remarks>
public sealed class SoftLabelStudent : ILanguageModel, ITokenLogProbability
{
    /// <summary>Least mass left to tokens outside the soft labels, so a held-out token is never impossible.</summary>
    public const double ResidualFloor = 1e-3;

    private readonly KneserNeyModel _text;
    private readonly Dictionary<ulong, (int[] Tokens, float[] Probabilities)> _soft;

    private SoftLabelStudent(KneserNeyModel text, Dictionary<ulong, (int[] Tokens, float[] Probabilities)> soft)
    {
        _text = text;
        _soft = soft;
    }

    /// <inheritdoc/>
    public string Id => _text.Id;

    /// <inheritdoc/>
    public int VocabularySize => _text.VocabularySize;

    /// <inheritdoc/>
    public int Order => _text.Order;

    /// <summary>Contexts with soft labels.</summary>
    public int SoftContexts => _soft.Count;

    /// <summary>
    /// Builds the student from its text-trained model and the harvest's log-probabilities (answers without them are
    /// skipped; an answer whose token does not map to one of our tokens stops there, as its later contexts are unknown).
    /// </summary>
    public static SoftLabelStudent Build(KneserNeyModel text, IEnumerable<ProbeAnswer> harvest, TextTokenizer? tokenizer = null)
    {
        tokenizer ??= TextTokenizer.Gpt2;
        var width = text.Order - 1;
        var sums = new Dictionary<ulong, (Dictionary<int, double> Mass, int Seen)>();
        var context = new List<int>();
        foreach (var answer in harvest)
        {
            if (answer.Logprobs is null)
            {
                continue;
            }

            context.Clear();
            context.AddRange(tokenizer.Encode(answer.Prompt));
            foreach (var position in answer.Logprobs)
            {
                if (tokenizer.Encode(position.Token) is not [var chosen])
                {
                    break;
                }

                var key = Key(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(context), width);
                if (!sums.TryGetValue(key, out var entry))
                {
                    entry = (new Dictionary<int, double>(), 0);
                }

                foreach (var (token, logProbability) in position.Top)
                {
                    if (tokenizer.Encode(token) is [var id])
                    {
                        entry.Mass[id] = entry.Mass.GetValueOrDefault(id) + Math.Exp(logProbability);
                    }
                }

                sums[key] = (entry.Mass, entry.Seen + 1);
                context.Add(chosen);
            }
        }

        var soft = new Dictionary<ulong, (int[], float[])>(sums.Count);
        foreach (var (key, (mass, seen)) in sums)
        {
            var total = mass.Values.Sum() / seen;
            var scale = total > 1 - ResidualFloor ? (1 - ResidualFloor) / total : 1;
            soft[key] = ([.. mass.Keys], [.. mass.Values.Select(m => (float)(m / seen * scale))]);
        }

        return new SoftLabelStudent(text, soft);
    }

    /// <inheritdoc/>
    public void GetLogProbabilities(ReadOnlySpan<int> context, Span<float> logProbabilities)
    {
        _text.GetLogProbabilities(context, logProbabilities);
        if (!_soft.TryGetValue(Key(context, Order - 1), out var soft))
        {
            return;
        }

        double textMass = 0;
        foreach (var token in soft.Tokens)
        {
            textMass += Math.Exp(logProbabilities[token]);
        }

        TensorPrimitives.Add(logProbabilities, (float)ResidualLog(soft.Probabilities, textMass), logProbabilities);
        for (var i = 0; i < soft.Tokens.Length; i++)
        {
            logProbabilities[soft.Tokens[i]] = MathF.Log(soft.Probabilities[i]);
        }
    }

    /// <inheritdoc/>
    public double GetLogProbability(ReadOnlySpan<int> context, int token)
    {
        if (!_soft.TryGetValue(Key(context, Order - 1), out var soft))
        {
            return _text.GetLogProbability(context, token);
        }

        double textMass = 0;
        for (var i = 0; i < soft.Tokens.Length; i++)
        {
            if (soft.Tokens[i] == token)
            {
                return Math.Log(soft.Probabilities[i]);
            }

            textMass += Math.Exp(_text.GetLogProbability(context, soft.Tokens[i]));
        }

        return _text.GetLogProbability(context, token) + ResidualLog(soft.Probabilities, textMass);
    }

    // log of the factor that scales the text model's mass outside the soft labels onto the soft labels' residual.
    private static double ResidualLog(float[] probabilities, double textMass)
    {
        double softMass = 0;
        foreach (var p in probabilities)
        {
            softMass += p;
        }

        return Math.Log(Math.Max(1 - softMass, ResidualFloor)) - Math.Log(Math.Max(1 - textMass, 1e-9));
    }

    // The last `width` tokens (fewer at the start), 16 bits each (the vocabulary is below 65,536), and their count.
    private static ulong Key(ReadOnlySpan<int> context, int width)
    {
        var length = Math.Min(width, context.Length);
        ulong key = (ulong)length << 60;
        for (var i = 0; i < length; i++)
        {
            key |= (ulong)(ushort)context[context.Length - length + i] << (16 * i);
        }

        return key;
    }
}
