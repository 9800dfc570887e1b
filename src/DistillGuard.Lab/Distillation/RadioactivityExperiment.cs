using System.Diagnostics;
using System.Globalization;
using System.Text;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Evaluation;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Lab.Distillation;

/// <summary>Settings of the radioactivity experiment.</summary>
public sealed record RadioactivitySettings
{
    /// <summary>Shares of watermarked text in the students' training data.</summary>
    public IReadOnlyList<double> Shares { get; init; } = [0, 0.01, 0.05, 0.10, 1.0];

    /// <summary>Answers harvested from the teacher.</summary>
    public int HarvestAnswers { get; init; } = 6_000;

    /// <summary>Probe answers collected from each student.</summary>
    public int ProbeAnswers { get; init; } = 6_000;

    /// <summary>max_tokens of harvest and probes.</summary>
    public int MaxTokens { get; init; } = 200;

    /// <summary>Decoy keys per audit.</summary>
    public int Decoys { get; init; } = 100;

    /// <summary>Student n-gram order (the teacher is 4).</summary>
    public int StudentOrder { get; init; } = 3;

    /// <summary>Seed of prompts and sampling.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>One student of the experiment and its two audits.</summary>
public sealed record StudentResult(double Share, long HarvestTokens, long HumanTokens, double HeldOutPerplexity, RadioactivityReport Unfiltered, RadioactivityReport Filtered);

/// <summary>The experiment's results.</summary>
public sealed record RadioactivityResults(RadioactivitySettings Settings, double HarvestLog10P, long HarvestTokens, IReadOnlyList<StudentResult> Students, double AuditSecondsFor100k, long AuditTimingTuples, TimeSpan Elapsed);

/// <summary>
/// Distils students from a watermarked teacher at several shares and audits each (in-process: teacher and students
/// generate without HTTP, with the gateway's sampler and watermark processor).
/// </summary>
public static class RadioactivityExperiment
{
    /// <summary>Runs the experiment; <paramref name="progress"/> receives a line per step.</summary>
    public static RadioactivityResults Run(ILanguageModel teacher, WatermarkKey key, RadioactivitySettings settings, Action<string>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        var parameters = WatermarkParameters.GreenListDefaults;
        var prompts = HarvestPrompts.FromBrown(settings.HarvestAnswers, settings.Seed, heldOut: false);
        var harvest = InProcessGeneration.Answer(teacher, prompts, key, parameters, settings.MaxTokens, settings.Seed * 1000);
        var harvestTexts = harvest.Select(h => h.Prompt + h.Answer).ToArray();
        var served = ServedWindows.FromTexts(harvest.Select(h => h.Answer), parameters.ContextWidth);
        var harvestAudit = RadioactivityAudit.Run([.. harvest.Select(h => new AuditSample(h.Prompt, h.Answer))], key, new AuditOptions { Decoys = 0 }, "harvest");
        progress?.Invoke($"harvested {harvest.Count:N0} answers ({harvestAudit.TokensSeen:N0} tokens, teacher green fraction {harvestAudit.GreenFraction:F3}) in {watch.Elapsed.TotalSeconds:F0} s");

        var human = CorpusSplits.TrainingBrown().ToList();
        var heldOut = CorpusSplits.Tokenize(CorpusSplits.HeldOutBrown());
        // Supervised probes (research/watermark.md §A.5 step 2): the prompts the harvesting accounts sent, from the usage log.
        var probePrompts = Enumerable.Range(0, settings.ProbeAnswers).Select(i => prompts[i % prompts.Count]).ToArray();
        var students = new List<StudentResult>();
        foreach (var share in settings.Shares)
        {
            var (texts, reached, harvestTokens, humanTokens) = StudentTraining.Mix(harvestTexts, share, human);
            var student = StudentTraining.Train(texts, new StudentRecipe { Share = share, Order = settings.StudentOrder, Id = $"dg-student-{share:0.###}" });
            var perplexity = ModelEvaluation.Perplexity(student, heldOut);
            var answers = InProcessGeneration.Answer(student, probePrompts, key: null, parameters: null, settings.MaxTokens, (settings.Seed * 1000) + 7, temperature: 0.8f, topP: 0.95f);
            var samples = answers.Select(a => new AuditSample(a.Prompt, a.Answer)).ToArray();
            var name = string.Create(CultureInfo.InvariantCulture, $"student {reached:P1} watermarked");
            var unfiltered = RadioactivityAudit.Run(samples, key, new AuditOptions { Decoys = settings.Decoys }, name);
            var filtered = RadioactivityAudit.Run(samples, key, new AuditOptions { Decoys = settings.Decoys, Served = served }, name + " (served filter)");
            students.Add(new StudentResult(reached, harvestTokens, humanTokens, perplexity, unfiltered, filtered));
            progress?.Invoke($"share {reached:P1}: PPL {perplexity:F1}; p = {RadioactivityReportWriter.P(unfiltered.Log10P)} over {unfiltered.TokensScored:N0} tuples, filtered p = {RadioactivityReportWriter.P(filtered.Log10P)} over {filtered.TokensScored:N0}; decoy min p {RadioactivityReportWriter.P(unfiltered.Decoys.MinLog10P)} ({watch.Elapsed.TotalSeconds:F0} s)");
        }

        // Timing of a 100,000-tuple audit with 100 decoys, on held-out human text (no suspect latency).
        var timingSamples = CorpusSplits.HeldOutBrown().Select(p => new AuditSample("", p)).ToArray();
        var timing = Stopwatch.StartNew();
        var timed = RadioactivityAudit.Run(timingSamples, key, new AuditOptions { Decoys = 100 }, "held-out Brown");
        var seconds = timing.Elapsed.TotalSeconds;
        progress?.Invoke($"audit of {timed.TokensScored:N0} tuples with 100 decoys: {seconds:F2} s");
        return new RadioactivityResults(settings, harvestAudit.Log10P, harvestAudit.TokensSeen, students, seconds, timed.TokensScored, watch.Elapsed);
    }

