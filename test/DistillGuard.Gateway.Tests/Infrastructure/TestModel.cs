using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;

namespace DistillGuard.Gateway.Tests.Infrastructure;

/// <summary>A small real n-gram model (a slice of the shipped corpus), trained once per test run.</summary>
internal static class TestModel
{
    private static readonly Lazy<ILanguageModel> s_model = new(() =>
    {
        var texts = CorpusSplits.TrainingBrown().Take(4000);
        return KneserNeyTrainer.Train(CorpusSplits.Tokenize(texts), 3, new KneserNeyOptions { Id = "dg-teacher" });
    });

    public static ILanguageModel Instance => s_model.Value;
}
