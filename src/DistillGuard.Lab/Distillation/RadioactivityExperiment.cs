using System.Diagnostics;
using System.Globalization;
using System.Text;
using DistillGuard.Lab.Evaluation;
using DistillGuard.Lab.ModelQuality;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.Lab.Watermarks;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
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

    /// <summary>Distinct prompts (requests per sample) of the distillability harvests.</summary>
    public int DistillabilityPrompts { get; init; } = 500;

    /// <summary>Answers per prompt a distiller without the n = 1 reduction collects (n &gt; 1).</summary>
    public int DistillabilitySamples { get; init; } = 4;

    /// <summary>top_logprobs a distiller without the no-logprobs reduction asks for.</summary>
    public int TopLogprobs { get; init; } = 5;

    /// <summary>Held-out positions at which students' top-1 next token is compared with the teacher's.</summary>
    public int AgreementPositions { get; init; } = 3_000;
}

/// <summary>One student of the experiment and its audits: answers (all windows, served filter) and reading mode.</summary>
public sealed record StudentResult(double Share, long HarvestTokens, long HumanTokens, double HeldOutPerplexity, RadioactivityReport Unfiltered, RadioactivityReport Filtered, RadioactivityReport? Reading);

/// <summary>One clean student (trained without watermarked data) and its audits under the true key and its own decoys.</summary>
public sealed record CleanSeedResult(int Seed, RadioactivityReport Answers, RadioactivityReport? Reading)
{
    /// <summary>Tokens of the seed's own watermark-free harvest in its training data.</summary>
    public long HarvestTokens { get; init; }

    /// <summary>Tokens of the seed's own slice of the human text (disjoint from every other seed's).</summary>
    public long HumanTokens { get; init; }

