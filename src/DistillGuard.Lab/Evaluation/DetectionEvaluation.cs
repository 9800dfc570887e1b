using System.Diagnostics;
using System.Globalization;
using DistillGuard.Detection.Calibration;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.Simulation;

namespace DistillGuard.Lab.Evaluation;

/// <summary>What to evaluate: which seeds calibrate, which are scored, and how big each scenario is.</summary>
public sealed class EvaluationOptions
{
    public IReadOnlyList<int> CalibrationSeeds { get; set; } = [1, 2, 3];

    /// <summary>Seeds scored; never the calibration seeds.</summary>
    public IReadOnlyList<int> EvaluationSeeds { get; set; } = [11, 12, 13];

    public double Scale { get; set; } = 1;

    /// <summary>Multiplies attacker archetypes' account counts in scored scenarios (tighter intervals; benign traffic unchanged).</summary>
    public double AttackerScale { get; set; } = 4;

    /// <summary>
    /// Multiplies the account counts of rare legitimate archetypes (fewer than <see cref="RareAccounts"/> at scale 1: researchers,
    /// batch jobs, support bots, translation pipelines, red-teamers, licensed customers) in scored scenarios, so each has enough
    /// account-weeks to say something about its false-flag rate. Calibration traffic has its own multiplier, <see cref="CalibrationRareLegitimateScale"/>.
    /// </summary>
    public double RareLegitimateScale { get; set; } = 1;

    /// <summary>
    /// The same multiplier for the calibration traffic (default 1), so the benign reference and the held-out weeks hold
    /// as many researchers, batch jobs and support bots as are scored, instead of the dozen a scale-1 week has.
    /// </summary>
    public double CalibrationRareLegitimateScale { get; set; } = 1;

    /// <summary>Legitimate archetypes with fewer default accounts than this count as rare.</summary>
    public const int RareAccounts = 100;

