using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace DistillGuard.Benchmarks;

/// <summary>One call per iteration and 3,000 iterations, so the exported measurements are single calls and their percentiles per-call percentiles.</summary>
internal sealed class SingleCallConfig : ManualConfig
{
    public SingleCallConfig() =>
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(20).WithIterationCount(3000).WithInvocationCount(1).WithUnrollFactor(1));
}
