using System.IO.Hashing;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Prompts;
using DistillGuard.Detection.Scoring;
using DistillGuard.Gateway.Detection;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Benchmarks;

/// <summary>Per-event cost of the detection engine's hot path, against hashing the prompt once as the baseline.</summary>
[MemoryDiagnoser]
public class DetectionBenchmarks
{
    private const int Events = 4096;
    private const int NewAccounts = 1000;
    private static readonly string[] Subjects = ["photosynthesis", "binary search", "plate tectonics", "compound interest", "the immune system", "quicksort", "supply and demand", "the water cycle"];
    private UsageEvent[] _events = [];
    private DetectionEngine _engine = null!;
    private readonly AccountMilestones _milestones = new();
    private DateTimeOffset _now;
    private DetectionCalibration _calibration = null!;
    private UsageEvent[] _newAccountEvents = [];
    private DetectionEngine _fresh = null!;

    [GlobalSetup]
    public void Setup()
    {
        _events = SampleEvents(Events, seed: 42);
        _calibration = DetectionCalibration.LoadDefault() ?? new DetectionCalibration();
        _engine = new DetectionEngine(_calibration);
        _newAccountEvents = [.. SampleEvents(NewAccounts, seed: 43).Select((e, i) => e with { AccountId = "new-" + i })];
        foreach (var e in _events)
        {
            _engine.Observe(e);
        }

        _now = _events[^1].Timestamp;
    }

    /// <summary>A mixed stream over 1,000 accounts: half templated reasoning harvest, half casual prompts with a resent conversation.</summary>
    internal static UsageEvent[] SampleEvents(int count, int seed)
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        var events = new UsageEvent[count];
        for (var i = 0; i < count; i++)
        {
            // Half templated reasoning harvest (~230 characters), half casual prompts with a resent conversation (~150–400).
            var templated = i % 2 == 0;
            var prompt = templated
                ? $"You are an expert data analyst. Provide complete and transparent reasoning for every answer.\nExplain {Subjects[random.Next(Subjects.Length)]} for case {random.Next(100_000)}. Show every step of your reasoning before the final answer."
                : $"Can you help me plan a trip to Lisbon in {random.Next(1, 12)} weeks with a budget of {random.Next(500, 3000)} euros?\nSure, here are some ideas for your trip.\nThanks, and what about food near the river?";
            events[i] = new UsageEvent
            {
                RequestId = "req_" + i,
                Timestamp = start.AddSeconds(i * 3),
                AccountId = "acct-" + (i % 1000),
                Endpoint = "chat.completions",
                Model = "dg-teacher",
                PromptText = prompt,
                PromptTokens = prompt.Length / 4,
                CompletionTokens = templated ? 4096 : 200,
                MaxTokens = templated ? 4096 : null,
                Status = 200,
                FinishReason = templated ? "length" : "stop",
            };
        }

        return events;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public ulong HashPromptOnly()
    {
        ulong sum = 0;
        foreach (var e in _events)
        {
            sum += XxHash3.HashToUInt64(MemoryMarshal.AsBytes(e.PromptText.AsSpan()));
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public double AnalysePrompt()
    {
        Span<ulong> words = stackalloc ulong[32];
        var sum = 0.0;
        foreach (var e in _events)
        {
            sum += PromptAnalysis.Analyse(e.PromptText, words).Elicitation;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public void Observe()
    {
        foreach (var e in _events)
        {
            _engine.Observe(e);
        }
    }

    /// <summary>What the gateway's detection worker does per event: observe, then mark the account if it reached a milestone (ADR 8).</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public void ObserveAndMarkMilestones()
    {
        foreach (var e in _events)
        {
            _engine.Observe(e);
            _milestones.Observed(e.AccountId!, _engine.RequestCount(e.AccountId!));
        }

        _milestones.Drain();
    }

    [IterationSetup(Target = nameof(ObserveNewAccounts))]
    public void FreshEngine()
    {
        _fresh = new DetectionEngine(_calibration);
        _fresh.Observe(_events[0]);
    }

    /// <summary>
    /// The first event of an account creates its window: the allocated column is the memory a new account costs
    /// (docs/detection.md: one fixed window, ≤ 8 KB). Observing a known account allocates nothing (<see cref="Observe"/>).
    /// </summary>
    [Benchmark(OperationsPerInvoke = NewAccounts)]
    public void ObserveNewAccounts()
    {
        foreach (var e in _newAccountEvents)
        {
            _fresh.Observe(e);
        }
    }

    [Benchmark]
    public double AssessOneAccount() => _engine.Assess("acct-7", _now)!.Evidence;
}
