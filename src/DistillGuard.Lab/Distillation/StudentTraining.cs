using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;

namespace DistillGuard.Lab.Distillation;

/// <summary>How a distiller builds its student: harvested answers mixed with human text, then an n-gram model.</summary>
public sealed record StudentRecipe
{
    /// <summary>Share of the student's training tokens that come from the harvest (0 … 1).</summary>
    public required double Share { get; init; }

    /// <summary>N-gram order; 3 differs from the teacher's 4.</summary>
    public int Order { get; init; } = 3;

    /// <summary>Fixed discounts (D1, D2, D3+), or null for the Chen &amp; Goodman estimates.</summary>
    public float[]? Discounts { get; init; }

    /// <summary>Model id of the student.</summary>
    public string Id { get; init; } = "dg-student";
}

/// <summary>Trains students from a harvest and the Brown training split (the distiller's own human data).</summary>
public static class StudentTraining
{
    /// <summary>
    /// Mixes harvested answers with human paragraphs so that harvested tokens are <see cref="StudentRecipe.Share"/> of
    /// the total: all human text when the share is below 1 and the harvest suffices, otherwise as much as the
    /// harvest allows; at share 1 only the harvest. Returns the texts and the share actually reached.
    /// </summary>
    public static (IReadOnlyList<string> Texts, double Share, long HarvestTokens, long HumanTokens) Mix(IReadOnlyList<string> harvest, double share, IReadOnlyList<string>? human = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(share, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(share, 1);
        human ??= CorpusSplits.TrainingBrown().ToList();
        if (share >= 1)
        {
            return (harvest, 1, HarvestPrompts.Tokens(harvest), 0);
        }

        var humanTokens = human.Select(t => (long)LanguageModels.Tokenization.TextTokenizer.Gpt2.CountTokens(t)).ToArray();
        var humanTotal = humanTokens.Sum();
        var harvestTokens = harvest.Select(t => (long)LanguageModels.Tokenization.TextTokenizer.Gpt2.CountTokens(t)).ToArray();
        var harvestTotal = harvestTokens.Sum();
        var texts = new List<string>(human);
        long usedHarvest = 0;
        if (share > 0)
        {
            // Harvest needed for the share against all human text; if short, trim human text instead.
            var wanted = (long)(share / (1 - share) * humanTotal);
            var i = 0;
            for (; i < harvest.Count && usedHarvest < wanted; i++)
            {
                texts.Add(harvest[i]);
                usedHarvest += harvestTokens[i];
            }

            if (usedHarvest < wanted)
            {
                var humanBudget = (long)(usedHarvest * (1 - share) / share);
                texts.Clear();
                long usedHuman = 0;
                for (var h = 0; h < human.Count && usedHuman < humanBudget; h++)
                {
                    texts.Add(human[h]);
                    usedHuman += humanTokens[h];
                }

                humanTotal = usedHuman;
                texts.AddRange(harvest.Take(i));
            }
        }

        return (texts, usedHarvest / (double)(usedHarvest + humanTotal), usedHarvest, humanTotal);
    }

    /// <summary>Trains the student on <paramref name="texts"/>.</summary>
    public static KneserNeyModel Train(IEnumerable<string> texts, StudentRecipe recipe) =>
        KneserNeyTrainer.Train(CorpusSplits.Tokenize(texts), recipe.Order, new KneserNeyOptions { Id = recipe.Id, Discounts = recipe.Discounts });
}
