using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Usage;

namespace DistillGuard.Detection.Tests.Engine;

/// <summary>Harvest value beyond answer length (soft labels, samples, echoed prompts) and sweeps of one prompt's settings.</summary>
public sealed class HarvestValueTests
{
    private const string Template = "You are an expert tutor. Provide complete and transparent reasoning for every answer.\nExplain {0} for case {1}. Show every step of your reasoning before the final answer.";

    private static readonly string[] Subjects = ["photosynthesis", "binary search", "plate tectonics", "compound interest", "entropy", "quicksort"];

    [Fact]
    public void Features_ShortAnswerLogprobHarvest_CountsSoftLabelsAndElicitedLogprobs()
    {
        // 100 templated reasoning requests, max_tokens 12, top_logprobs 5: short answers, 60 soft labels each.
        var events = new List<UsageEvent>();
        var id = 0;
        for (var i = 0; i < 100; i++)
        {
            var prompt = string.Format(System.Globalization.CultureInfo.InvariantCulture, Template, Subjects[i % Subjects.Length], i * 7919 % 10_000);
            events.Add(SyntheticTraffic.Event("soft", ref id, SyntheticTraffic.Start.AddSeconds(5 * i), prompt, 12, 12, logprobs: true) with { TopLogprobs = 5 });
        }

        var features = FeaturesOf(events, "soft", SyntheticTraffic.Start.AddHours(1));

        Assert.Equal(100 * 12 * 5, features[DetectorKind.LogprobEntries]);
        Assert.Equal((100 * 12) + (100 * 12 * 5), features[DetectorKind.HarvestedTokens]);
        Assert.Equal(1, features[DetectorKind.SoftLabelHarvestShare]);
        Assert.Equal(0, features[DetectorKind.LongOutputShare]);
        Assert.Equal(0, features[DetectorKind.ReasoningHarvestShare]);
    }

    [Fact]
    public void Features_EchoedPromptWithLogprobs_CountsPromptTokensAsSoftLabels_EchoAloneDoesNot()
    {
        // Legacy completions scoring a prompt: echo, logprobs 3, max_tokens 0 (nothing generated, every prompt token scored).
        var events = new List<UsageEvent>();
        var id = 0;
        for (var i = 0; i < 20; i++)
        {
            var time = SyntheticTraffic.Start.AddSeconds(10 * i);
            events.Add(SyntheticTraffic.Event("scorer", ref id, time, $"The county of {i} held an election", 0, 0, logprobs: true) with { Endpoint = "completions", Echo = true, TopLogprobs = 3, PromptTokens = 40 });
            events.Add(SyntheticTraffic.Event("echo", ref id, time, $"The county of {i} held an election", 10, 10) with { Endpoint = "completions", Echo = true, PromptTokens = 40 });
        }

        var now = SyntheticTraffic.Start.AddHours(1);
        var scorer = FeaturesOf(events, "scorer", now);
        var echo = FeaturesOf(events, "echo", now);

        Assert.Equal(20 * 40 * 3, scorer[DetectorKind.LogprobEntries]);
        Assert.Equal(20 * 40 * 3, scorer[DetectorKind.HarvestedTokens]);

        // Echo without logprobs returns the client's own text: nothing harvested beyond the completion.
        Assert.Equal(0, echo[DetectorKind.LogprobEntries]);
        Assert.Equal(20 * 10, echo[DetectorKind.HarvestedTokens]);
    }

