using DistillGuard.Detection.Calibration;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Usage;

namespace DistillGuard.Detection.Tests.Engine;

public sealed class DetectionEngineTests
{
    private static readonly Lazy<DetectionCalibration> CasualCalibration = new(() =>
    {
        // 600 casual accounts over two weeks: half for references, half for thresholds (by account hash).
        var engine = new DetectionEngine(new DetectionCalibration());
        var builder = new CalibrationBuilder();
        var traffic = SyntheticTraffic.Merge([.. Enumerable.Range(0, 600).Select(i => SyntheticTraffic.Casual($"casual-{i}", i, days: 14))]);
        foreach (var snapshot in TrafficReplay.Snapshots(engine, traffic, TimeSpan.FromHours(1)))
        {
            builder.Add(snapshot);
        }

        return builder.Build("synthetic casual users", SyntheticTraffic.Start, SyntheticTraffic.Start);
    });

    [Theory]
    [InlineData("acct", "chat.completions", true)]
    [InlineData("acct", "completions", true)]
    [InlineData("acct", "models", false)]
    [InlineData("", "chat.completions", false)]
    [InlineData(null, "chat.completions", false)]
    public void Counts_AccountCompletionsOnly_AndRequestCountFollowsIt(string? account, string endpoint, bool counted)
    {
        var e = new UsageEvent { RequestId = "r1", Timestamp = SyntheticTraffic.Start, AccountId = account, Endpoint = endpoint, Model = "dg-teacher", Status = 200 };
        var engine = new DetectionEngine(new DetectionCalibration());

        engine.Observe(e);

        Assert.Equal(counted, DetectionEngine.Counts(e));
        Assert.Equal(counted ? 1 : 0, engine.RequestCount("acct"));
    }

    [Fact]
    public void Milestones_AreTwoPerDoubling_FromTen()
    {
        var milestones = Enumerable.Range(1, 4000).Where(n => TrafficReplay.IsMilestone(n)).ToArray();
        Assert.Equal([10, 14, 20, 28, 40, 57, 80, 113, 160, 226, 320, 453, 640, 905, 1280, 1810, 2560, 3620], milestones);
    }

    [Fact]
    public void Snapshots_BurstBetweenTicks_IsSampledAtEachMilestone()
    {
        // A benchmark run of 300 items at 1.5 s pacing, over in 7.5 minutes: the hourly tick alone would see it once, at 300.
        var engine = new DetectionEngine(new DetectionCalibration());
        var events = new List<UsageEvent>();
        var id = 0;
        for (var i = 0; i < 300; i++)
        {
            events.Add(SyntheticTraffic.Event("lab", ref id, SyntheticTraffic.Start.AddMinutes(1).AddSeconds(1.5 * i), $"Item {i}: literal or figurative?", 1, 1));
        }

        var snapshots = TrafficReplay.Snapshots(engine, events, TimeSpan.FromHours(1)).ToList();
        Assert.Equal([10, 14, 20, 28, 40, 57, 80, 113, 160, 226, 300], snapshots.Select(s => s.Features.Requests));
        Assert.Equal(SyntheticTraffic.Start.AddMinutes(1).AddSeconds(1.5 * 9), snapshots[0].Time);
        Assert.Equal(SyntheticTraffic.Start.AddHours(1), snapshots[^1].Time);
    }

