using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Gateway.Detection;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Benchmarks;

/// <summary>
/// Per-call latency distribution of detection's two paths: what the request path does (hand the event to the
/// observer's channel) and what the worker does per event (the engine's observe). Every call is timed on its own into
/// a histogram; the percentiles are printed by the benchmark process as a line starting <c>// per-call</c> (in the
/// run's log under <c>BenchmarkDotNet.Artifacts/</c>), over every call of every iteration, warm-up included, and
/// again over the measured iterations only (after the two jitting and five warm-up iterations of
/// <see cref="PerCallConfig"/>: tier-0 code, and the first event of each of the 1,000 accounts, which creates its window).
/// </summary>
[Config(typeof(PerCallConfig))]
[MemoryDiagnoser]
public class DetectionLatencyBenchmarks
{
    private const int Events = 4096;
    private UsageEvent[] _events = [];
    private DetectionEngine _engine = null!;
    private DetectionObserver _observer = null!;
    private const int UnmeasuredIterations = 7;
    private readonly LatencyHistogram _histogram = new();
    private readonly LatencyHistogram _measured = new();
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _events = DetectionBenchmarks.SampleEvents(Events, seed: 7);
        _engine = new DetectionEngine(DetectionCalibration.LoadDefault() ?? new DetectionCalibration());
        // Large enough that the benchmark never fills the channel (nothing drains it here).
        _observer = new DetectionObserver(new DetectionHostOptions { ChannelCapacity = 100_000_000 });
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public void RequestPath_ObserverEnqueue() => TimeEach(_observer.Observe);

    [Benchmark(OperationsPerInvoke = Events)]
    public void Worker_EngineObserve() => TimeEach(_engine.Observe);

    private void TimeEach(Action<UsageEvent> call)
    {
        for (var i = 0; i < Events; i++)
        {
            var measured = _next >= UnmeasuredIterations * Events;
            var e = _events[_next++ % Events];
            var start = Stopwatch.GetTimestamp();
            call(e);
            var elapsed = Stopwatch.GetTimestamp() - start;
            _histogram.Record(elapsed);
            if (measured)
            {
                _measured.Record(elapsed);
            }
        }
    }

    [GlobalCleanup(Target = nameof(RequestPath_ObserverEnqueue))]
    public void ReportRequestPath() => Report(nameof(RequestPath_ObserverEnqueue));

    [GlobalCleanup(Target = nameof(Worker_EngineObserve))]
    public void ReportWorker() => Report(nameof(Worker_EngineObserve));

    private void Report(string name)
    {
        Console.WriteLine($"// per-call {name}: {_histogram.Summary(Stopwatch.Frequency / 1e6)}");
        Console.WriteLine($"// per-call {name}, measured iterations only: {_measured.Summary(Stopwatch.Frequency / 1e6)}");
    }
}
