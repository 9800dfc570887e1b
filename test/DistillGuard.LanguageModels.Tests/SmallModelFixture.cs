using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.LanguageModels.Tests;

/// <summary>A trigram model over 2,000 Brown paragraphs: trains in well under a second, enough for sampler tests.</summary>
public sealed class SmallModelFixture
{
    public SmallModelFixture()
    {
        Training = CorpusSplits.Tokenize(CorpusSplits.TrainingBrown().Take(2_000));
        Model = KneserNeyTrainer.Train(Training, 3, new KneserNeyOptions { Id = "test-small" });
    }

    public int[][] Training { get; }

    public KneserNeyModel Model { get; }

    public TextTokenizer Tokenizer => TextTokenizer.Gpt2;
}