    [Fact]
    public void Build_RarePopulationInTheBenignTail_IsHeldToTheBudgetToo()
    {
        // 400 casual users and 80 heavy "labs" (templated reasoning traffic): the labs are a sixth of the held-out weeks
        // and all of the tail, so a pooled quantile alone sits among them and spends the budget on them.
        var engine = new DetectionEngine(new DetectionCalibration());
        var labelled = new CalibrationBuilder();
        var pooledOnly = new CalibrationBuilder();
        var traffic = SyntheticTraffic.Merge([
            .. Enumerable.Range(0, 400).Select(i => SyntheticTraffic.Casual($"casual-{i}", i, days: 7)),
            .. Enumerable.Range(0, 80).Select(i => SyntheticTraffic.Harvester($"lab-{i}", 1_000 + i, 200 + (5 * i), TimeSpan.FromHours(6 + (i % 24)), SyntheticTraffic.Start.AddHours(i)))]);
        foreach (var snapshot in TrafficReplay.Snapshots(engine, traffic, TimeSpan.FromHours(1)))
        {
            labelled.Add(snapshot, snapshot.AccountId.StartsWith("lab-", StringComparison.Ordinal) ? "lab" : "casual");
            pooledOnly.Add(snapshot);
        }

        var calibration = labelled.Build("test", SyntheticTraffic.Start, SyntheticTraffic.Start);
        var pooled = pooledOnly.Build("test", SyntheticTraffic.Start, SyntheticTraffic.Start);
        var labWeeks = labelled.PopulationWeekMaxima["lab"];
        Assert.InRange(labWeeks.Length, CalibrationBuilder.MinPopulationWeeks, 80);

        // At a 5 % budget the samples are large enough for empirical quantiles: 5 % of all weeks lie above the pooled
        // threshold, but more than twice that share of the labs' weeks; with the labs held to it as well, at most 5 % do.
        var pooledAt5 = RiskThresholds.ThresholdAt(labelled.HeldOutWeekMaxima, 0.05);
        var labelledAt5 = labelled.ThresholdAt(0.05);
        Assert.True(labWeeks.Count(w => w >= pooledAt5) > 2 * 0.05 * labWeeks.Length, $"{labWeeks.Count(w => w >= pooledAt5)} of {labWeeks.Length} lab weeks above the pooled threshold");
        Assert.True(labWeeks.Count(w => w >= labelledAt5) <= 0.05 * labWeeks.Length);
        Assert.Equal("lab", labelled.BindingPopulation(0.05));

        var review = calibration.ThresholdsFor(Cohorts.All).Review;
        Assert.True(review >= labWeeks[^1], "a population's own fit never falls below its largest held-out week");
        Assert.True(review >= pooled.ThresholdsFor(Cohorts.All).Review);
        Assert.Equal(review, labelled.ThresholdAt(RiskThresholds.ReviewBudget), 9);
        Assert.True(calibration.ThresholdsFor(Cohorts.All).Friction >= review);
    }

    [Fact]
    public void Detect_TemplatedReasoningHarvester_FlagsAccountWithReasons()
    {
        var engine = new DetectionEngine(CasualCalibration.Value);
        foreach (var e in SyntheticTraffic.Merge(SyntheticTraffic.Harvester("harvester", 1, 800, TimeSpan.FromDays(2)), SyntheticTraffic.Casual("casual-x", 99_999, days: 2)))
        {
            engine.Observe(e);
        }

        var now = SyntheticTraffic.Start.AddDays(2);
        var harvester = engine.Assess("harvester", now)!;
        var casual = engine.Assess("casual-x", now)!;
        Assert.True(harvester.Flagged, $"evidence {harvester.Evidence}");
        Assert.Equal("friction", harvester.Level);
        Assert.True(harvester.Reasons.Count >= 3);
        Assert.Contains(harvester.Reasons, r => r.Code == "elicitation_share");
        Assert.All(harvester.Reasons, r => Assert.InRange(r.Percentile!.Value, 90, 100));
        Assert.False(casual.Flagged);
        Assert.True(harvester.Score > casual.Score);
    }

