using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Exporters.Csv;

namespace DistillGuard.Benchmarks;

/// <summary>
/// Per-call latency of the policy's request-path decisions (the p99 target): the benchmarks of
/// <see cref="PolicyBenchmarks"/>, one call per iteration, with the measurements exported for their percentiles.
/// </summary>
[Config(typeof(SingleCallConfig))]
[CsvMeasurementsExporter]
public class PolicyLatencyBenchmarks : PolicyBenchmarks
{
}
