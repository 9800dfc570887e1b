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

    /// <summary>Tokens of our watermarked text each student reads in reading mode (0: no reading-mode test).</summary>
    public int ReadingTokens { get; init; } = 50_000;

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

    /// <summary>Clean students (no watermarked training data), one per seed, each audited with its own decoys.</summary>
    public int CleanSeeds { get; init; } = 20;

    /// <summary>Probe answers per clean student.</summary>
    public int CleanProbeAnswers { get; init; } = 1_000;

    /// <summary>Reading-mode tokens per clean student.</summary>
    public int CleanReadingTokens { get; init; } = 10_000;
}

/// <summary>A student's held-out quality under one harvesting condition.</summary>
public sealed record DistillabilityRow(string Condition, long HarvestTokens, double HeldOutPerplexity);

/// <summary>One student of the experiment and its audits: answers (all windows, served filter) and reading mode.</summary>
public sealed record StudentResult(double Share, long HarvestTokens, long HumanTokens, double HeldOutPerplexity, RadioactivityReport Unfiltered, RadioactivityReport Filtered, RadioactivityReport? Reading);

/// <summary>One clean student (trained without watermarked data) and its audits under the true key and its own decoys.</summary>
public sealed record CleanSeedResult(int Seed, RadioactivityReport Answers, RadioactivityReport? Reading);

/// <summary>The experiment's results.</summary>
public sealed record RadioactivityResults(RadioactivitySettings Settings, double HarvestLog10P, long HarvestTokens, IReadOnlyList<StudentResult> Students, double AuditSecondsFor100k, long AuditTimingTuples, TimeSpan Elapsed)
{
    /// <summary>Students whose harvest the distiller paraphrased or filtered, at <see cref="RadioactivitySettings.CountermeasureShare"/>.</summary>
    public IReadOnlyList<(string Countermeasure, StudentResult Result)> Countermeasures { get; init; } = [];

    /// <summary>Student quality (100 % harvest) under no defence, the watermark, and the policy's reductions.</summary>
    public IReadOnlyList<DistillabilityRow> Distillability { get; init; } = [];

    /// <summary>The clean-student controls over seeds.</summary>
    public IReadOnlyList<CleanSeedResult> CleanSeeds { get; init; } = [];

    /// <summary>Seconds spent waiting for the served models (harvests, probes, reading), summed over requests in flight.</summary>
    public double SuspectSeconds { get; init; }
}

/// <summary>
/// Distils students from the watermarked teacher at several shares and audits each, all over HTTP: the teacher and
/// every student are served by <see cref="IModelServer"/> (loopback gateways), harvested and probed with the official
/// client, and read through the completions endpoint for the reading-mode test.
/// </summary>
public static class RadioactivityExperiment
{
    /// <summary>The smallest decoy p a clean run may show (research/watermark.md goal G9).</summary>
    public const double DecoyFloor = 1e-4;

