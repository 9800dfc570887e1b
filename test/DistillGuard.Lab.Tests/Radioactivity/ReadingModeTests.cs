using DistillGuard.Lab.Distillation;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Lab.Tests.Radioactivity;

[Trait("Tier", "Long")]
public sealed class ReadingModeTests
{
    /// <summary>Our watermarked text: the teacher's answers to held-out prompts (what we would have served).</summary>
    private static readonly Lazy<IReadOnlyList<string>> s_ourText = new(() =>
        [.. InProcessGeneration.Answer(LabModels.Teacher, HarvestPrompts.FromBrown(150, seed: 21, heldOut: true), LabModels.Key, WatermarkParameters.GreenListDefaults, 120, seed: 31).Select(a => a.Answer)]);

    [Fact]
    public void Reading_ServedAnswersThroughTheMarkedStudent_IsRadioactive_TrueKeyFirst()
    {
        var rows = Read(LabModels.MarkedStudent, LabModels.MarkedServedTexts);

        var report = RadioactivityAudit.RunReading(rows, LabModels.Key, new AuditOptions { Decoys = 100 }, "marked student");

        Assert.Equal(AuditModes.Reading, report.Mode);
        Assert.True(report.Log10P < -5, $"log10 p = {report.Log10P} over {report.TokensScored} tuples");
        Assert.Equal(1, report.Decoys.TrueKeyRank);
    }

    [Fact]
    public void Reading_OurWatermarkedTextThroughAStudentThatNeverSawIt_IsNotRadioactive()
    {
        // The clean student learned from unwatermarked answers; it reads watermarked text. Its predictions agree with our
        // teacher's (green-biased) tokens at easy positions, yet the test stays valid: see RadioactivityAudit.RunReading.
        var rows = Read(LabModels.CleanStudent, s_ourText.Value);

        var report = RadioactivityAudit.RunReading(rows, LabModels.Key, new AuditOptions { Decoys = 100 }, "clean student");

        Assert.True(report.TokensScored > 2_000, $"{report.TokensScored} tuples");
        Assert.True(report.Log10PFinal > -3, $"log10 p = {report.Log10PFinal}, green fraction {report.GreenFraction}");
        Assert.False(report.Radioactive);
        Assert.True(report.Decoys.KsPValue > 0.001, $"KS p = {report.Decoys.KsPValue}");
    }

    [Fact]
    public void Reading_WindowSeenEarlierInTheSameRow_IsSkipped_AndMissingPredictionsAreCounted()
    {
        int[] tokens = [10, 11, 12, 10, 11, 13, 14];
        int[] predicted = [-1, -1, 12, 10, 11, 12, -1];

        var report = RadioactivityAudit.RunReading([new ReadingRow(tokens, predicted)], LabModels.Key, new AuditOptions { Decoys = 0 });

        // Windows at 2..6: (10,11) (11,12) (12,10) (10,11) again (11,13); the repeat is skipped, position 6 has no prediction.
        Assert.Equal(1, report.PromptWindowsDropped);
        Assert.Equal(1, report.PredictionsMissing);
        Assert.Equal(3, report.TokensScored);
    }

    /// <summary>The suspect's top-1 prediction at every position of each text, as the completions endpoint would report it.</summary>
    private static ReadingRow[] Read(ILanguageModel model, IEnumerable<string> texts)
    {
        // A greedy one-token step is the model's argmax (ties to the lower id), without scoring the whole vocabulary.
        var tokenizer = TextTokenizer.Gpt2;
        var generator = new TextGenerator(model, tokenizer);
        var rows = new List<ReadingRow>();
        foreach (var text in texts)
        {
            var ids = tokenizer.Encode(text);
            if (ids.Length < 2)
            {
                continue;
            }

            var predicted = new int[ids.Length];
            predicted[0] = -1;
            for (var i = 1; i < ids.Length; i++)
            {
                var step = generator.Generate(new GenerationRequest { PromptTokens = ids[..i], MaxTokens = 1, Temperature = 0 }).First();
                predicted[i] = step.Tokens.Count == 1 ? step.Tokens[0].Id : TextTokenizer.EndOfText;
            }

            rows.Add(new ReadingRow(ids, predicted));
        }

        return [.. rows];
    }
}
