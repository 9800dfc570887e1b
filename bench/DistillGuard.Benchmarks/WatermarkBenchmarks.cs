using BenchmarkDotNet.Attributes;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;
using System.Numerics.Tensors;

namespace DistillGuard.Benchmarks;

/// <summary>Cost of the watermark hook on one sampling step over 1,024 surviving candidates, against the step without it.</summary>
/// <remarks>
/// The baseline is the sampler's own per-step work on the survivors (log, temperature, max, exp, sum, draw) as in
/// <c>TextGenerator.ProcessAndDraw</c>; the context is a 128-token response, so the repeated-window scan is included.
/// </remarks>
[MemoryDiagnoser]
public class WatermarkProcessorBenchmarks
{
    private const int Candidates = 1_024;
    private readonly int[] _ids = new int[Candidates];
    private readonly float[] _probabilities = new float[Candidates];
    private readonly float[] _logits = new float[Candidates];
    private readonly int[] _previous = new int[136];
    private ILogitsProcessor _green = null!;
    private ILogitsProcessor _gumbel = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        for (var i = 0; i < Candidates; i++)
        {
            _ids[i] = random.Next(50_257);
            _probabilities[i] = (float)random.NextDouble();
        }

        for (var i = 0; i < _previous.Length; i++)
        {
            _previous[i] = random.Next(50_257);
        }

        var key = new WatermarkKey(new byte[32]).DeriveEpoch(0);
        _green = new GreenListProcessor(key, WatermarkParameters.GreenListDefaults);
        _gumbel = new GumbelProcessor(key, WatermarkParameters.GumbelDefaults);
    }

    [Benchmark(Baseline = true, Description = "sampling step, 1,024 candidates")]
    public int Step() => Draw(null);

    [Benchmark(Description = "sampling step + green-list hook")]
    public int StepGreen() => Draw(_green);

    [Benchmark(Description = "sampling step + Gumbel hook")]
    public int StepGumbel() => Draw(_gumbel);

    private int Draw(ILogitsProcessor? processor)
    {
        TensorPrimitives.Log(_probabilities, _logits);
        TensorPrimitives.Multiply(_logits, 1f / 0.9f, _logits);
        processor?.Process(new LogitsContext(_previous, 128, greedy: false), _ids, _logits);
        var max = TensorPrimitives.Max(_logits);
        TensorPrimitives.Subtract(_logits, max, _logits);
        TensorPrimitives.Exp(_logits, _logits);
        double total = 0;
        foreach (var w in _logits)
        {
            total += w;
        }

        var target = total * 0.5;
        double running = 0;
        for (var i = 0; i < _logits.Length; i++)
        {
            running += _logits[i];
            if (running > target)
            {
                return _ids[i];
            }
        }

        return _ids[^1];
    }
}

/// <summary>Detector throughput on token ids (100,000 per operation, so tokens/s = 100,000 / mean time).</summary>
[MemoryDiagnoser]
public class WatermarkDetectorBenchmarks
{
    private const int Tokens = 100_000;
    private int[] _tokens = null!;
    private TokenDetector _green = null!;
    private TokenDetector _gumbel = null!;
    private TokenDetector _payload = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2);
        _tokens = new int[Tokens];
        for (var i = 0; i < Tokens; i++)
        {
            _tokens[i] = random.Next(50_257);
        }

        var key = new WatermarkKey(new byte[32]).DeriveEpoch(0);
        _green = new TokenDetector([key], WatermarkParameters.GreenListDefaults);
        _gumbel = new TokenDetector([key], WatermarkParameters.GumbelDefaults);
        _payload = new TokenDetector([key], WatermarkParameters.GreenListDefaults with { PayloadBuckets = 16 });
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Tokens, Description = "green list, 1 key, per token")]
    public double Green() => _green.Detect(_tokens).PValue;

    [Benchmark(OperationsPerInvoke = Tokens, Description = "Gumbel, 1 key, per token")]
    public double Gumbel() => _gumbel.Detect(_tokens).PValue;

    [Benchmark(OperationsPerInvoke = Tokens, Description = "green list, 16 payload buckets, per token")]
    public double Payload() => _payload.Detect(_tokens).PValue;
}