    /// <summary>Runs the experiment; <paramref name="progress"/> receives a line per step.</summary>
    public static async Task<RadioactivityResults> RunAsync(IModelServer server, ILanguageModel teacher, WatermarkKey key, RadioactivitySettings settings, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var suspectSeconds = 0.0;
        var parameters = WatermarkParameters.GreenListDefaults;
        var prompts = HarvestPrompts.FromBrown(settings.HarvestAnswers, settings.Seed, heldOut: false);
        var harvestSeed = settings.Seed * 1000L;

        async Task<IReadOnlyList<HarvestedAnswer>> Harvest(IServedModel served, int maxTokens)
        {
            // The teacher's own distribution (temperature 1, top-p 0.95), one seeded request per prompt.
            var probe = new SuspectProbe(served.ApiBase, served.ApiKey, served.ModelId) { Temperature = 1f, TopP = 0.95f, Seed = harvestSeed };
            var (samples, _, elapsed) = await probe.CollectAsync(prompts, maxTokens, cancellationToken: cancellationToken).ConfigureAwait(false);
            suspectSeconds += elapsed.TotalSeconds;
            return [.. samples.Select(a => new HarvestedAnswer(a.Prompt, a.Answer))];
        }

        IReadOnlyList<HarvestedAnswer> harvest, capped = [], plain = [];
        await using (var served = await server.ServeAsync(teacher, watermarked: true, cancellationToken).ConfigureAwait(false))
        {
            harvest = await Harvest(served, settings.MaxTokens).ConfigureAwait(false);
            if (settings.Extended)
            {
                capped = await Harvest(served, 32).ConfigureAwait(false);
            }
        }

        if (settings.Extended || settings.CleanSeeds > 0)
        {
            await using var served = await server.ServeAsync(teacher, watermarked: false, cancellationToken).ConfigureAwait(false);
            plain = await Harvest(served, settings.MaxTokens).ConfigureAwait(false);
        }

        var harvestTexts = harvest.Select(h => h.Prompt + h.Answer).ToArray();
        var servedWindows = ServedWindows.FromTexts(harvest.Select(h => h.Answer), parameters.ContextWidth);
        var harvestAudit = RadioactivityAudit.Run([.. harvest.Select(h => new AuditSample(h.Prompt, h.Answer))], key, new AuditOptions { Decoys = 0 }, "harvest");
        progress?.Invoke($"harvested {harvest.Count:N0} answers over HTTP ({harvestAudit.TokensSeen:N0} tokens, teacher green fraction {harvestAudit.GreenFraction:F3}) in {watch.Elapsed.TotalSeconds:F0} s");

        var human = CorpusSplits.TrainingBrown().ToList();
        var heldOut = CorpusSplits.Tokenize(CorpusSplits.HeldOutBrown());
        // Supervised probes (research/watermark.md §A.5 step 2): the prompts the harvesting accounts sent, from the usage log.
        var probePrompts = Enumerable.Range(0, settings.ProbeAnswers).Select(i => prompts[i % prompts.Count]).ToArray();
        // Reading mode reads what we served that account: our watermarked answers.
        var servedAnswers = harvest.Select(h => h.Answer).ToArray();

        async Task<(RadioactivityReport Answers, RadioactivityReport? Filtered, RadioactivityReport? Reading)> Audit(ILanguageModel model, IReadOnlyList<string> probes, IReadOnlyList<string> reading, int readingTokens, string name, long seed, int decoySeed, bool filtered)
        {
            await using var suspect = await server.ServeAsync(model, watermarked: false, cancellationToken).ConfigureAwait(false);
            var probe = new SuspectProbe(suspect.ApiBase, suspect.ApiKey, suspect.ModelId) { Seed = seed };
            var (samples, _, elapsed) = await probe.CollectAsync(probes, settings.MaxTokens, cancellationToken: cancellationToken).ConfigureAwait(false);
            suspectSeconds += elapsed.TotalSeconds;
            var options = new AuditOptions { Decoys = settings.Decoys, DecoySeed = decoySeed };
            var answers = RadioactivityAudit.Run(samples, key, options, name) with { CollectionSeconds = elapsed.TotalSeconds };
            var servedFilter = filtered ? RadioactivityAudit.Run(samples, key, new AuditOptions { Decoys = settings.Decoys, DecoySeed = decoySeed, Served = servedWindows }, name + " (served filter)") : null;
            RadioactivityReport? read = null;
            if (readingTokens > 0)
            {
                using var reader = new ReadingProbe(suspect.ApiBase, suspect.ApiKey, suspect.ModelId);
                (read, var unavailable) = await reader.AuditAsync(reading, readingTokens, key, options, name, cancellationToken: cancellationToken).ConfigureAwait(false);
                suspectSeconds += read?.CollectionSeconds ?? 0;
                if (unavailable is not null)
                {
                    throw new InvalidOperationException("The lab's suspect gateway refused the reading-mode request: " + unavailable);
                }
            }

            return (answers, servedFilter, read);
        }

        var students = new List<StudentResult>();
        ILanguageModel? clean = null;
        async Task<(StudentResult Result, ILanguageModel Model)> Distil(IReadOnlyList<string> texts, double share, string label)
        {
            var (mixed, reached, harvestTokens, humanTokens) = StudentTraining.Mix(texts, share, human);
            var model = StudentTraining.Train(mixed, new StudentRecipe { Share = share, Order = settings.StudentOrder, Id = string.Create(CultureInfo.InvariantCulture, $"dg-student-{share:0.###}") });
            var perplexity = ModelEvaluation.Perplexity(model, heldOut);
            var name = string.Create(CultureInfo.InvariantCulture, $"student {reached:P1} watermarked{label}");
            var (unfiltered, filtered, reading) = await Audit(model, probePrompts, servedAnswers, settings.ReadingTokens, name, harvestSeed + 7, new AuditOptions().DecoySeed, filtered: true).ConfigureAwait(false);
            progress?.Invoke($"share {reached:P1}{label}: PPL {perplexity:F1}; p = {RadioactivityReportWriter.P(unfiltered.Log10P)} over {unfiltered.TokensScored:N0} tuples, filtered p = {RadioactivityReportWriter.P(filtered!.Log10P)} over {filtered.TokensScored:N0}, reading p = {(reading is null ? "–" : RadioactivityReportWriter.P(reading.Log10P))}; decoy min p {RadioactivityReportWriter.P(unfiltered.Decoys.MinLog10P)} ({watch.Elapsed.TotalSeconds:F0} s)");
            return (new StudentResult(reached, harvestTokens, humanTokens, perplexity, unfiltered, filtered!, reading), model);
        }

        foreach (var share in settings.Shares)
        {
            var (result, model) = await Distil(harvestTexts, share, "").ConfigureAwait(false);
            students.Add(result);
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
            countermeasures.Add(("synonym paraphrase of 30 % of the harvest's words (WordNet)", (await Distil(paraphrased, settings.CountermeasureShare, ", paraphrased").ConfigureAwait(false)).Result));

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
                countermeasures.Add(("filter: keep the most fluent half of the answers (PPL under a Brown model)", (await Distil(kept, settings.CountermeasureShare, ", filtered").ConfigureAwait(false)).Result));
            }

            // Distillability: a student of the harvest alone, per harvesting condition. The text-only n-gram student uses
            // neither logprobs nor n > 1, so those two policy reductions cost it nothing by construction.
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

        // Clean controls: students distilled from the teacher with its watermark off, mixed at the countermeasure share with a
        // seeded half of the human text; each seed draws its own probes, its own reading texts and its own 100 decoys.
        var cleanSeeds = new List<CleanSeedResult>();
        for (var seed = 1; seed <= settings.CleanSeeds; seed++)
        {
            var random = new Random((settings.Seed * 7919) + seed);
            var humanHalf = human.Where(_ => random.NextDouble() < 0.5).ToArray();
            var distilled = plain.Select(h => h.Prompt + h.Answer).ToArray();
            random.Shuffle(distilled);
            var (mixed, _, _, _) = StudentTraining.Mix(distilled, settings.CountermeasureShare, humanHalf);
            var model = StudentTraining.Train(mixed, new StudentRecipe { Share = settings.CountermeasureShare, Order = settings.StudentOrder, Id = $"dg-clean-{seed}" });
            var probes = Enumerable.Range(0, settings.CleanProbeAnswers).Select(_ => prompts[random.Next(prompts.Count)]).ToArray();
            var reading = servedAnswers.ToArray();
            random.Shuffle(reading);
            var (answers, _, read) = await Audit(model, probes, reading, settings.CleanReadingTokens, $"clean student, seed {seed}", harvestSeed + (seed * 100_003L), new AuditOptions().DecoySeed + seed, filtered: false).ConfigureAwait(false);
            cleanSeeds.Add(new CleanSeedResult(seed, answers, read));
            progress?.Invoke($"clean seed {seed}: p = {RadioactivityReportWriter.P(answers.Log10PFinal)} (decoy min {RadioactivityReportWriter.P(answers.Decoys.MinLog10P)}), reading p = {(read is null ? "–" : RadioactivityReportWriter.P(read.Log10PFinal))} ({watch.Elapsed.TotalSeconds:F0} s)");
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
            CleanSeeds = cleanSeeds,
            SuspectSeconds = suspectSeconds,
        };
    }

