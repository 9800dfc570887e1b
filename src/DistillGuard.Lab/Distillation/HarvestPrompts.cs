using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Lab.Distillation;

/// <summary>Prompts for harvesting and for probing: the opening words of corpus paragraphs, so they are diverse and generic.</summary>
public static class HarvestPrompts
{
    /// <summary>
    /// <paramref name="count"/> prompts of <paramref name="words"/> words from Brown paragraphs, shuffled with
    /// <paramref name="seed"/>: the training split for the distiller's harvest, the held-out split for an audit's probes
    /// (so a probe is never a harvested prompt).
    /// </summary>
    public static IReadOnlyList<string> FromBrown(int count, int seed, bool heldOut, int words = 6)
    {
        var paragraphs = heldOut ? CorpusSplits.HeldOutBrown() : CorpusSplits.TrainingBrown().ToList();
        var random = new Random(seed);
        var order = Enumerable.Range(0, paragraphs.Count).ToArray();
        random.Shuffle(order);
        var prompts = new List<string>(count);
        for (var i = 0; prompts.Count < count && i < order.Length * 4; i++)
        {
            var paragraph = paragraphs[order[i % order.Length]].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (paragraph.Length < words + 4)
            {
                continue;
            }

            // Past the first pass, start further into the paragraph so prompts stay distinct.
            var start = Math.Min(paragraph.Length - words, (i / order.Length) * words);
            prompts.Add(string.Join(' ', paragraph.Skip(start).Take(words)));
        }

        return prompts;
    }

    /// <summary>Counts GPT-2 tokens, for mixing by token share.</summary>
    public static long Tokens(IEnumerable<string> texts) => texts.Sum(t => (long)TextTokenizer.Gpt2.CountTokens(t));
}
