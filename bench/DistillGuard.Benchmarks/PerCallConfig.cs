using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace DistillGuard.Benchmarks;

/// <summary>
/// The job of the per-call latency benchmarks: each invocation is one timed loop of many calls (each call timed on
/// its own into a <see cref="LatencyHistogram"/>), 5 warm-ups and 30 measured invocations in one process.
/// </summary>
internal sealed class PerCallConfig : ManualConfig
{
    public PerCallConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(30).WithInvocationCount(1).WithUnrollFactor(1));
        // The generated project builds slowly on a busy 2-core machine.
        WithBuildTimeout(TimeSpan.FromMinutes(10));
    }
}
