using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;

namespace DistillGuard.Lab.Tests;

/// <summary>A trigram model over 3,000 Brown paragraphs: trains in about a second, enough to generate marked text.</summary>
public sealed class SmallModelFixture
{
    public SmallModelFixture()
    {
        Model = KneserNeyTrainer.Train(CorpusSplits.Tokenize(CorpusSplits.TrainingBrown().Take(3_000)), 3, new KneserNeyOptions { Id = "test-small" });
    }

    public ILanguageModel Model { get; }
}

/// <summary>The real teacher, trained once from the embedded corpus (a few seconds), and the held-out split.</summary>
public sealed class TeacherFixture
{
    public TeacherFixture()
    {
        Training = CorpusSplits.Tokenize(CorpusSplits.TrainingTexts());
        Teacher = KneserNeyTrainer.Train(Training, BuiltInModels.TeacherOrder, new KneserNeyOptions { Id = BuiltInModels.TeacherId });
        HeldOut = CorpusSplits.Tokenize(CorpusSplits.HeldOutBrown());
    }

    public int[][] Training { get; }

    public KneserNeyModel Teacher { get; }

    public int[][] HeldOut { get; }
}