    /// <summary>Wilson score interval of a binomial share (95 % for z = 1.96).</summary>
    public static (double Low, double High) Wilson(int successes, int trials, double z = 1.96)
    {
        if (trials == 0)
        {
            return (0, 1);
        }

        var p = successes / (double)trials;
        var z2 = z * z;
        var centre = (p + (z2 / (2 * trials))) / (1 + (z2 / trials));
        var half = z / (1 + (z2 / trials)) * Math.Sqrt((p * (1 - p) / trials) + (z2 / (4.0 * trials * trials)));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>The experiment as the generated part of <c>docs/radioactivity.md</c>.</summary>
    public static string ToMarkdown(RadioactivityResults r, string command, string plotPath)
    {
        var inv = CultureInfo.InvariantCulture;
        static string P(double log10) => RadioactivityReportWriter.P(log10);
        var md = new StringBuilder();
        var s = r.Settings;
        md.AppendLine(inv, $"Regenerate with `{command}` ({r.Elapsed.TotalMinutes:F1} min on the reference machine, 2 cores shared; {r.SuspectSeconds / 60:F1} min of it waiting for the served models). Everything goes over HTTP: the watermarked teacher, its watermark-free twin and every student are served by loopback gateways, harvested and probed with the official OpenAI client (chat completions) and read through `/v1/completions` with `echo` and `logprobs`. Settings: {s.HarvestAnswers:N0} harvested answers, {s.ProbeAnswers:N0} probe answers and {s.ReadingTokens:N0} reading-mode tokens per student (max_tokens {s.MaxTokens}), students of order {s.StudentOrder} (teacher: 4), {s.Decoys} decoy keys per audit, seed {s.Seed}; {s.CleanSeeds} clean seeds with {s.CleanProbeAnswers:N0} probes and {s.CleanReadingTokens:N0} reading tokens each.").AppendLine();
        md.AppendLine(inv, $"Harvest: {r.HarvestTokens:N0} tokens from dg-teacher (green list γ 0.25, δ 2, h 2); its own watermark p = {P(r.HarvestLog10P)}.").AppendLine();
        md.AppendLine("| share watermarked | harvest / human tokens | student PPL (held-out Brown) | tuples scored | green fraction | p (corrected) | decoy min p / KS p / rank | served filter: tuples | green fraction | p (corrected) | decoy min p / rank | reading: tuples | green fraction | p (corrected) | decoy min p / rank |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---|");
        foreach (var st in r.Students)
        {
            var u = st.Unfiltered;
            var f = st.Filtered;
            md.AppendLine(inv, $"| {st.Share:P1} | {st.HarvestTokens:N0} / {st.HumanTokens:N0} | {st.HeldOutPerplexity:F1} | {u.TokensScored:N0} | {u.GreenFraction:F4} | {P(u.Log10P)} | {P(u.Decoys.MinLog10P)} / {u.Decoys.KsPValue:F2} / {u.Decoys.TrueKeyRank} | {f.TokensScored:N0} | {f.GreenFraction:F4} | {P(f.Log10P)} | {P(f.Decoys.MinLog10P)} / {f.Decoys.TrueKeyRank} | {Reading(st.Reading)} |");
        }

        md.AppendLine().AppendLine("p at the pre-registered checkpoints (uncorrected; the corrected value multiplies by 6):").AppendLine();
        md.AppendLine("| share | audit | " + string.Join(" | ", AuditOptions.DefaultCheckpoints.Select(c => c.ToString("N0", inv))) + " |");
        md.AppendLine("|---:|---|" + string.Concat(AuditOptions.DefaultCheckpoints.Select(_ => "---:|")));
        foreach (var st in r.Students)
        {
            foreach (var (label, report) in new[] { ("all windows", st.Unfiltered), ("served filter", st.Filtered), ("reading mode", st.Reading) })
            {
                if (report is not null)
                {
                    md.AppendLine(string.Create(inv, $"| {st.Share:P1} | {label} | ") + string.Join(" | ", report.Checkpoints.Select(c => c.Reached ? P(c.Log10P) : "–")) + " |");
                }
            }
        }

        if (r.Countermeasures.Count > 0)
        {
            md.AppendLine().AppendLine(inv, $"Countermeasures of the distiller at {r.Settings.CountermeasureShare:P0} watermarked data (our served filter is the original harvest; reading mode reads the original harvest):").AppendLine();
            md.AppendLine("| countermeasure | student PPL | tuples scored | p (corrected) | served filter: tuples | p (corrected) | reading: tuples | green fraction | p (corrected) | decoy min p / rank | decoy min p (answers) |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
            var baseline = r.Students.FirstOrDefault(x => Math.Abs(x.Share - r.Settings.CountermeasureShare) < 0.005);
            var rows = (baseline is null ? [] : new[] { ("none", baseline) }).Concat(r.Countermeasures);
            foreach (var (name, st) in rows)
            {
                md.AppendLine(inv, $"| {name} | {st.HeldOutPerplexity:F1} | {st.Unfiltered.TokensScored:N0} | {P(st.Unfiltered.Log10P)} | {st.Filtered.TokensScored:N0} | {P(st.Filtered.Log10P)} | {Reading(st.Reading)} | {P(Math.Min(st.Unfiltered.Decoys.MinLog10P, st.Filtered.Decoys.MinLog10P))} |");
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

        if (r.CleanSeeds.Count > 0)
        {
            md.AppendLine().AppendLine(inv, $"Clean students over {r.CleanSeeds.Count} seeds: each is distilled from dg-teacher **with its watermark off** ({r.Settings.CountermeasureShare:P0} of its tokens) mixed with a seeded half of the human text, so 0 % of its training data carries our watermark; each seed has its own probes, reading texts and 100 decoy keys. p is the final uncorrected p under our key; decoy min p is the smallest corrected p of the 100 decoys.").AppendLine();
            md.AppendLine("| seed | tuples scored | green fraction | p | p (corrected) | decoy min p / KS p / rank | reading: tuples | green fraction | p | p (corrected) | decoy min p / KS p / rank |").AppendLine("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|");
            foreach (var c in r.CleanSeeds)
            {
                var a = c.Answers;
                var g = c.Reading;
                md.AppendLine(string.Create(inv, $"| {c.Seed} | {a.TokensScored:N0} | {a.GreenFraction:F4} | {P(a.Log10PFinal)} | {P(a.Log10P)} | {P(a.Decoys.MinLog10P)} / {a.Decoys.KsPValue:F2} / {a.Decoys.TrueKeyRank} | ") + (g is null ? "– | – | – | – | –" : string.Create(inv, $"{g.TokensScored:N0} | {g.GreenFraction:F4} | {P(g.Log10PFinal)} | {P(g.Log10P)} | {P(g.Decoys.MinLog10P)} / {g.Decoys.KsPValue:F2} / {g.Decoys.TrueKeyRank}")) + " |");
            }

            md.AppendLine().AppendLine("| clean-student control | runs | smallest decoy p ≥ 1e-4 | share (95 % Wilson interval) | true-key p: KS D (p) over seeds | true-key p < 0.05 | true key significant (p corrected < 1e-5) |").AppendLine("|---|---:|---:|---|---|---:|---:|");
            foreach (var (label, reports) in new[]
            {
                ("answers (all windows)", r.CleanSeeds.Select(c => c.Answers).ToArray()),
                ("reading mode", r.CleanSeeds.Where(c => c.Reading is not null).Select(c => c.Reading!).ToArray()),
            })
            {
                if (reports.Length == 0)
                {
                    continue;
                }

                var above = reports.Count(x => x.Decoys.MinLog10P >= Math.Log10(DecoyFloor));
                var (low, high) = Wilson(above, reports.Length);
                var (d, ksP) = RadioactivityAudit.KolmogorovSmirnov([.. reports.Select(x => Math.Pow(10, x.Log10PFinal))]);
                md.AppendLine(inv, $"| {label} | {reports.Length} | {above} | {above / (double)reports.Length:P0} ({low:P0} … {high:P0}) | {d:F3} ({ksP:F2}) | {reports.Count(x => x.Log10PFinal < Math.Log10(0.05))} | {reports.Count(x => x.Radioactive)} |");
            }
        }

        md.AppendLine().AppendLine(inv, $"Audit time: {r.AuditTimingTuples:N0} tuples (held-out Brown, re-tokenised) scored under the true key and 100 decoys in **{r.AuditSecondsFor100k:F2} s**, beyond the suspect's response time.").AppendLine();
        md.AppendLine(inv, $"![−log10 p against tuples scored, served filter]({plotPath})");
        return md.ToString();

        string Reading(RadioactivityReport? g) => g is null
            ? "– | – | – | –"
            : string.Create(inv, $"{g.TokensScored:N0} | {g.GreenFraction:F4} | {P(g.Log10P)} | {P(g.Decoys.MinLog10P)} / {g.Decoys.TrueKeyRank}");
    }

    /// <summary>The SVG plot: one line per share (served filter), the strongest decoy dotted.</summary>
    public static string ToSvg(RadioactivityResults r) =>
        RadioactivityReportWriter.ToSvg([.. r.Students.Select(s => (string.Create(CultureInfo.InvariantCulture, $"{s.Share:P1}"), s.Filtered.Curve))], 1e-5, "Students by share of watermarked data (served filter; clipped at 1e-40)", yMax: 40);
}