    [Fact]
    public void Detect_RequestsThePolicyRefused_DoNotDiluteTheEvidence_ButOtherErrorsCount()
    {
        // A harvester asked to verify keeps sending: 800 refusals (403, no answer) on top of its 800 answered requests.
        var harvest = SyntheticTraffic.Harvester("harvester", 1, 800, TimeSpan.FromDays(2)).ToList();
        var id = 0;
        var refused = harvest.Select(e => SyntheticTraffic.Event("harvester", ref id, e.Timestamp.AddMilliseconds(500), e.PromptText, 0, e.MaxTokens) with
        {
            Status = 403,
            ErrorCode = PolicyRefusals.VerificationRequired,
        }).ToList();
        var now = SyntheticTraffic.Start.AddDays(2);
        var alone = new DetectionEngine(CasualCalibration.Value);
        var withRefusals = new DetectionEngine(CasualCalibration.Value);
        var withBadRequests = new DetectionEngine(CasualCalibration.Value);
        foreach (var e in harvest)
        {
            alone.Observe(e);
            withRefusals.Observe(e);
            withBadRequests.Observe(e);
        }

        foreach (var e in refused)
        {
            withRefusals.Observe(e);
            withBadRequests.Observe(e with { Status = 400, ErrorCode = "invalid_request_error" });
        }

        Assert.False(DetectionEngine.Counts(refused[0]));
        Assert.True(refused[0].RefusedByPolicy);
        Assert.Equal(alone.Assess("harvester", now)!.Evidence, withRefusals.Assess("harvester", now)!.Evidence);
        Assert.Equal(alone.RequestCount("harvester"), withRefusals.RequestCount("harvester"));
        Assert.Equal(2 * alone.RequestCount("harvester"), withBadRequests.RequestCount("harvester"));
    }

    [Fact]
    public void Features_GradedShortAnswers_AreNotLongOutputs_AndTokensCountPerChoice()
    {
        // A benchmark harness: 1-token multiple-choice answers (cut at max_tokens 1) and n = 8 samples of short answers.
        var events = new List<UsageEvent>();
        var id = 0;
        for (var i = 0; i < 40; i++)
        {
            var time = SyntheticTraffic.Start.AddSeconds(2 * i);
            events.Add(SyntheticTraffic.Event("eval", ref id, time, $"Which word matches the definition of item {i}? A) x B) y\nAnswer:", 1, 1, logprobs: true));
            events.Add(SyntheticTraffic.Event("eval", ref id, time.AddSeconds(1), $"Question {i}: literal or figurative? Think step by step.", 8 * 300, 512, n: 8));
        }

        var features = FeaturesOf(events, "eval", SyntheticTraffic.Start.AddHours(1));
        Assert.Equal(0, features[DetectorKind.LongOutputShare]);
        Assert.Equal(0, features[DetectorKind.ReasoningHarvestShare]);
        Assert.Equal(0.5, features[DetectorKind.LogprobShare]);
        Assert.Equal((40 * 1) + (40 * 300), features[DetectorKind.TokensOutDay]);
    }

    [Fact]
    public void Features_SamplingSweep_CountsNewSettings_NotAnApplicationsFewCallSites()
    {
        // An application: two call sites with fixed settings, 200 requests. A prober: temperatures 0..2 in steps of 0.25,
        // top_logprobs 5 and 20, n 1 and 8, cycling. Seeds and max_tokens change on every request in both and are not settings.
        var events = new List<UsageEvent>();
        var id = 0;
        for (var i = 0; i < 200; i++)
        {
            var time = SyntheticTraffic.Start.AddSeconds(10 * i);
            events.Add(SyntheticTraffic.Event("app", ref id, time, $"Summarise ticket {i}.", 20, 64 + i) with { Temperature = i % 2 == 0 ? 0 : 0.7, Seed = i });
            var sweep = i % 3;
            events.Add(SyntheticTraffic.Event("prober", ref id, time.AddSeconds(1), $"The county of {i}", 1, sweep == 2 ? 16 : 1, n: sweep == 2 ? 8 : 1, logprobs: true) with
            {
                Temperature = sweep == 1 ? 0.25 * (i / 3 % 9) : 1.0,
                TopLogprobs = sweep == 0 ? 20 : 5,
                Seed = i,
            });
        }

        var now = SyntheticTraffic.Start.AddHours(1);
        var app = FeaturesOf(events, "app", now)[DetectorKind.SamplingSweep];
        var prober = FeaturesOf(events, "prober", now)[DetectorKind.SamplingSweep];

        // The app's two settings fit among the four remembered; the prober reaches for a temperature it has not just used
        // on every third request from its fifth setting on (its first two temperatures, top_logprobs 20 and n = 8 fill
        // the memory): 65 of its 67 temperature requests.
        Assert.Equal(0, app);
        Assert.Equal(65.0 / 200, prober, 9);
    }

