using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;

namespace DistillGuard.Watermarking.Tests;

/// <summary>A trigram model over 3,000 Brown paragraphs: trains in about a second, enough to generate marked text.</summary>
public sealed class SmallModelFixture
{
    public SmallModelFixture()
    {
        Model = KneserNeyTrainer.Train(CorpusSplits.Tokenize(CorpusSplits.TrainingBrown().Take(3_000)), 3, new KneserNeyOptions { Id = "test-small" });
    }

    public ILanguageModel Model { get; }
}
