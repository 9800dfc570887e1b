using DistillGuard.Lab.Distillation;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;
using DistillGuard.LanguageModels.Tokenization;

namespace DistillGuard.Lab.Tests.Distillation;

public sealed class SoftLabelStudentTests
{
    private static readonly KneserNeyModel s_text = KneserNeyTrainer.Train(CorpusSplits.Tokenize(CorpusSplits.TrainingBrown().Take(300)), 3);

    private static SoftLabelStudent Student() => SoftLabelStudent.Build(s_text,
    [
        // Two answers reach the context " the cat": the soft labels there average to sat 0.5, is 0.2, ran 0.15.
        new ProbeAnswer("I saw", " the cat", [new(" the", [(" the", MathF.Log(0.7f))]), new(" cat", [(" cat", MathF.Log(0.4f)), (" dog", MathF.Log(0.3f))])]),
        new ProbeAnswer("He", " the cat sat", [new(" the", [(" the", MathF.Log(0.5f))]), new(" cat", [(" cat", MathF.Log(0.5f))]), new(" sat", [(" sat", MathF.Log(0.6f)), (" is", MathF.Log(0.4f))])]),
        new ProbeAnswer("She", " the cat ran", [new(" the", [(" the", MathF.Log(0.5f))]), new(" cat", [(" cat", MathF.Log(0.5f))]), new(" ran", [(" sat", MathF.Log(0.4f)), (" ran", MathF.Log(0.3f))])]),
        new ProbeAnswer("No logprobs", " asked", null),
    ]);

    [Fact]
    public void SoftLabelStudent_AtASoftContext_PredictsTheAveragedLabelsAndSumsToOne()
    {
        var student = Student();
        var context = TextTokenizer.Gpt2.Encode("He the cat");
        var scores = new float[student.VocabularySize];

        student.GetLogProbabilities(context, scores);

        Assert.Equal(0.5, Math.Exp(scores[Id(" sat")]), 4);
        Assert.Equal(0.2, Math.Exp(scores[Id(" is")]), 4);
        Assert.Equal(0.15, Math.Exp(scores[Id(" ran")]), 4);
        Assert.Equal(1.0, scores.Sum(s => Math.Exp(s)), 3);
        Assert.Equal(scores[Id(" dog")], student.GetLogProbability(context, Id(" dog")), 3);
        Assert.Equal(scores[Id(" sat")], student.GetLogProbability(context, Id(" sat")), 4);
    }

    [Fact]
    public void SoftLabelStudent_ElsewhereIsItsTextModel()
    {
        var student = Student();
        var context = TextTokenizer.Gpt2.Encode("of the");
        var soft = new float[student.VocabularySize];
        var text = new float[student.VocabularySize];

        student.GetLogProbabilities(context, soft);
        s_text.GetLogProbabilities(context, text);

        Assert.Equal(text, soft);
        Assert.Equal(s_text.GetLogProbability(context, Id(" same")), student.GetLogProbability(context, Id(" same")), 6);
    }

    private static int Id(string token) => Assert.Single(TextTokenizer.Gpt2.Encode(token));
}