    [Fact]
    public void Features_SamplesOfEveryChoiceCount_AndRepeatsOfAnsweredRequestsAddNothing()
    {
        // A benchmark scored with logprobs, run twice: the second run re-reads what the first already returned.
        var events = new List<UsageEvent>();
        var id = 0;
        var time = SyntheticTraffic.Start;
        for (var run = 0; run < 2; run++)
        {
            for (var i = 0; i < 50; i++)
            {
                events.Add(SyntheticTraffic.Event("eval", ref id, time, $"Which word matches item {i}? A) x B) y\nAnswer:", 1, 1, logprobs: true) with { TopLogprobs = 5, Temperature = 0 });
                time = time.AddSeconds(2);
            }
        }

        // n = 4 samples of 30 tokens each (120 completion tokens for the request).
        events.Add(SyntheticTraffic.Event("sampler", ref id, time, "Write a haiku about rain.", 120, 30, n: 4) with { Temperature = 1 });

        var now = SyntheticTraffic.Start.AddHours(1);
        var eval = FeaturesOf(events, "eval", now);
        var sampler = FeaturesOf(events, "sampler", now);

        Assert.Equal(50 * 5, eval[DetectorKind.LogprobEntries]);
        Assert.Equal((50 * 1) + (50 * 5), eval[DetectorKind.HarvestedTokens]);
        Assert.Equal(0, eval[DetectorKind.SoftLabelHarvestShare]);
        Assert.Equal(120, sampler[DetectorKind.HarvestedTokens]);
        Assert.Equal(0, sampler[DetectorKind.SampledLogprobShare]);
    }

    [Fact]
    public void Features_FourSettingProberOnEachPrompt_IsAPromptSweep_GreedyAndSampledBenchmarkIsNot()
    {
        // The prober asks each prompt under four temperatures, n = 4 and top_logprobs 20: four settings in all, so the
        // account-wide sweep (a fifth setting) never fires. The benchmark re-runs each item greedy and as pass@4.
        var events = new List<UsageEvent>();
        var id = 0;
        var time = SyntheticTraffic.Start;
        double[] temperatures = [0.2, 0.6, 1.0, 1.4];
        for (var i = 0; i < 40; i++)
        {
            foreach (var t in temperatures)
            {
                events.Add(SyntheticTraffic.Event("prober", ref id, time, $"Complete the sentence: the county of {i} decided", 64, 16, n: 4, logprobs: true) with { Temperature = t, TopLogprobs = 20 });
                time = time.AddSeconds(3);
            }
        }

        // The benchmark's three settings (greedy, pass@4, pass@8) are a red-teamer's retries too: none is a sweep.
        var item = 0;
        foreach (var (temperature, n) in new[] { (0.0, 1), (0.7, 4), (0.7, 8) })
        {
            for (item = 0; item < 40; item++)
            {
                events.Add(SyntheticTraffic.Event("bench", ref id, time, $"Question: is statement {item} literal or figurative?\nAnswer with one word.", n, 4, n: n) with { Temperature = temperature, Seed = 1234 });
                time = time.AddSeconds(2);
            }
        }

        var now = time.AddMinutes(1);
        var prober = FeaturesOf(events, "prober", now);
        var bench = FeaturesOf(events, "bench", now);

        // Per prompt the fourth temperature is a sweep: a quarter of the prober's requests.
        Assert.Equal(0.25, prober[DetectorKind.PromptSettingSweep]);
        Assert.Equal(0, prober[DetectorKind.SamplingSweep]);
        Assert.Equal(1, prober[DetectorKind.SampledLogprobShare]);
        Assert.Equal(40 * 4 * 64 * 20, prober[DetectorKind.LogprobEntries]);
        Assert.Equal(0, bench[DetectorKind.PromptSettingSweep]);
        Assert.Equal(0, bench[DetectorKind.SampledLogprobShare]);
    }

    [Fact]
    public void Features_PromptsOfOneTemplateUnderOneSetting_AreNoSweep()
    {
        // A support bot: one template, the customer's order number masked, one fixed setting: one prompt skeleton, one setting.
        var events = new List<UsageEvent>();
        var id = 0;
        for (var i = 0; i < 200; i++)
        {
            events.Add(SyntheticTraffic.Event("bot", ref id, SyntheticTraffic.Start.AddSeconds(20 * i), $"Customer asks where order {1000 + i} is.", 60, 400) with { Temperature = 0.3 });
        }

        Assert.Equal(0, FeaturesOf(events, "bot", SyntheticTraffic.Start.AddHours(2))[DetectorKind.PromptSettingSweep]);
    }