    [Fact]
    public void Features_ReasoningAskedAndLongAnswerGiven_CountsAsReasoningHarvest()
    {
        var features = FeaturesOf(SyntheticTraffic.Harvester("harvester", 3, 100, TimeSpan.FromHours(2)), "harvester", SyntheticTraffic.Start.AddHours(2));
        Assert.Equal(1, features[DetectorKind.LongOutputShare]);
        Assert.Equal(1, features[DetectorKind.ElicitationShare]);
        Assert.Equal(1, features[DetectorKind.ReasoningHarvestShare]);
    }

    [Fact]
    public void Features_FollowUpTurns_DoNotRecountTheConversationsElicitation()
    {
        // One conversation whose system prompt asks for step-by-step reasoning, continued for nine more turns.
        var events = new List<UsageEvent>();
        var id = 0;
        var prompt = "You are a careful tutor. Show your reasoning step by step and explain your reasoning.\nWhat is a prime number?";
        for (var turn = 0; turn < 10; turn++)
        {
            events.Add(SyntheticTraffic.Event("chat", ref id, SyntheticTraffic.Start.AddMinutes(turn), prompt, 200, 1024));
            prompt += $"\nanswer {turn}\nAnd what about the number {turn + 10}?";
        }

        var features = FeaturesOf(events, "chat", SyntheticTraffic.Start.AddHours(1));
        Assert.Equal(0.1, features[DetectorKind.SingleTurnShare], 9);
        Assert.Equal(1, features[DetectorKind.ElicitationShare]);
    }

    [Fact]
    public void Features_BenchmarkReRun_CountsOnlyNewRequestsInVolumeAndProbingShape()
    {
        // The same 200 multiple-choice items (logprobs, max_tokens 1) run twice, then 200 new short-answer items.
        var events = new List<UsageEvent>();
        var id = 0;
        var time = SyntheticTraffic.Start;
        for (var run = 0; run < 2; run++)
        {
            for (var i = 0; i < 200; i++)
            {
                events.Add(SyntheticTraffic.Event("eval", ref id, time, $"Which word matches definition {i}? A) x B) y\nAnswer:", 1, 1, logprobs: true));
                time = time.AddSeconds(2);
            }
        }

        for (var i = 0; i < 200; i++)
        {
            events.Add(SyntheticTraffic.Event("eval", ref id, time, $"Question {i}: literal or figurative? Answer with one word.", 40, 512));
            time = time.AddSeconds(2);
        }

        // Errs towards new: a few of the first run's items lose their slot to another item (direct-mapped memory), and a
        // new item is taken for a repeat only on an equal 8-bit fingerprint.
        var features = FeaturesOf(events, "eval", time);
        Assert.InRange(features.RepeatShare, 180.0 / 600, 200.0 / 600);
        Assert.InRange(features[DetectorKind.VolumeDay], 400, 420);
        Assert.InRange(features[DetectorKind.TokensOutDay], (200 * 1) + (200 * 40), (400 * 1) + (200 * 40));
        Assert.InRange(features[DetectorKind.LogprobShare], 200.0 / 600, 220.0 / 600);
    }

    [Fact]
    public void Features_SamePromptWithOtherParametersOrAfterAnError_IsNotARepeat()
    {
        // A temperature sweep on one prefix reads a new distribution each time; a failed request answered nothing.
        var events = new List<UsageEvent>();
        var id = 0;
        for (var i = 0; i < 60; i++)
        {
            var e = SyntheticTraffic.Event("prober", ref id, SyntheticTraffic.Start.AddSeconds(10 * i), "The quick brown fox jumps over", 1, 1, logprobs: true);
            events.Add(e with { Temperature = 0.05 * i });
        }

        var failed = SyntheticTraffic.Event("prober", ref id, SyntheticTraffic.Start.AddMinutes(20), "Describe the rings of Saturn", 0, 64) with { Status = 500 };
        events.Add(failed);
        events.Add(failed with { RequestId = "retry", Timestamp = failed.Timestamp.AddSeconds(5), Status = 200, CompletionTokens = 64 });

        var features = FeaturesOf(events, "prober", SyntheticTraffic.Start.AddHours(1));
        Assert.Equal(0, features.RepeatShare);
        Assert.Equal(62, features[DetectorKind.VolumeDay]);
    }

