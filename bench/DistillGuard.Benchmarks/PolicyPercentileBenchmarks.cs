using System.Collections.Concurrent;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using DistillGuard.Gateway.Policy;
using DistillGuard.Gateway.Usage;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Benchmarks;

/// <summary>
/// Per-call percentiles of the policy's request-path decision in a warm loop: every call is timed on its own
/// (two <see cref="Stopwatch.GetTimestamp"/> reads) into a histogram, on one thread, and on two threads deciding for
/// disjoint accounts at once (lock contention across accounts would show in the two-thread tail). The calls cycle
/// through the accounts of their kind, so the decision cache and the token buckets are read as a busy gateway reads
/// them, not one hot entry. The bare dictionary lookup, timed the same way, is the floor of the timing itself.
/// </summary>
/// <remarks>
/// BenchmarkDotNet's own columns give the mean per call; the percentiles are printed by the benchmark process as a
/// line starting <c>// per-call</c> (in the run's log under <c>BenchmarkDotNet.Artifacts/</c>), over every call of
/// every iteration, warm-up included.
/// </remarks>
[Config(typeof(PerCallConfig))]
[MemoryDiagnoser]
public class PolicyPercentileBenchmarks
{
    private const int CallsPerInvocation = 20_000;

    public enum DecisionPath
    {
        DictionaryLookup,
        Untouched,
        ThrottledAccount,
        ThrottledCampaignMember,
    }

    [Params(DecisionPath.DictionaryLookup, DecisionPath.Untouched, DecisionPath.ThrottledAccount, DecisionPath.ThrottledCampaignMember)]
    public DecisionPath Path { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    private readonly ConcurrentDictionary<string, string> _baseline = new(StringComparer.Ordinal);
    private PolicyEnforcement _enforcement = null!;
    private Worker[] _workers = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_, _enforcement) = PolicyBenchmarks.Population(_baseline);

        // Each thread decides for its own accounts of the path's kind.
        Func<int, bool> kind = Path switch
        {
            DecisionPath.ThrottledAccount => i => i % 10 == 0 && i % 20 != 0,
            DecisionPath.ThrottledCampaignMember => i => i % 20 == 0,
            _ => i => i % 10 != 0,
        };
        var mine = Enumerable.Range(0, PolicyBenchmarks.Accounts).Where(kind).ToArray();
        _workers = [.. Enumerable.Range(0, Threads).Select(t => new Worker(
            [.. mine.Where((_, n) => n % Threads == t).Select(i => PolicyBenchmarks.Usage("acct-" + i))]))];
    }

    [Benchmark(OperationsPerInvoke = CallsPerInvocation)]
    public void Decide()
    {
        if (_workers.Length == 1)
        {
            Run(_workers[0]);
            return;
        }

        var others = new Task[_workers.Length - 1];
        for (var t = 1; t < _workers.Length; t++)
        {
            var worker = _workers[t];
            others[t - 1] = Task.Factory.StartNew(() => Run(worker), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        Run(_workers[0]);
        Task.WaitAll(others);
    }

    [GlobalCleanup]
    public void Report()
    {
        var all = new LatencyHistogram();
        foreach (var worker in _workers)
        {
            all.Add(worker.Histogram);
        }

        Console.WriteLine($"// per-call {Path} threads={Threads}: {all.Summary(Stopwatch.Frequency / 1e6)}");
    }

    private void Run(Worker worker)
    {
        var calls = CallsPerInvocation / _workers.Length;
        var requests = worker.Requests;
        var histogram = worker.Histogram;
        var context = worker.Context;
        for (var c = 0; c < calls; c++)
        {
            var usage = requests[worker.Next++ % requests.Length];
            usage.TokenMeter = null;
            var start = Stopwatch.GetTimestamp();
            if (Path == DecisionPath.DictionaryLookup)
            {
                _baseline.TryGetValue(usage.Caller!.Account.Id, out _);
            }
            else
            {
                var admitted = _enforcement.AdmitAsync(context, usage);
                if (!admitted.IsCompletedSuccessfully)
                {
                    admitted.AsTask().GetAwaiter().GetResult();
                }
            }

            histogram.Record(Stopwatch.GetTimestamp() - start);
        }
    }

    private sealed class Worker(RequestUsage[] requests)
    {
        public RequestUsage[] Requests { get; } = requests;
        public LatencyHistogram Histogram { get; } = new();
        public DefaultHttpContext Context { get; } = new();
        public int Next;
    }
}
