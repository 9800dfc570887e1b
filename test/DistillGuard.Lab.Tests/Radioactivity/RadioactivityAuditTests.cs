using DistillGuard.Lab.Distillation;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Lab.Tests.Radioactivity;

[Trait("Tier", "Long")]
public sealed class RadioactivityAuditTests
{
    [Fact]
    public void Audit_StudentOfWatermarkedTeacher_HasTinyPAndRanksFirst()
    {
        var samples = LabModels.Probe(LabModels.MarkedStudent, seed: 5);

        var report = RadioactivityAudit.Run(samples, LabModels.Key, new AuditOptions { Decoys = 100, Served = LabModels.MarkedServed }, "marked student");

        // A 3,000-paragraph teacher and a 50k-token harvest keep this test fast; the signal is measured at full size in
        // docs/radioactivity.md. Measured here: corrected log10 p ≈ −4.8 over ≈ 2,500 served-window tuples.
        Assert.True(report.Log10P < -4, $"log10 p = {report.Log10P}, scored {report.TokensScored}");
        Assert.Equal(1, report.Decoys.TrueKeyRank);
        Assert.True(report.Decoys.MinLog10P > -4, $"decoy min log10 p = {report.Decoys.MinLog10P}");
    }

    [Fact]
    public void Audit_CleanStudent_NotRadioactiveAndDecoysUniform()
    {
        var samples = LabModels.Probe(LabModels.CleanStudent, seed: 6);

        var report = RadioactivityAudit.Run(samples, LabModels.Key, new AuditOptions { Decoys = 100, Served = LabModels.CleanServed }, "clean student");

        Assert.False(report.Radioactive);
        Assert.True(report.Log10P > -4, $"log10 p = {report.Log10P}");
        Assert.True(report.Decoys.MinLog10P > -4, $"decoy min log10 p = {report.Decoys.MinLog10P}");
        Assert.True(report.Decoys.KsPValue > 0.001, $"KS D = {report.Decoys.KsStatistic}, p = {report.Decoys.KsPValue}");
        Assert.InRange(report.Decoys.FractionBelow005, 0, 0.15);
    }

    [Fact]
    public void Audit_RepeatedTuples_CountedOnceAcrossTheCorpus()
    {
        var answer = "the cat sat on the mat and the dog sat on the rug while the cat sat on the mat";
        var once = RadioactivityAudit.Run([new AuditSample("hello", answer)], LabModels.Key, new AuditOptions { Decoys = 0 });
        var twice = RadioactivityAudit.Run([new AuditSample("hello", answer), new AuditSample("hi", answer)], LabModels.Key, new AuditOptions { Decoys = 0 });

        Assert.True(once.Repeated > 0);
        Assert.Equal(once.TokensScored, twice.TokensScored);
        Assert.Equal(once.Green, twice.Green);
        // Every tuple of the second copy was already scored in the first.
        Assert.Equal(once.Repeated + once.TokensScored + once.Repeated, twice.Repeated);
    }

    [Fact]
    public void Audit_AnswerCopyingAWatermarkedPrompt_DropsThePromptWindows()
    {
        var marked = InProcessGeneration.Answer(LabModels.Teacher, HarvestPrompts.FromBrown(60, seed: 9, heldOut: true), LabModels.Key, WatermarkParameters.GreenListDefaults, 120, seed: 3);
        var text = string.Join(' ', marked.Select(m => m.Answer));

        // The prompt is our watermarked text and the suspect echoes it: without the drop this would look radioactive.
        var report = RadioactivityAudit.Run([new AuditSample(text, text)], LabModels.Key, new AuditOptions { Decoys = 0 });
        var direct = RadioactivityAudit.Run([new AuditSample("unrelated", text)], LabModels.Key, new AuditOptions { Decoys = 0 });

        Assert.Equal(0, report.TokensScored);
        Assert.True(report.PromptWindowsDropped > 1000);
        Assert.False(report.Radioactive);
        Assert.True(direct.Radioactive, $"the same text as an answer: log10 p = {direct.Log10P}");
    }

    [Fact]
    public void Audit_ServedFilter_KeepsOnlyServedWindows()
    {
        var answer = "one two three four five six seven eight nine ten";
        var served = ServedWindows.FromTexts(["one two three four five"], 2);

        var report = RadioactivityAudit.Run([new AuditSample("x", answer)], LabModels.Key, new AuditOptions { Decoys = 0, Served = served });

        Assert.Equal(3, report.TokensScored);
        Assert.True(report.NotServedDropped > 0);
    }

    [Fact]
    public void Audit_Tracing_NamesTheHarvestingBucket()
    {
        var parameters = WatermarkParameters.GreenListDefaults with { PayloadBuckets = 16 };
        var marked = InProcessGeneration.Answer(LabModels.Teacher, HarvestPrompts.FromBrown(40, seed: 4, heldOut: true), LabModels.Key, parameters, 100, seed: 8, payload: 11);

        var report = RadioactivityAudit.Run([.. marked.Select(m => new AuditSample(m.Prompt, m.Answer))], LabModels.Key, new AuditOptions { Parameters = parameters, Trace = true, Decoys = 10 });

        Assert.NotNull(report.Trace);
        Assert.Equal(11, report.Trace[0].Bucket);
        Assert.True(report.Trace[0].Named);
        Assert.DoesNotContain(report.Trace.Skip(1), b => b.Named);
    }

    [Fact]
    public void Audit_Checkpoints_AreOneBonferroniFamily()
    {
        var samples = LabModels.Probe(LabModels.MarkedStudent, seed: 5);

        var report = RadioactivityAudit.Run(samples, LabModels.Key, new AuditOptions { Decoys = 0, Checkpoints = [1_000, 2_000, 4_000] });

        Assert.Equal(4, report.Family);
        var reached = report.Checkpoints.Where(c => c.Reached).ToArray();
        Assert.NotEmpty(reached);
        Assert.All(reached, c => Assert.Equal(c.Log10P + Math.Log10(4), c.Log10PCorrected, 6));
        Assert.True(report.Log10P >= Math.Min(report.Log10PFinal, reached.Min(c => c.Log10P)) + Math.Log10(4) - 1e-9);
    }

    [Fact]
    public void Writer_ReportRoundTripsAndRenders()
    {
        var report = RadioactivityAudit.Run(LabModels.Probe(LabModels.CleanStudent, seed: 6), LabModels.Key, new AuditOptions { Decoys = 5 }, "clean");

        var back = RadioactivityReportWriter.FromJson(RadioactivityReportWriter.ToJson(report));
        var markdown = RadioactivityReportWriter.ToMarkdown(report, "plot.svg");
        var svg = RadioactivityReportWriter.ToSvg([("clean", report.Curve)], report.Alpha, "t");

        Assert.NotNull(back);
        Assert.Equal(report.TokensScored, back.TokensScored);
        Assert.Contains("no evidence", markdown, StringComparison.Ordinal);
        Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
        Assert.Equal("1.0e-25", RadioactivityReportWriter.P(-25));
    }
}
