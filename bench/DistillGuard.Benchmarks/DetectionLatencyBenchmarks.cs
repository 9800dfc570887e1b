using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Exporters.Csv;
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
        _events = DetectionBenchmarks.SampleEvents(Events, seed: 7);

        _engine = new DetectionEngine(DetectionCalibration.LoadDefault() ?? new DetectionCalibration());
        _observer = new DetectionObserver(new DetectionHostOptions { ChannelCapacity = 10_000_000 });
    }

    [Benchmark(Baseline = true)]
    public void RequestPath_ObserverEnqueue() => _observer.Observe(_events[_next++ % Events]);

    [Benchmark]
    public void Worker_EngineObserve() => _engine.Observe(_events[_next++ % Events]);
}