    /// <summary>Final p-values of the answers test under the decoy keys every seed shares (<see cref="RadioactivityExperiment.CommonDecoySeed"/>).</summary>
    public IReadOnlyList<double> CommonDecoyPValues { get; init; } = [];
}

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

    /// <summary>Legitimate requests of the simulated week the n = 1 and no-logprobs costs were measured on.</summary>
    public long LegitimateRequests { get; init; }
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

    /// <summary>Seed of the decoy keys shared by all clean seeds (each seed's own decoys use another).</summary>
    public const int CommonDecoySeed = 424_242;

    /// <summary>Runs the experiment; <paramref name="progress"/> receives a line per step.</summary>
    public static async Task<RadioactivityResults> RunAsync(IModelServer server, ILanguageModel teacher, WatermarkKey key, RadioactivitySettings settings, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var suspectSeconds = 0.0;
        var parameters = WatermarkParameters.GreenListDefaults;
        var prompts = HarvestPrompts.FromBrown(settings.HarvestAnswers, settings.Seed, heldOut: false);
        var harvestSeed = settings.Seed * 1000L;

        async Task<IReadOnlyList<ProbeAnswer>> Harvest(IServedModel served, IReadOnlyList<string> requests, int maxTokens, long seed, int topLogprobs = 0)
        {
            // The teacher's own distribution (temperature 1, top-p 0.95), one seeded request per prompt.
            var probe = new SuspectProbe(served.ApiBase, served.ApiKey, served.ModelId) { Temperature = 1f, TopP = 0.95f, Seed = seed };
            var (samples, _, elapsed) = await probe.CollectWithLogprobsAsync(requests, maxTokens, topLogprobs, cancellationToken: cancellationToken).ConfigureAwait(false);
            suspectSeconds += elapsed.TotalSeconds;
            return samples;
        }

        // Distillability harvests: n samples per prompt as n seeded requests (the official .NET client cannot send `n`;
        // each choice of an n-choice request is distributed like one request), sample-major, each with top-k logprobs.
        var distilPrompts = prompts.Take(settings.DistillabilityPrompts).ToArray();
        string[] distilRequests = [.. Enumerable.Range(0, settings.DistillabilitySamples).SelectMany(_ => distilPrompts)];
        var distilSeed = harvestSeed + 500_000;

        // Clean controls: each seed gets its own slice of the human text (disjoint), its own prompts, its own harvest
        // from the watermark-free teacher and its own watermarked texts to read, so no two seeds share training data.
        var human = CorpusSplits.TrainingBrown().ToList();
        var humanOrder = Enumerable.Range(0, human.Count).ToArray();
        new Random(settings.Seed).Shuffle(humanOrder);
        var cleanCount = Math.Max(settings.CleanSeeds, 1);
        var humanSlices = Enumerable.Range(0, settings.CleanSeeds).Select(s => humanOrder.Where((_, i) => i % cleanCount == s).Order().Select(i => human[i]).ToArray()).ToArray();
        long CleanSeedBase(int seed) => (settings.Seed * 1_000_003L) + (seed * 10_007L);

        IReadOnlyList<ProbeAnswer> harvest, distilMarked = [], distilCapped = [], distilPlain = [], teacherAnswers = [];
        var cleanReading = new IReadOnlyList<ProbeAnswer>[settings.CleanSeeds];
        var cleanHarvests = new IReadOnlyList<ProbeAnswer>[settings.CleanSeeds];
        double answerTokens, exchangeTokens;
        await using (var served = await server.ServeAsync(teacher, watermarked: true, cancellationToken).ConfigureAwait(false))
        {
            harvest = await Harvest(served, prompts, settings.MaxTokens, harvestSeed).ConfigureAwait(false);
            answerTokens = Math.Max(1, HarvestPrompts.Tokens(harvest.Select(h => h.Answer)) / (double)Math.Max(1, harvest.Count));
            exchangeTokens = Math.Max(1, HarvestPrompts.Tokens(harvest.Select(h => h.Prompt + h.Answer)) / (double)Math.Max(1, harvest.Count));
            if (settings.Extended)
            {
                distilMarked = await Harvest(served, distilRequests, settings.MaxTokens, distilSeed, settings.TopLogprobs).ConfigureAwait(false);
                distilCapped = await Harvest(served, distilRequests, 32, distilSeed, settings.TopLogprobs).ConfigureAwait(false);
            }

            for (var seed = 1; seed <= settings.CleanSeeds; seed++)
            {
                // Our watermarked answers to this seed's own prompts: what the clean student reads in reading mode.
                var wanted = (int)Math.Ceiling(settings.CleanReadingTokens / answerTokens * 1.3) + 10;
                var readingPrompts = HarvestPrompts.FromBrown(wanted, (int)(CleanSeedBase(seed) % int.MaxValue) + 1, heldOut: false);
                cleanReading[seed - 1] = await Harvest(served, readingPrompts, settings.MaxTokens, CleanSeedBase(seed) + 1).ConfigureAwait(false);
            }
        }

        if (settings.Extended || settings.CleanSeeds > 0)
        {
            await using var served = await server.ServeAsync(teacher, watermarked: false, cancellationToken).ConfigureAwait(false);
            if (settings.Extended)
            {
                distilPlain = await Harvest(served, distilRequests, settings.MaxTokens, distilSeed, settings.TopLogprobs).ConfigureAwait(false);
                // The teacher's own (unwatermarked) answers to held-out prompts: what the students should imitate, and a
                // legitimate user's answers for the cost of a length cap.
                teacherAnswers = await Harvest(served, HarvestPrompts.FromBrown(settings.DistillabilityPrompts, settings.Seed, heldOut: true), settings.MaxTokens, harvestSeed + 900_000).ConfigureAwait(false);
            }

            for (var seed = 1; seed <= settings.CleanSeeds; seed++)
            {
                var sliceTokens = HarvestPrompts.Tokens(humanSlices[seed - 1]);
                var share = settings.CountermeasureShare;
                var wanted = (int)Math.Ceiling(share / (1 - share) * sliceTokens / exchangeTokens * 1.25) + 10;
                var trainingPrompts = HarvestPrompts.FromBrown(Math.Max(wanted, settings.CleanProbeAnswers), (int)(CleanSeedBase(seed) % int.MaxValue), heldOut: false);
                cleanHarvests[seed - 1] = await Harvest(served, trainingPrompts, settings.MaxTokens, CleanSeedBase(seed)).ConfigureAwait(false);
            }
        }

        var harvestTexts = harvest.Select(h => h.Prompt + h.Answer).ToArray();
        var servedWindows = ServedWindows.FromTexts(harvest.Select(h => h.Answer), parameters.ContextWidth);
        var harvestAudit = RadioactivityAudit.Run([.. harvest.Select(h => new AuditSample(h.Prompt, h.Answer))], key, new AuditOptions { Decoys = 0 }, "harvest");
        progress?.Invoke($"harvested {harvest.Count:N0} answers over HTTP ({harvestAudit.TokensSeen:N0} tokens, teacher green fraction {harvestAudit.GreenFraction:F3}) in {watch.Elapsed.TotalSeconds:F0} s");

        var heldOut = CorpusSplits.Tokenize(CorpusSplits.HeldOutBrown());
        // Supervised probes (research/watermark.md §A.5 step 2): the prompts the harvesting accounts sent, from the usage log.
        var probePrompts = Enumerable.Range(0, settings.ProbeAnswers).Select(i => prompts[i % prompts.Count]).ToArray();
        // Reading mode reads what we served that account: our watermarked answers.
        var servedAnswers = harvest.Select(h => h.Answer).ToArray();

        async Task<(RadioactivityReport Answers, RadioactivityReport? Filtered, RadioactivityReport? Reading, IReadOnlyList<AuditSample> Samples)> Audit(ILanguageModel model, IReadOnlyList<string> probes, IReadOnlyList<string> reading, int readingTokens, string name, long seed, int decoySeed, bool filtered)
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

            return (answers, servedFilter, read, samples);
        }

        var students = new List<StudentResult>();
        long legitimateRequests = 0;
        ILanguageModel? clean = null;
        async Task<(StudentResult Result, ILanguageModel Model)> Distil(IReadOnlyList<string> texts, double share, string label)
        {
            var (mixed, reached, harvestTokens, humanTokens) = StudentTraining.Mix(texts, share, human);
            var model = StudentTraining.Train(mixed, new StudentRecipe { Share = share, Order = settings.StudentOrder, Id = string.Create(CultureInfo.InvariantCulture, $"dg-student-{share:0.###}") });
            var perplexity = ModelEvaluation.Perplexity(model, heldOut);
            var name = string.Create(CultureInfo.InvariantCulture, $"student {reached:P1} watermarked{label}");
            var (unfiltered, filtered, reading, _) = await Audit(model, probePrompts, servedAnswers, settings.ReadingTokens, name, harvestSeed + 7, new AuditOptions().DecoySeed, filtered: true).ConfigureAwait(false);
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

            // Distillability: a student of the harvest alone, per harvesting condition. A full-capability distiller asks
            // for n answers per prompt and top-k logprobs and trains on the soft labels (SoftLabelStudent); each policy
            // reduction takes one capability away. Quality: held-out human perplexity, top-1 agreement with the teacher on
            // held-out text, and perplexity on the teacher's own answers to held-out prompts.
            var (contexts, teacherTop1) = Distillability.Reference(teacher, heldOut, settings.AgreementPositions);
            var teacherTexts = teacherAnswers.Select(a => a.Answer).ToArray();
            var legitimate = Distillability.LegitimateTrafficCost(new Simulation.ScenarioOptions { Seed = settings.Seed, IncludeAttackers = false });
            legitimateRequests = legitimate.Requests;
            var first = settings.DistillabilityPrompts;
            DistillabilityRow Row(string condition, IReadOnlyList<ProbeAnswer> answers, int requests, int choices, bool soft, string legitimateCost)
            {
                var texts = answers.Select(a => a.Prompt + a.Answer).ToArray();
                var text = StudentTraining.Train(texts, new StudentRecipe { Share = 1, Order = settings.StudentOrder });
                ILanguageModel model = soft ? SoftLabelStudent.Build(text, answers) : text;
                return new DistillabilityRow(condition, requests, choices, answers.Count, HarvestPrompts.Tokens(texts), soft, ModelEvaluation.Perplexity(model, heldOut), Distillability.Agreement(model, contexts, teacherTop1), Distillability.AnswerPerplexity(model, teacherTexts), legitimateCost);
            }

            // The watermark's cost: the unwatermarked teacher's perplexity of the answers we serve, against its own answers to
            // the same prompts with the same seeds.
            var markedPerplexity = Distillability.AnswerPerplexity(teacher, distilMarked.Take(first).Select(a => a.Answer));
            var plainPerplexity = Distillability.AnswerPerplexity(teacher, distilPlain.Take(first).Select(a => a.Answer));
            var (truncated, lost) = Distillability.CapCost(teacherTexts, 32);
            var n = settings.DistillabilitySamples;
            var throttled = distilMarked.Where((_, i) => i % first < first / 10).ToArray();
            var inv = CultureInfo.InvariantCulture;
            distillability.Add(Row(string.Create(inv, $"no defence (unwatermarked; n = {n}, top-{settings.TopLogprobs} logprobs, max_tokens {settings.MaxTokens})"), distilPlain, first, n, soft: true, "–"));
            distillability.Add(Row("watermark only (δ 2)", distilMarked, first, n, soft: true, string.Create(inv, $"answer PPL under the unwatermarked teacher {markedPerplexity:F1} vs {plainPerplexity:F1} unwatermarked ({(markedPerplexity / plainPerplexity) - 1:+0.0 %;-0.0 %})")));
            distillability.Add(Row("watermark + no logprobs (text only)", distilMarked, first, n, soft: false, string.Create(inv, $"{legitimate.LogprobRequests:P2} of legitimate requests ask for logprobs and get none")));
            distillability.Add(Row("watermark + capped length (max_tokens 32)", distilCapped, first, n, soft: true, string.Create(inv, $"{truncated:P1} of legitimate answers truncated, {lost:P1} of their tokens lost")));
            distillability.Add(Row("watermark + n = 1 (one answer per request)", [.. distilMarked.Take(first)], first, 1, soft: true, string.Create(inv, $"{legitimate.MultiChoiceRequests:P2} of legitimate requests ask for n > 1; {legitimate.ChoicesLost:P2} of legitimate choices lost")));
            distillability.Add(Row("watermark + throttled volume (10 % of the requests)", throttled, first / 10, n, soft: true, "none per answer; only accounts the ladder throttles pay (docs/policy.md)"));
            foreach (var row in distillability)
            {
                progress?.Invoke($"distillability: {row.Condition}: {row.HarvestTokens:N0} tokens, PPL {row.HeldOutPerplexity:F1}, agreement {row.TeacherAgreement:P1}, teacher-answer PPL {row.TeacherAnswerPerplexity:F1}");
            }
        }

        // Clean controls: students distilled from the teacher with its watermark off (each seed its own harvest, mixed at
        // the countermeasure share with its own disjoint slice of the human text), probed with its own prompts, reading its
        // own watermarked texts, each with its own 100 decoys.
        var cleanSeeds = new List<CleanSeedResult>();
        for (var seed = 1; seed <= settings.CleanSeeds; seed++)
        {
            var own = cleanHarvests[seed - 1];
            var (mixed, _, harvestTokens, humanTokens) = StudentTraining.Mix([.. own.Select(h => h.Prompt + h.Answer)], settings.CountermeasureShare, humanSlices[seed - 1]);
            var model = StudentTraining.Train(mixed, new StudentRecipe { Share = settings.CountermeasureShare, Order = settings.StudentOrder, Id = $"dg-clean-{seed}" });
            var probes = Enumerable.Range(0, settings.CleanProbeAnswers).Select(i => own[i % own.Count].Prompt).ToArray();
            var reading = cleanReading[seed - 1].Select(h => h.Answer).ToArray();
            var (answers, _, read, samples) = await Audit(model, probes, reading, settings.CleanReadingTokens, $"clean student, seed {seed}", harvestSeed + (seed * 100_003L), new AuditOptions().DecoySeed + seed, filtered: false).ConfigureAwait(false);
            // The same 100 decoy keys for every seed: the calibration of a KS test over seeds under one fixed key.
            var common = RadioactivityAudit.Run(samples, key, new AuditOptions { Decoys = settings.Decoys, DecoySeed = CommonDecoySeed }, "common decoys");
            cleanSeeds.Add(new CleanSeedResult(seed, answers, read) { HarvestTokens = harvestTokens, HumanTokens = humanTokens, CommonDecoyPValues = common.Decoys.FinalPValues });
            progress?.Invoke($"clean seed {seed}: {harvestTokens:N0} harvest + {humanTokens:N0} human tokens; p = {RadioactivityReportWriter.P(answers.Log10PFinal)} (decoy min {RadioactivityReportWriter.P(answers.Decoys.MinLog10P)}), reading p = {(read is null ? "–" : RadioactivityReportWriter.P(read.Log10PFinal))} ({watch.Elapsed.TotalSeconds:F0} s)");
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
            LegitimateRequests = legitimateRequests,
        };
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
            var sm = r.Settings;
            md.AppendLine().AppendLine(inv, $"Distillability: a student (order {sm.StudentOrder}) of the harvest alone, {sm.DistillabilityPrompts:N0} training prompts. The full-capability distiller sends each prompt {sm.DistillabilitySamples} times (seeded requests: the official .NET client cannot send `n`, and each choice of an n-choice request is distributed like one request) with `top_logprobs: {sm.TopLogprobs}` and trains on the soft labels (at every harvested context the averaged top-{sm.TopLogprobs} distribution, the rest of the mass spread by its text-trained model: `SoftLabelStudent`); each reduction takes one capability away. Quality: perplexity on held-out Brown (lower is better), top-1 agreement with the teacher's next token at {sm.AgreementPositions:N0} held-out positions, and perplexity on the unwatermarked teacher's answers to {sm.DistillabilityPrompts:N0} held-out prompts (lower: imitates the teacher better). Cost to a legitimate user: the watermark as the unwatermarked teacher's perplexity of our answers; the cap on the teacher's answers to the held-out prompts; logprobs and n on the simulator's legitimate traffic ({r.LegitimateRequests:N0} successful requests of a simulated week, seed {sm.Seed}).").AppendLine();
            md.AppendLine("| harvesting condition | requests × answers each | answers | harvest tokens | soft labels | student PPL (held-out Brown) | top-1 agreement with teacher | PPL on teacher's answers | cost to a legitimate user |").AppendLine("|---|---:|---:|---:|---|---:|---:|---:|---|");
            foreach (var row in r.Distillability)
            {
                md.AppendLine(inv, $"| {row.Condition} | {row.Requests:N0} × {row.ChoicesPerRequest} | {row.Answers:N0} | {row.HarvestTokens:N0} | {(row.SoftLabels ? "yes" : "no")} | {row.HeldOutPerplexity:F1} | {row.TeacherAgreement:P1} | {row.TeacherAnswerPerplexity:F1} | {row.LegitimateCost} |");
            }
        }

        if (r.CleanSeeds.Count > 0)
        {
            md.AppendLine().AppendLine(inv, $"Clean students over {r.CleanSeeds.Count} seeds: each is distilled from its own harvest of dg-teacher **with its watermark off** (its own prompts and sampling seeds; {r.Settings.CountermeasureShare:P0} of its tokens) mixed with its own slice of the human text (the Brown training paragraphs split into {r.CleanSeeds.Count} disjoint slices), so 0 % of its training data carries our watermark and no two seeds share training data; each seed is probed with its own prompts, reads its own watermarked answers (our teacher's answers to prompts of its own) and has its own 100 decoy keys. p is the final uncorrected p under our key; decoy min p is the smallest corrected p of the 100 decoys.").AppendLine();
            md.AppendLine("| seed | harvest / human tokens | tuples scored | green fraction | p | p (corrected) | decoy min p / KS p / rank | reading: tuples | green fraction | p | p (corrected) | decoy min p / KS p / rank |").AppendLine("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|");
            foreach (var c in r.CleanSeeds)
            {
                var a = c.Answers;
                var g = c.Reading;
                md.AppendLine(string.Create(inv, $"| {c.Seed} | {c.HarvestTokens:N0} / {c.HumanTokens:N0} | {a.TokensScored:N0} | {a.GreenFraction:F4} | {P(a.Log10PFinal)} | {P(a.Log10P)} | {P(a.Decoys.MinLog10P)} / {a.Decoys.KsPValue:F2} / {a.Decoys.TrueKeyRank} | ") + (g is null ? "– | – | – | – | –" : string.Create(inv, $"{g.TokensScored:N0} | {g.GreenFraction:F4} | {P(g.Log10PFinal)} | {P(g.Log10P)} | {P(g.Decoys.MinLog10P)} / {g.Decoys.KsPValue:F2} / {g.Decoys.TrueKeyRank}")) + " |");
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
                var interval = BinomialInterval.Of(above, reports.Length);
                var (d, ksP) = KolmogorovSmirnov.AgainstUniform([.. reports.Select(x => Math.Pow(10, x.Log10PFinal))]);
                md.AppendLine(inv, $"| {label} | {reports.Length} | {above} | {above / (double)reports.Length:P0} ({interval.Lower:P0} … {interval.Upper:P0}) | {d:F3} ({ksP:F2}) | {reports.Count(x => x.Log10PFinal < Math.Log10(0.05))} | {reports.Count(x => x.Radioactive)} |");
            }
        }

        if (r.CleanSeeds.Count > 1 && r.CleanSeeds.All(c => c.CommonDecoyPValues.Count > 0))
        {
            // KS over seeds under each shared decoy key: how often a KS test over these seeds rejects at 5 % when the key is
            // unrelated to every student, i.e. the test's real false-positive rate on these seeds.
            var decoyCount = r.CleanSeeds.Min(c => c.CommonDecoyPValues.Count);
            var ks = Enumerable.Range(0, decoyCount).Select(j => KolmogorovSmirnov.AgainstUniform([.. r.CleanSeeds.Select(c => c.CommonDecoyPValues[j])])).ToArray();
            var (trueD, _) = KolmogorovSmirnov.AgainstUniform([.. r.CleanSeeds.Select(c => Math.Pow(10, c.Answers.Log10PFinal))]);
            var ds = ks.Select(k => k.D).Order().ToArray();
            md.AppendLine().AppendLine(inv, $"Calibration of the KS test over seeds (answers test): the same {decoyCount} decoy keys scored on every seed's answers; KS over the {r.CleanSeeds.Count} seeds rejects uniformity at 5 % for **{ks.Count(k => k.PValue < 0.05)} of {decoyCount}** decoy keys (median D {ds[ds.Length / 2]:F3}, 95th percentile {ds[Math.Min(ds.Length - 1, (int)(0.95 * ds.Length))]:F3}); our key's D {trueD:F3} is exceeded by {ds.Count(d => d >= trueD)} of them. Under one fixed key the seeds' p-values share the green bits of the tuples every student writes (common English), so a KS test over seeds is valid only if about 5 % of decoy keys fail it.");
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
