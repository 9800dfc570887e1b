using System.Diagnostics;
using System.Globalization;

namespace DistillGuard.Benchmarks;

/// <summary>
/// <c>engine-detector-cpu [repetitions]</c>: process CPU time per token of the engine detectors and our Gumbel detector
/// on the inputs of <see cref="EngineWatermarkDetectorBenchmarks"/>, a per-core rate that a loaded machine's wall
/// clock cannot give (the process is single-threaded while it scores, so CPU time is one core's time).
/// </summary>
internal static class EngineDetectorCpuTime
{
    public static int Run(string[] args)
    {
        var repetitions = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
        var benchmark = new EngineWatermarkDetectorBenchmarks();
        benchmark.Setup();
        var rows = new (string Name, Func<double> Run)[]
        {
            ("our Gumbel (SipHash), h 4 (baseline)", benchmark.Ours),
            ("vLLM gumbel (Philox), w 4, dedupe", benchmark.Vllm),
            ("vLLM dual_key_gumbel, α 0.1", benchmark.DualKey),
            ("vLLM gumbel, ids < 151,936", benchmark.VllmWideVocabulary),
        };
        Console.WriteLine($"| detector | CPU ns per token (median of {repetitions} runs of {EngineWatermarkDetectorBenchmarks.Tokens:N0} tokens) | M tokens per CPU-second | ratio to baseline |");
        Console.WriteLine("|---|---:|---:|---:|");
        double? baseline = null;
        var process = Process.GetCurrentProcess();
        foreach (var (name, run) in rows)
        {
            for (var i = 0; i < 20; i++)
            {
                run(); // warm-up: tiered JIT reaches its optimised code
            }

            var samples = new double[repetitions];
            for (var i = 0; i < repetitions; i++)
            {
                process.Refresh();
                var before = process.TotalProcessorTime;
                run();
                process.Refresh();
                samples[i] = (process.TotalProcessorTime - before).TotalNanoseconds / EngineWatermarkDetectorBenchmarks.Tokens;
            }

            Array.Sort(samples);
            var median = samples[repetitions / 2];
            baseline ??= median;
            Console.WriteLine($"| {name} | {median:F1} | {1000 / median:F1} | {median / baseline.Value:F2} |");
        }

        return 0;
    }
}