    [Fact]
    public void Assess_ShippedCalibration_FlagsShortAnswerLogprobHarvestsAndFourSettingProber_NotAnEvalHarness()
    {
        var calibration = DetectionCalibration.LoadDefault()!;
        var engine = new DetectionEngine(calibration);
        var id = 0;
        var time = SyntheticTraffic.Start.AddHours(9);

        // 1,000 templated reasoning requests, max_tokens 12 and top_logprobs 5, every 3 s; a prober asking 250 prompts
        // under four temperatures with n = 4 and top_logprobs 20; a harness scoring a 500-item multiple-choice benchmark
        // from the answer letter's top-5 logprobs, run twice.
        var events = new List<UsageEvent>();
        for (var i = 0; i < 1000; i++)
        {
            var prompt = string.Format(System.Globalization.CultureInfo.InvariantCulture, Template, Subjects[i % Subjects.Length], i * 7919 % 10_000);
            events.Add(SyntheticTraffic.Event("soft", ref id, time.AddSeconds(3 * i), prompt, 12, 12, logprobs: true) with { TopLogprobs = 5 });
        }

        // The same harvest in plain prose the elicitation lexicon does not know, with no scaffolding either.
        for (var i = 0; i < 1000; i++)
        {
            var prompt = $"You are an expert tutor. For every answer, lay out the derivation and then state the result.\nTopic: {Subjects[i % Subjects.Length]}, case {i * 7919 % 10_000}.";
            events.Add(SyntheticTraffic.Event("prose", ref id, time.AddSeconds(3 * i).AddMilliseconds(3), prompt, 12, 12, logprobs: true) with { TopLogprobs = 5 });
        }

        double[] temperatures = [0.2, 0.6, 1.0, 1.4];
        for (var i = 0; i < 1000; i++)
        {
            events.Add(SyntheticTraffic.Event("prober", ref id, time.AddSeconds(3 * i).AddMilliseconds(1), $"Continue: the committee of {Subjects[i / 4 % Subjects.Length]} decided on item {i / 4}", 32, 8, n: 4, logprobs: true) with { Temperature = temperatures[i % 4], TopLogprobs = 20 });
        }

        // Its workers wait for each answer, so gaps vary with latency around 1.5 s (as the simulator's researchers do).
        var jitter = new Random(17);
        var at = time;
        for (var i = 0; i < 1000; i++)
        {
            at = at.AddSeconds(0.5 + (2 * jitter.NextDouble()));
            var item = $"Which term matches the definition of item {i % 500}: {Subjects[i % 500 % Subjects.Length]}?\nA) first\nB) second\nC) third\nD) fourth\nAnswer:";
            events.Add(SyntheticTraffic.Event("harness", ref id, at, item, 1, 1, logprobs: true) with { TopLogprobs = 5, Temperature = 0, Seed = 1234 });
        }

        var flagged = new HashSet<string>();
        foreach (var e in events.OrderBy(e => e.Timestamp))
        {
            engine.Observe(e);
            if (engine.RequestCount(e.AccountId!) % 50 == 0 && engine.Assess(e.AccountId!, e.Timestamp) is { Flagged: true } a)
            {
                flagged.Add(a.AccountId);
            }
        }

        var end = time.AddSeconds(3001);
        Assert.True(engine.Assess("soft", end)!.Flagged, Describe(engine.Assess("soft", end)!));
        Assert.True(engine.Assess("prose", end)!.Flagged, Describe(engine.Assess("prose", end)!));
        Assert.True(engine.Assess("prober", end)!.Flagged, Describe(engine.Assess("prober", end)!));
        Assert.DoesNotContain("harness", flagged);
        Assert.False(engine.Assess("harness", end)!.Flagged, Describe(engine.Assess("harness", end)!));
    }

    private static string Describe(AccountAssessment a) => $"S = {a.Evidence:F1}: " + string.Join(", ", a.Reasons.Select(r => $"{r.Code} {r.Value:G4}"));

    private static WindowFeatures FeaturesOf(IEnumerable<UsageEvent> events, string account, DateTimeOffset now)
    {
        var engine = new DetectionEngine(new DetectionCalibration());
        foreach (var e in events)
        {
            engine.Observe(e);
        }

        return engine.Features(account, now)!;
    }
}
