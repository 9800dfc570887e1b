using DistillGuard.Lab.Distillation;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Lab.Tests.Radioactivity;

/// <summary>A small teacher, its harvests and students, built once per test run (a few seconds).</summary>
internal static class LabModels
{
    public static readonly WatermarkKey Key = new WatermarkKey(Enumerable.Range(1, WatermarkKey.Length).Select(i => (byte)i).ToArray()).DeriveEpoch(0);

    private static readonly Lazy<ILanguageModel> s_teacher = new(() =>
        KneserNeyTrainer.Train(CorpusSplits.Tokenize(CorpusSplits.TrainingBrown().Take(3000)), 3, new KneserNeyOptions { Id = "dg-teacher" }));

    private static readonly Lazy<IReadOnlyList<string>> s_harvestPrompts = new(() => HarvestPrompts.FromBrown(500, seed: 1, heldOut: false));

    // Supervised probes (§A.5 step 2): the prompts the suspected accounts sent, taken from the usage log.
    public static IReadOnlyList<string> Probes => s_harvestPrompts.Value.Take(250).ToArray();

    private static readonly Lazy<(ILanguageModel Model, ServedWindows Served, IReadOnlyList<string> Texts)> s_markedStudent = new(() => Student(watermarked: true));
    private static readonly Lazy<(ILanguageModel Model, ServedWindows Served, IReadOnlyList<string> Texts)> s_cleanStudent = new(() => Student(watermarked: false));

    public static ILanguageModel Teacher => s_teacher.Value;

    public static ILanguageModel MarkedStudent => s_markedStudent.Value.Model;

    /// <summary>The windows served in the marked student's harvest: the audit's supervised filter.</summary>
    public static ServedWindows MarkedServed => s_markedStudent.Value.Served;

    /// <summary>The answers served to the marked student's distiller (what reading mode feeds back to it).</summary>
    public static IReadOnlyList<string> MarkedServedTexts => s_markedStudent.Value.Texts;

    public static ILanguageModel CleanStudent => s_cleanStudent.Value.Model;

    /// <summary>What the clean student's harvest would have put in the usage log (unmarked answers).</summary>
    public static ServedWindows CleanServed => s_cleanStudent.Value.Served;

    private static (ILanguageModel, ServedWindows, IReadOnlyList<string>) Student(bool watermarked)
    {
        var harvest = InProcessGeneration.Answer(Teacher, s_harvestPrompts.Value, watermarked ? Key : null, WatermarkParameters.GreenListDefaults, maxTokens: 100, seed: watermarked ? 11 : 12);
        var model = StudentTraining.Train(harvest.Select(h => h.Prompt + h.Answer), new StudentRecipe { Share = 1, Order = 3 });
        return (model, ServedWindows.FromTexts(harvest.Select(h => h.Answer), 2), [.. harvest.Select(h => h.Answer)]);
    }

    public static IReadOnlyList<AuditSample> Probe(ILanguageModel student, int seed) =>
        [.. InProcessGeneration.Answer(student, Probes, key: null, parameters: null, maxTokens: 100, seed: seed).Select(a => new AuditSample(a.Prompt, a.Answer))];
}
