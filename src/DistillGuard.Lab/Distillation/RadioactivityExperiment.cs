using System.Diagnostics;
using System.Globalization;
using System.Text;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Evaluation;
using DistillGuard.Watermarking.Evaluation;
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

    /// <summary>Share at which the distiller's countermeasures are tried.</summary>
    public double CountermeasureShare { get; init; } = 0.10;

    /// <summary>Whether to run the countermeasures and the distillability table.</summary>
    public bool Extended { get; init; } = true;
}

/// <summary>A student's held-out quality under one harvesting condition.</summary>
public sealed record DistillabilityRow(string Condition, long HarvestTokens, double HeldOutPerplexity);

/// <summary>One student of the experiment and its two audits.</summary>
public sealed record StudentResult(double Share, long HarvestTokens, long HumanTokens, double HeldOutPerplexity, RadioactivityReport Unfiltered, RadioactivityReport Filtered);

/// <summary>The experiment's results.</summary>
public sealed record RadioactivityResults(RadioactivitySettings Settings, double HarvestLog10P, long HarvestTokens, IReadOnlyList<StudentResult> Students, double AuditSecondsFor100k, long AuditTimingTuples, TimeSpan Elapsed)
{
    /// <summary>Students whose harvest the distiller paraphrased or filtered, at <see cref="RadioactivitySettings.CountermeasureShare"/>.</summary>
    public IReadOnlyList<(string Countermeasure, StudentResult Result)> Countermeasures { get; init; } = [];