    /// <summary>The experiment as the generated part of <c>docs/radioactivity.md</c>.</summary>
    public static string ToMarkdown(RadioactivityResults r, string command, string plotPath)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        var s = r.Settings;
        md.AppendLine(inv, $"Regenerate with `{command}` ({r.Elapsed.TotalMinutes:F1} min on the reference machine, 2 cores). Settings: {s.HarvestAnswers:N0} harvested answers and {s.ProbeAnswers:N0} probe answers per student (max_tokens {s.MaxTokens}), students of order {s.StudentOrder} (teacher: 4), {s.Decoys} decoy keys per audit, seed {s.Seed}.").AppendLine();
        md.AppendLine(inv, $"Harvest: {r.HarvestTokens:N0} tokens from dg-teacher (green list γ 0.25, δ 2, h 2); its own watermark p = {RadioactivityReportWriter.P(r.HarvestLog10P)}.").AppendLine();
        md.AppendLine("| share watermarked | harvest / human tokens | student PPL (held-out Brown) | tuples scored | green fraction | p (corrected) | decoy min p / KS p / rank | served filter: tuples | green fraction | p (corrected) | decoy min p / rank |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|");
        foreach (var st in r.Students)
        {
            var u = st.Unfiltered;
            var f = st.Filtered;
            md.AppendLine(inv, $"| {st.Share:P1} | {st.HarvestTokens:N0} / {st.HumanTokens:N0} | {st.HeldOutPerplexity:F1} | {u.TokensScored:N0} | {u.GreenFraction:F4} | {RadioactivityReportWriter.P(u.Log10P)} | {RadioactivityReportWriter.P(u.Decoys.MinLog10P)} / {u.Decoys.KsPValue:F2} / {u.Decoys.TrueKeyRank} | {f.TokensScored:N0} | {f.GreenFraction:F4} | {RadioactivityReportWriter.P(f.Log10P)} | {RadioactivityReportWriter.P(f.Decoys.MinLog10P)} / {f.Decoys.TrueKeyRank} |");
        }

        md.AppendLine().AppendLine("p at the pre-registered checkpoints (uncorrected; the corrected value multiplies by 6):").AppendLine();
        md.AppendLine("| share | audit | " + string.Join(" | ", AuditOptions.DefaultCheckpoints.Select(c => c.ToString("N0", inv))) + " |");
        md.AppendLine("|---:|---|" + string.Concat(AuditOptions.DefaultCheckpoints.Select(_ => "---:|")));
        foreach (var st in r.Students)
        {
            foreach (var (label, report) in new[] { ("all windows", st.Unfiltered), ("served filter", st.Filtered) })
            {
                md.AppendLine(string.Create(inv, $"| {st.Share:P1} | {label} | ") + string.Join(" | ", report.Checkpoints.Select(c => c.Reached ? RadioactivityReportWriter.P(c.Log10P) : "–")) + " |");
            }
        }

        md.AppendLine().AppendLine(inv, $"Audit time: {r.AuditTimingTuples:N0} tuples (held-out Brown, re-tokenised) scored under the true key and 100 decoys in **{r.AuditSecondsFor100k:F2} s**, beyond the suspect's response time.").AppendLine();
        md.AppendLine(inv, $"![−log10 p against tuples scored, served filter]({plotPath})");
        return md.ToString();
    }

    /// <summary>The SVG plot: one line per share (served filter), the strongest decoy dotted.</summary>
    public static string ToSvg(RadioactivityResults r) =>
        RadioactivityReportWriter.ToSvg([.. r.Students.Select(s => (string.Create(CultureInfo.InvariantCulture, $"{s.Share:P1}"), s.Filtered.Curve))], 1e-5, "Students by share of watermarked data (served filter; clipped at 1e-40)", yMax: 40);
}