    public TimeSpan Duration { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long after its first flag a human reviewer closes an attacker's account in the cost-of-extraction model
    /// (the policy evaluation's default review delay). The detector itself never closes anything.
    /// </summary>
    public TimeSpan ReviewDelay { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Target FPRs of the reported operating points.</summary>
    public IReadOnlyList<double> TargetFprs { get; set; } = [1e-4, 1e-3, 1e-2];

    public Action<string>? Progress { get; set; }

    /// <summary>When true, the report lists every scored account's outcome (for analysis; large).</summary>
    public bool IncludeAccounts { get; set; }

    /// <summary>Throws when the seed sets overlap or are too small.</summary>
    public void Validate()
    {
        if (CalibrationSeeds.Count == 0 || EvaluationSeeds.Count == 0)
        {
            throw new ArgumentException("Both seed sets need at least one seed.");
        }

        if (CalibrationSeeds.Intersect(EvaluationSeeds).Any())
        {
            throw new ArgumentException("Calibration and evaluation seeds must differ: the detector is never scored on what it was fitted on.");
        }

        if (Duration <= TimeSpan.Zero || ReviewDelay < TimeSpan.Zero || Scale <= 0 || AttackerScale <= 0 || RareLegitimateScale <= 0 || CalibrationRareLegitimateScale <= 0)
        {
            throw new ArgumentException("Duration and scales must be positive, and the review delay not negative.");
        }
    }
}

/// <summary>Calibrates on some simulator seeds and scores the detector on others: detection, false flags, harvest before the flag.</summary>
public static class DetectionEvaluation
{
    private const string NaiveHarvester = "naive-harvester";
    private const int TimelinesPerArchetype = 2;

    /// <summary>The naive-harvester target counts accounts flagged within their first this many requests.</summary>
    public const int FirstRequests = 1000;

    /// <summary>Runs the evaluation (minutes at scale 1).</summary>
    public static EvaluationReport Run(EvaluationOptions options)
    {
        options.Validate();
        var watch = Stopwatch.StartNew();
        var (calibration, builder) = SimulatedCalibration.Fit(options.CalibrationSeeds, seed => Scenario(options, seed, attackers: false), options.Progress);
        var pooled = calibration.ThresholdsFor(Cohorts.All);
        var tracks = new Dictionary<string, AccountTrack>(StringComparer.Ordinal);
        long events = 0;
        foreach (var seed in options.EvaluationSeeds)
        {
            var scenario = Scenario(options, seed, attackers: true);
            var accounts = TrafficSimulator.Accounts(scenario).ToDictionary(a => a.Id, StringComparer.Ordinal);
            foreach (var account in accounts.Values)
            {
                tracks[Key(seed, account.Id)] = new AccountTrack(account);
            }

            var engine = new DetectionEngine(calibration);
            var stream = TrafficSimulator.Generate(scenario).Select(e =>
            {
                events++;
                var track = tracks[Key(seed, e.Event.AccountId!)];
                track.Requests++;
                track.FirstSeen ??= e.Event.Timestamp;
                if (e.IsAttacker)
                {
                    track.AttackRequests++;
                    if (track.FirstReviewAt is not { } flaggedAt || e.Event.Timestamp <= flaggedAt + options.ReviewDelay)
                    {
                        track.AttackRequestsBeforeClosure++;
                    }
                }

                return e.Event;
            });
            var sampled = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var snapshot in TrafficReplay.Snapshots(engine, stream, SimulatedCalibration.Tick, id => SimulatedCalibration.Profile(accounts, id)))
            {
                var track = tracks[Key(seed, snapshot.AccountId)];
                var assessment = RiskScoring.Assess(snapshot.AccountId, snapshot.Time, snapshot.Cohort, snapshot.Features, calibration, engine.Options);
                if (track.Timeline is null && seed == options.EvaluationSeeds[0] && sampled.GetValueOrDefault(track.Account.Archetype) < TimelinesPerArchetype)
                {
                    sampled[track.Account.Archetype] = sampled.GetValueOrDefault(track.Account.Archetype) + 1;
                    track.Timeline = [];
                }

                track.Add(assessment, snapshot, CalibrationBuilder.Week(snapshot.Time, scenario.Start), scenario.Start);
            }

            options.Progress?.Invoke($"evaluation seed {seed}: {accounts.Count} accounts scored");
        }

        var all = tracks.Values.ToList();
        var benign = all.Where(t => !t.Account.IsAttacker && !t.Account.Authorised).ToList();
        var attackers = all.Where(t => t.Account.IsAttacker).ToList();
        var benignWeeks = benign.SelectMany(t => t.WeekMax.Values).ToList();
        var attackerMax = attackers.Select(t => t.MaxEvidence).ToList();

        var operatingPoints = options.TargetFprs.Select(alpha =>
        {
            var threshold = builder.ThresholdAt(alpha);
            return new OperatingPoint(alpha, threshold,
                BinomialInterval.Of(attackerMax.Count(s => s >= threshold), attackerMax.Count),
                BinomialInterval.Of(benignWeeks.Count(s => s >= threshold), benignWeeks.Count));
        }).ToList();

        var archetypes = TrafficSimulator.Archetypes.Select(name => Summarise(name, all.Where(t => t.Account.Archetype == name).ToList())).Where(r => r.Accounts > 0).ToList();
        var naive = all.Where(t => t.Account.Archetype == NaiveHarvester && t.FirstReview is not null).ToList();
        var naiveRequests = Median(naive.Select(t => (double)t.FirstReview!.Value.Requests));
        var naiveHours = Median(naive.Select(t => t.FirstReview!.Value.Hours));
        var adaptive = new[] { NaiveHarvester, "paraphrasing-adaptive", "timing-mimic", "low-and-slow", "hydra-fleet" }
            .Where(TrafficSimulator.Archetypes.Contains)
            .Select(name =>
            {
                var group = all.Where(t => t.Account.Archetype == name).ToList();
                var flagged = group.Where(t => t.FirstReview is not null).ToList();
                var requests = Median(flagged.Select(t => (double)t.FirstReview!.Value.Requests));
                var hours = Median(flagged.Select(t => t.FirstReview!.Value.Hours));
                var (multiplier, lower, upper) = ExtractionCost(group);
                return new AdaptiveCost(name, BinomialInterval.Of(flagged.Count, group.Count),
                    Ratio(requests, naiveRequests),
                    Ratio(hours, naiveHours),
                    // Account-hours spent per answer harvested before the flag (hours / requests), over the naive harvester's.
                    Ratio(hours / requests, naiveHours / naiveRequests),
                    Median(group.Select(t => (double)t.AttackRequests)),
                    Median(group.Select(t => (double)t.AttackRequestsBeforeClosure)),
                    multiplier, lower, upper);
            }).ToList();

        var resellers = all.Where(t => t.Account.Archetype == "reseller" && t.Requests > 0).ToList();
        var shares = new (string Band, double Lo, double Hi)[] { ("< 7.5 % (≈ 5 %)", 0, 0.075), ("7.5–15 % (≈ 10 %)", 0.075, 0.15), ("15–35 % (≈ 25 %)", 0.15, 0.35), ("≥ 35 % (≈ 50 %)", 0.35, 1.01) }
            .Select(b =>
            {
                var group = resellers.Where(t => t.AttackShare >= b.Lo && t.AttackShare < b.Hi).ToList();
                return new ResellerShareResult(b.Band, BinomialInterval.Of(group.Count(t => t.FirstReview is { Requests: <= 1500 }), group.Count));
            }).Where(r => r.FlaggedWithin1500.Trials > 0).ToList();

        return new EvaluationReport
        {
            CalibrationSeeds = options.CalibrationSeeds,
            EvaluationSeeds = options.EvaluationSeeds,
            Scale = options.Scale,
            AttackerScale = options.AttackerScale,
            RareLegitimateScale = options.RareLegitimateScale,
            CalibrationRareLegitimateScale = options.CalibrationRareLegitimateScale,
            Days = options.Duration.TotalDays,
            ReviewHours = options.ReviewDelay.TotalHours,
            CalibrationSource = calibration.Source,
            ReviewThreshold = Math.Round(pooled.Review, 3),
            FrictionThreshold = Math.Round(pooled.Friction, 3),
            CalibrationHeldOutAccountWeeks = builder.HeldOutWeekMaxima.Length,
            ReviewThresholdPopulation = builder.BindingPopulation(RiskThresholds.ReviewBudget),
            PopulationThresholds = [.. builder.PopulationWeekMaxima.Append(new("all legitimate", builder.HeldOutWeekMaxima)).Select(p =>
            {
                var fit = RiskThresholds.Fit(p.Value);
                return new PopulationThreshold(p.Key, p.Value.Length, Math.Round(fit.Review, 3), Math.Round(p.Value[^1], 3));
            })],
            Events = events,
            Seconds = Math.Round(watch.Elapsed.TotalSeconds, 1),
            Archetypes = archetypes,
            OperatingPoints = operatingPoints,
            ResellerShares = shares,
            AdaptiveCosts = adaptive,
            BenignReview = BinomialInterval.Of(benign.Sum(t => t.ReviewWeeks.Count), benign.Sum(t => t.WeekMax.Count)),
            BenignFriction = BinomialInterval.Of(benign.Sum(t => t.FrictionWeeks.Count), benign.Sum(t => t.WeekMax.Count)),
            AttackerReview = BinomialInterval.Of(attackers.Count(t => t.FirstReview is not null), attackers.Count),
            Roc = Roc(benignWeeks, all),
            Timelines = [.. all.Where(t => t.Timeline is { Count: > 0 }).Select(t => new ScoreTimeline(t.Account.Archetype, t.Account.IsAttacker, t.Timeline!))],
            Accounts = options.IncludeAccounts
                ? [.. tracks.Select(p => new AccountOutcome(p.Key, p.Value.Account.Archetype, p.Value.Account.IsAttacker, p.Value.Account.Tier, p.Value.Requests,
                    Math.Round(p.Value.MaxEvidence, 3), p.Value.FirstReview?.Requests, p.Value.FirstReview is { } f ? Math.Round(f.Hours, 2) : null, p.Value.FirstReasons,
                    p.Value.ReviewWeeks.Count, p.Value.WeekMax.Count, p.Value.FirstDetails))]
                : null,
        };
    }

    private static ScenarioOptions Scenario(EvaluationOptions options, int seed, bool attackers)
    {
        var scenario = new ScenarioOptions { Seed = seed, Duration = options.Duration, Scale = options.Scale, IncludeAttackers = attackers };
        if (attackers && (options.AttackerScale != 1 || options.RareLegitimateScale != 1))
        {
            scenario.AccountsPerArchetype = ScaledCounts(options.Scale, options.AttackerScale, options.RareLegitimateScale);
        }
        else if (!attackers && options.CalibrationRareLegitimateScale != 1)
        {
            scenario.AccountsPerArchetype = ScaledCounts(options.Scale, 1, options.CalibrationRareLegitimateScale);
        }

        return scenario;
    }

    /// <summary>
    /// Account counts per archetype at <paramref name="scale"/> with attackers multiplied by <paramref name="attackerScale"/>
    /// and rare legitimate archetypes (fewer than <see cref="EvaluationOptions.RareAccounts"/> at scale 1) by <paramref name="rareLegitimateScale"/>.
    /// </summary>
    public static Dictionary<string, int> ScaledCounts(double scale, double attackerScale, double rareLegitimateScale)
    {
        int Scaled(string archetype, double factor) => Math.Max(1, (int)Math.Round(TrafficSimulator.AccountCount(archetype, new ScenarioOptions { Scale = scale }) * factor));
        var counts = TrafficSimulator.AttackerArchetypes.ToDictionary(a => a, a => Scaled(a, attackerScale));
        foreach (var legit in TrafficSimulator.LegitimateArchetypes.Where(a => TrafficSimulator.AccountCount(a, new ScenarioOptions { Scale = 1 }) < EvaluationOptions.RareAccounts))
        {
            counts[legit] = Scaled(legit, rareLegitimateScale);
        }

        return counts;
    }

    private static ArchetypeResult Summarise(string name, List<AccountTrack> group)
    {
        var attacker = group.Count > 0 && group[0].Account.IsAttacker;
        var authorised = group.Count > 0 && group[0].Account.Authorised;
        var weeks = group.Sum(t => t.WeekMax.Count);
        var flagged = group.Where(t => t.FirstReview is not null).ToList();
        var review = attacker ? BinomialInterval.Of(flagged.Count, group.Count) : BinomialInterval.Of(group.Sum(t => t.ReviewWeeks.Count), weeks);
        var friction = attacker ? BinomialInterval.Of(group.Count(t => t.FrictionWeeks.Count > 0), group.Count) : BinomialInterval.Of(group.Sum(t => t.FrictionWeeks.Count), weeks);
        var reasons = flagged.SelectMany(t => t.FirstReasons).GroupBy(r => r).OrderByDescending(g => g.Count()).Take(3).Select(g => g.Key).ToList();
        var within = BinomialInterval.Of(group.Count(t => t.FirstReview is { Requests: <= FirstRequests }), group.Count);
        return new ArchetypeResult(name, attacker, authorised, group.Count, weeks, group.Sum(t => (long)t.Requests), review, friction, within,
            Median(flagged.Select(t => (double)t.FirstReview!.Value.Requests)),
            Quantile(flagged.Select(t => (double)t.FirstReview!.Value.Requests), 0.9),
            Median(flagged.Select(t => (double)t.FirstReview!.Value.Tokens)),
            Median(flagged.Select(t => t.FirstReview!.Value.Hours)),
            Median(group.Select(t => (double)t.Requests)),
            Median(group.Select(t => t.MaxEvidence)) ?? 0,
            reasons);
    }

    private static Dictionary<string, IReadOnlyList<(double, double)>> Roc(List<double> benignWeeks, List<AccountTrack> all)
    {
        var result = new Dictionary<string, IReadOnlyList<(double, double)>>(StringComparer.Ordinal);
        var benign = benignWeeks.Order().ToArray();
        void Add(string name, IReadOnlyList<double> positives)
        {
            if (positives.Count == 0 || benign.Length == 0)
            {
                return;
            }

            var points = new List<(double, double)>();
            // At most ~600 thresholds: every distinct positive score and a quantile grid over the benign ones.
            var grid = Enumerable.Range(0, 400).Select(i => benign[(int)((long)i * (benign.Length - 1) / 399)]);
            foreach (var threshold in grid.Concat(benign[^Math.Min(100, benign.Length)..]).Concat(positives).Append(double.PositiveInfinity).Distinct().Order())
            {
                var fpr = benign.Count(s => s >= threshold) / (double)benign.Length;
                var tpr = positives.Count(s => s >= threshold) / (double)positives.Count;
                points.Add((fpr, tpr));
            }

            result[name] = points;
        }

        Add("all attackers", [.. all.Where(t => t.Account.IsAttacker).Select(t => t.MaxEvidence)]);
        foreach (var group in all.Where(t => t.Account.IsAttacker).GroupBy(t => t.Account.Archetype))
        {
            Add(group.Key, [.. group.Select(t => t.MaxEvidence)]);
        }

        return result;
    }

    private static string Key(int seed, string account) => $"{seed}/{account}";

    /// <summary>
    /// The cost of extraction with the detector over without it, as SEAT counts it: accounts needed for a given number
    /// of harvested answers. Without the detector an account keeps every answer it asks for over the run; with it, the
    /// account is closed <see cref="EvaluationOptions.ReviewDelay"/> after its first flag, so it keeps those sent until
    /// then (all of them if never flagged). Pooled over the archetype's accounts (answers without / answers before
    /// closure), with a 95 % percentile-bootstrap interval over accounts (2,000 resamples, fixed seed).
    /// </summary>
    private static (double? Multiplier, double? Lower, double? Upper) ExtractionCost(List<AccountTrack> group)
    {
        static double? Pooled(IEnumerable<AccountTrack> tracks)
        {
            long without = 0, with = 0;
            foreach (var t in tracks)
            {
                without += t.AttackRequests;
                with += t.AttackRequestsBeforeClosure;
            }

            return with > 0 ? (double)without / with : null;
        }

        if (Pooled(group) is not { } pooled)
        {
            return (null, null, null);
        }

        const int Resamples = 2000;
        var random = new Random(20261126);
        var draws = new List<double>(Resamples);
        var sample = new AccountTrack[group.Count];
        for (var r = 0; r < Resamples; r++)
        {
            for (var i = 0; i < sample.Length; i++)
            {
                sample[i] = group[random.Next(group.Count)];
            }

            if (Pooled(sample) is { } value)
            {
                draws.Add(value);
            }
        }

        return (Math.Round(pooled, 2), Quantile(draws, 0.025) is { } lo ? Math.Round(lo, 2) : null, Quantile(draws, 0.975) is { } hi ? Math.Round(hi, 2) : null);
    }

    private static double? Ratio(double? a, double? b) => a is { } x && b is { } y && y > 0 ? Math.Round(x / y, 2) : null;

    private static double? Median(IEnumerable<double> values) => Quantile(values, 0.5);

    private static double? Quantile(IEnumerable<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? null : sorted[(int)Math.Round(q * (sorted.Length - 1))];
    }

    /// <summary>What the evaluation remembers about one scored account.</summary>
    private sealed class AccountTrack(SimulatedAccount account)
    {
        public SimulatedAccount Account { get; } = account;
        public int Requests;
        public int AttackRequests;
        public int AttackRequestsBeforeClosure;
        public DateTimeOffset? FirstReviewAt;
        public DateTimeOffset? FirstSeen;
        public double MaxEvidence;
        public readonly Dictionary<long, double> WeekMax = [];
        public readonly HashSet<long> ReviewWeeks = [];
        public readonly HashSet<long> FrictionWeeks = [];
        public (long Requests, long Tokens, double Hours)? FirstReview;
        public IReadOnlyList<string> FirstReasons = [];
        public IReadOnlyList<string> FirstDetails = [];
        public List<(double Days, double Score)>? Timeline;

        public double AttackShare => Requests == 0 ? 0 : (double)AttackRequests / Requests;

        public void Add(AccountAssessment assessment, AccountSnapshot snapshot, long week, DateTimeOffset start)
        {
            // Evidence below the minimum request count cannot flag, so it does not count on the ROC either.
            var evidence = assessment.Level == "insufficient_evidence" ? 0 : assessment.Evidence;
            MaxEvidence = Math.Max(MaxEvidence, evidence);
            WeekMax[week] = Math.Max(WeekMax.GetValueOrDefault(week), evidence);
            if (assessment.Flagged)
            {
                ReviewWeeks.Add(week);
                if (FirstReview is null)
                {
                    FirstReview = (snapshot.TotalRequests, snapshot.TotalCompletionTokens, (snapshot.Time - (FirstSeen ?? start)).TotalHours);
                    FirstReviewAt = snapshot.Time;
                    FirstReasons = [.. assessment.Reasons.Take(3).Select(r => r.Code)];
                    FirstDetails = [.. assessment.Reasons.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Code} +{r.Evidence:F2} (S {assessment.Evidence:F2}): {r.Detail}"))];
                }
            }

            if (assessment.Level == "friction")
            {
                FrictionWeeks.Add(week);
            }

            Timeline?.Add(((snapshot.Time - start).TotalDays, assessment.Score));
        }
    }
}
