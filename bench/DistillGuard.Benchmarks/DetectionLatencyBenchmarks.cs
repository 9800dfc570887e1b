using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Jobs;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Gateway.Detection;
using DistillGuard.Storage.Usage;

namespace DistillGuard.Benchmarks;

/// <summary>
/// Per-call latency distribution of detection's two paths: what the request path does (hand the event to the
/// observer's channel) and what the worker does per event (the engine's observe). One call per iteration, so the
/// exported measurements are single calls and their percentiles are per-call percentiles.
/// </summary>
[Config(typeof(SingleCallConfig))]
[CsvMeasurementsExporter]
public class DetectionLatencyBenchmarks
{
    private const int Events = 4096;
    private UsageEvent[] _events = [];
    private DetectionEngine _engine = null!;
    private DetectionObserver _observer = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        var start = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        _events = new UsageEvent[Events];
        for (var i = 0; i < Events; i++)
        {
            var prompt = i % 2 == 0
                ? $"You are an expert data analyst. Provide complete and transparent reasoning for every answer.\nExplain case {random.Next(100_000)}. Show every step of your reasoning before the final answer."
                : $"Can you help me plan a trip to Lisbon in {random.Next(1, 12)} weeks with a budget of {random.Next(500, 3000)} euros?";
            _events[i] = new UsageEvent
            {
                RequestId = "req_" + i,
                Timestamp = start.AddSeconds(i * 3),
                AccountId = "acct-" + (i % 1000),
                Endpoint = "chat.completions",
                Model = "dg-teacher",
                PromptText = prompt,
                PromptTokens = prompt.Length / 4,
                CompletionTokens = 200,
                Status = 200,
            };
        }

        _engine = new DetectionEngine(DetectionCalibration.LoadDefault() ?? new DetectionCalibration());
        _observer = new DetectionObserver(new DetectionHostOptions { ChannelCapacity = 10_000_000 });
    }

    [Benchmark(Baseline = true)]
    public void RequestPath_ObserverEnqueue() => _observer.Observe(_events[_next++ % Events]);

    [Benchmark]
    public void Worker_EngineObserve() => _engine.Observe(_events[_next++ % Events]);

    private sealed class SingleCallConfig : ManualConfig
    {
        public SingleCallConfig() =>
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(20).WithIterationCount(3000).WithInvocationCount(1).WithUnrollFactor(1));
    }
}