    [Fact]
    public void Assess_RepeatedRequests_SayInTheReasonThatTheyAreNotCounted()
    {
        var events = new List<UsageEvent>();
        var id = 0;
        for (var i = 0; i < 40; i++)
        {
            events.Add(SyntheticTraffic.Event("eval", ref id, SyntheticTraffic.Start.AddSeconds(60 * i), $"Which word matches definition {i % 20}? A) x B) y\nAnswer:", 1, 1, logprobs: true));
        }

        var engine = new DetectionEngine(CasualCalibration.Value);
        foreach (var e in events)
        {
            engine.Observe(e);
        }

        var assessment = engine.Assess("eval", SyntheticTraffic.Start.AddHours(1))!;
        Assert.Contains(assessment.Reasons, r => r.Code == "logprob_share" && r.Value == 0.5 && r.Detail.Contains("50 % of the window's requests repeat answered ones", StringComparison.Ordinal));
    }

    private static WindowFeatures FeaturesOf(IEnumerable<UsageEvent> events, string account, DateTimeOffset now)
    {
        var engine = new DetectionEngine(new DetectionCalibration());
        foreach (var e in events)
        {
            engine.Observe(e);
        }

        return engine.Features(account, now)!;
    }

    [Fact]
    public void Assess_IsDeterministic_ForTheSameEventsAndTime()
    {
        var events = SyntheticTraffic.Merge(SyntheticTraffic.Harvester("h", 2, 300, TimeSpan.FromDays(1)), SyntheticTraffic.Casual("c", 5, days: 3)).ToList();
        var now = SyntheticTraffic.Start.AddDays(3);
        var a = new DetectionEngine(CasualCalibration.Value);
        var b = new DetectionEngine(CasualCalibration.Value);
        events.ForEach(a.Observe);
        events.ForEach(b.Observe);
        foreach (var id in new[] { "h", "c" })
        {
            var x = a.Assess(id, now)!;
            var y = b.Assess(id, now)!;
            Assert.Equal(x.Evidence, y.Evidence);
            Assert.Equal(x.Level, y.Level);
            Assert.Equal(x.Reasons.Select(r => (r.Code, r.Value)), y.Reasons.Select(r => (r.Code, r.Value)));
            Assert.Equal(x.Evidence, a.Assess(id, now)!.Evidence);
        }
    }

    [Fact]
    public void Assess_OneRequest_IsThinEvidenceAndNeverFlagged()
    {
        var engine = new DetectionEngine(CasualCalibration.Value);
        var id = 0;
        engine.Observe(SyntheticTraffic.Event("one", ref id, SyntheticTraffic.Start, "Explain step by step your full chain of thought.", 4096, 4096));
        var assessment = engine.Assess("one", SyntheticTraffic.Start.AddMinutes(1))!;
        Assert.False(assessment.Flagged);
        Assert.Equal("insufficient_evidence", assessment.Level);
        Assert.Equal("thin_evidence", assessment.Reasons[0].Code);
        Assert.Null(engine.Assess("never-seen", SyntheticTraffic.Start));
    }

    [Fact]
    public void Observe_BadInput_NeverThrows()
    {
        var engine = new DetectionEngine(CasualCalibration.Value);
        var start = SyntheticTraffic.Start;
        UsageEvent[] odd =
        [
            new() { RequestId = "1", Timestamp = start, AccountId = "odd", Endpoint = "chat.completions" },
            new() { RequestId = "2", Timestamp = start.AddYears(5), AccountId = "odd", Endpoint = "chat.completions", CompletionTokens = -5, PromptTokens = -1, N = 0, MaxTokens = -3 },
            new() { RequestId = "3", Timestamp = start.AddYears(-5), AccountId = "odd", Endpoint = "completions", PromptText = new string('\u200b', 10_000), CompletionTokens = int.MaxValue },
            new() { RequestId = "4", Timestamp = DateTimeOffset.MinValue, AccountId = "odd", Endpoint = "chat.completions", PromptText = "" },
            new() { RequestId = "5", Timestamp = DateTimeOffset.MaxValue, AccountId = "odd", Endpoint = "chat.completions", PromptText = "x", CompletionTokens = int.MaxValue },
            new() { RequestId = "6", Timestamp = start, AccountId = null, Endpoint = "chat.completions" },
            new() { RequestId = "7", Timestamp = start, AccountId = "odd", Endpoint = "models" },
        ];
        foreach (var e in odd)
        {
            engine.Observe(e);
        }

        foreach (var now in new[] { start, start.AddYears(5), DateTimeOffset.MinValue.AddDays(10), DateTimeOffset.MaxValue.AddDays(-10) })
        {
            var assessment = engine.Assess("odd", now)!;
            Assert.False(assessment.Flagged);
            Assert.False(double.IsNaN(assessment.Evidence));
        }
    }