    /// <summary>Student quality (100 % harvest) under no defence, the watermark, and the policy's reductions.</summary>
    public IReadOnlyList<DistillabilityRow> Distillability { get; init; } = [];
}

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
        ILanguageModel? clean = null;
        StudentResult Distil(IReadOnlyList<string> texts, double share, string label, out ILanguageModel model)
        {
            var (mixed, reached, harvestTokens, humanTokens) = StudentTraining.Mix(texts, share, human);
            model = StudentTraining.Train(mixed, new StudentRecipe { Share = share, Order = settings.StudentOrder, Id = $"dg-student-{share:0.###}" });
            var perplexity = ModelEvaluation.Perplexity(model, heldOut);
            var answers = InProcessGeneration.Answer(model, probePrompts, key: null, parameters: null, settings.MaxTokens, (settings.Seed * 1000) + 7, temperature: 0.8f, topP: 0.95f);
            var samples = answers.Select(a => new AuditSample(a.Prompt, a.Answer)).ToArray();
            var name = string.Create(CultureInfo.InvariantCulture, $"student {reached:P1} watermarked{label}");
            var unfiltered = RadioactivityAudit.Run(samples, key, new AuditOptions { Decoys = settings.Decoys }, name);
            var filtered = RadioactivityAudit.Run(samples, key, new AuditOptions { Decoys = settings.Decoys, Served = served }, name + " (served filter)");
            progress?.Invoke($"share {reached:P1}{label}: PPL {perplexity:F1}; p = {RadioactivityReportWriter.P(unfiltered.Log10P)} over {unfiltered.TokensScored:N0} tuples, filtered p = {RadioactivityReportWriter.P(filtered.Log10P)} over {filtered.TokensScored:N0}; decoy min p {RadioactivityReportWriter.P(unfiltered.Decoys.MinLog10P)} ({watch.Elapsed.TotalSeconds:F0} s)");
            return new StudentResult(reached, harvestTokens, humanTokens, perplexity, unfiltered, filtered);
        }

        foreach (var share in settings.Shares)
        {
            students.Add(Distil(harvestTexts, share, "", out var model));
            if (share == 0)
            {
                clean = model;
            }
        }

        var countermeasures = new List<(string, StudentResult)>();
        var distillability = new List<DistillabilityRow>();
        if (settings.Extended)
        {
            var random = new Random(settings.Seed);
            var paraphrased = harvest.Select(h => h.Prompt + TextAttacks.SubstituteSynonyms(h.Answer, 0.3, random).Text).ToArray();
            countermeasures.Add(("synonym paraphrase of 30 % of the harvest's words (WordNet)", Distil(paraphrased, settings.CountermeasureShare, ", paraphrased", out _)));

            // A quality filter: keep the half of the answers a human-text model finds most fluent (the 0 % student, trained on Brown).
            if (clean is not null)
            {
                var tokenizer = LanguageModels.Tokenization.TextTokenizer.Gpt2;
                var kept = harvest
                    .Select(h => (Text: h.Prompt + h.Answer, Tokens: tokenizer.Encode(h.Answer)))
                    .Where(h => h.Tokens.Length > 0)
                    .OrderBy(h => ModelEvaluation.Perplexity(clean, [h.Tokens]))
                    .Take(harvest.Count / 2)
                    .Select(h => h.Text)
                    .ToArray();
                countermeasures.Add(("filter: keep the most fluent half of the answers (PPL under a Brown model)", Distil(kept, settings.CountermeasureShare, ", filtered", out _)));
            }

            // Distillability: a student of the harvest alone, per harvesting condition. The text-only n-gram student uses
            // neither logprobs nor n > 1, so those two policy reductions cost it nothing by construction.
            var plain = InProcessGeneration.Answer(teacher, prompts, key: null, parameters: null, settings.MaxTokens, settings.Seed * 1000);
            var capped = InProcessGeneration.Answer(teacher, prompts, key, parameters, maxTokens: 32, settings.Seed * 1000);
            DistillabilityRow Row(string condition, IReadOnlyList<HarvestedAnswer> answers)
            {
                var texts = answers.Select(a => a.Prompt + a.Answer).ToArray();
                var model = StudentTraining.Train(texts, new StudentRecipe { Share = 1, Order = settings.StudentOrder });
                return new DistillabilityRow(condition, HarvestPrompts.Tokens(texts), ModelEvaluation.Perplexity(model, heldOut));
            }

            distillability.Add(Row("no defence (unwatermarked harvest)", plain));
            distillability.Add(Row("watermark only (δ 2)", harvest));
            distillability.Add(Row("watermark + capped length (max_tokens 32)", capped));
            distillability.Add(Row("watermark + throttled volume (10 % of the answers)", [.. harvest.Take(harvest.Count / 10)]));
            foreach (var row in distillability)
            {
                progress?.Invoke($"distillability: {row.Condition}: {row.HarvestTokens:N0} tokens, PPL {row.HeldOutPerplexity:F1}");
            }
        }

        // Timing of a 100,000-tuple audit with 100 decoys, on held-out human text (no suspect latency).
        var timingSamples = CorpusSplits.HeldOutBrown().Select(p => new AuditSample("", p)).ToArray();
        var timing = Stopwatch.StartNew();
        var timed = RadioactivityAudit.Run(timingSamples, key, new AuditOptions { Decoys = 100 }, "held-out Brown");
        var seconds = timing.Elapsed.TotalSeconds;
        progress?.Invoke($"audit of {timed.TokensScored:N0} tuples with 100 decoys: {seconds:F2} s");
        return new RadioactivityResults(settings, harvestAudit.Log10P, harvestAudit.TokensSeen, students, seconds, timed.TokensScored, watch.Elapsed)
        {
            Countermeasures = countermeasures,
            Distillability = distillability,
        };
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

        if (r.Countermeasures.Count > 0)
        {
            md.AppendLine().AppendLine(inv, $"Countermeasures of the distiller at {r.Settings.CountermeasureShare:P0} watermarked data (our served filter is the original harvest):").AppendLine();
            md.AppendLine("| countermeasure | student PPL | tuples scored | p (corrected) | served filter: tuples | p (corrected) | decoy min p |").AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            var baseline = r.Students.FirstOrDefault(x => Math.Abs(x.Share - r.Settings.CountermeasureShare) < 0.005);
            var rows = (baseline is null ? [] : new[] { ("none", baseline) }).Concat(r.Countermeasures);
            foreach (var (name, st) in rows)
            {
                md.AppendLine(inv, $"| {name} | {st.HeldOutPerplexity:F1} | {st.Unfiltered.TokensScored:N0} | {RadioactivityReportWriter.P(st.Unfiltered.Log10P)} | {st.Filtered.TokensScored:N0} | {RadioactivityReportWriter.P(st.Filtered.Log10P)} | {RadioactivityReportWriter.P(Math.Min(st.Unfiltered.Decoys.MinLog10P, st.Filtered.Decoys.MinLog10P))} |");
            }
        }

        if (r.Distillability.Count > 0)
        {
            md.AppendLine().AppendLine("Distillability: a student of the harvest alone (order 3), held-out Brown perplexity (lower is a better student; the 0 % student of 1.14 M human tokens is the reference above):").AppendLine();
            md.AppendLine("| harvesting condition | harvest tokens | student PPL |").AppendLine("|---|---:|---:|");
            foreach (var row in r.Distillability)
            {
                md.AppendLine(inv, $"| {row.Condition} | {row.HarvestTokens:N0} | {row.HeldOutPerplexity:F1} |");
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