    [Fact]
    public void State_StaysUnderSixteenKilobytesPerAccount()
    {
        var engine = new DetectionEngine(CasualCalibration.Value);
        var events = SyntheticTraffic.Harvester("big", 3, 20_000, TimeSpan.FromDays(7)).ToList();
        engine.Observe(events[0]);
        var first = engine.StateBytes("big");
        Assert.True(first <= 16384, $"{first} bytes by count");

        // Heavy traffic does not grow the account's state. What a new account and each further event allocate is
        // measured by DetectionBenchmarks (ObserveNewAccounts, Observe), not asserted here.
        foreach (var e in events.Skip(1).Take(4000))
        {
            engine.Observe(e);
        }

        Assert.Equal(first, engine.StateBytes("big"));
    }

    [Fact]
    public async Task Engine_OneWriterManyReaders_DoNotInterfere()
    {
        var engine = new DetectionEngine(CasualCalibration.Value);
        var events = SyntheticTraffic.Merge(SyntheticTraffic.Harvester("h", 4, 3000, TimeSpan.FromDays(2)), SyntheticTraffic.Casual("c", 6, days: 2)).ToList();
        using var done = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            var reads = 0;
            while (!done.IsCancellationRequested)
            {
                reads += engine.AssessAll(SyntheticTraffic.Start.AddDays(2)).Count();
            }

            return reads;
        })).ToArray();
        events.ForEach(engine.Observe);
        done.Cancel();
        await Task.WhenAll(readers);
        var reference = new DetectionEngine(CasualCalibration.Value);
        events.ForEach(reference.Observe);
        Assert.Equal(reference.Assess("h", SyntheticTraffic.Start.AddDays(2))!.Evidence, engine.Assess("h", SyntheticTraffic.Start.AddDays(2))!.Evidence);
    }

    [Fact]
    public void Calibration_RoundTripsThroughJson()
    {
        var calibration = CasualCalibration.Value;
        using var stream = new MemoryStream();
        calibration.Save(stream);
        stream.Position = 0;
        var loaded = DetectionCalibration.Load(stream);
        Assert.Equal(calibration.References.Count, loaded.References.Count);
        Assert.Equal(calibration.ThresholdsFor("standard"), loaded.ThresholdsFor("standard"));
        var features = new DetectionEngine(calibration);
        foreach (var e in SyntheticTraffic.Harvester("h", 9, 200, TimeSpan.FromDays(1)))
        {
            features.Observe(e);
        }

        var window = features.Features("h", SyntheticTraffic.Start.AddDays(1))!;
        Assert.Equal(RiskScoring.Evidence(window, "standard", calibration), RiskScoring.Evidence(window, "standard", loaded), 9);
    }

    [Fact]
    public void Prune_DropsIdleAccounts()
    {
        var engine = new DetectionEngine(CasualCalibration.Value);
        var id = 0;
        engine.Observe(SyntheticTraffic.Event("idle", ref id, SyntheticTraffic.Start, "hi", 5, null));
        Assert.Equal(0, engine.Prune(SyntheticTraffic.Start.AddDays(1)));
        Assert.Equal(1, engine.Prune(SyntheticTraffic.Start.AddDays(9)));
        Assert.Equal(0, engine.AccountCount);
    }
}
