using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Benchmarks;

/// <summary>Cost of the watermark hook on one sampling step over 1,024 candidates, against the same step without it.</summary>
/// <remarks>
/// Two baselines, each compared with the hook in the same run. <c>survivors</c>: the sampler's own per-step work
/// after top-p, as in <c>TextGenerator.ProcessAndDraw</c> (log, temperature, hook, max, exp, sum, draw) on 1,024
/// survivors, so the hook sees all 1,024 (the strictest comparison). <c>nucleus</c>: a whole step over 1,024
/// candidates, temperature 0.9 and top-p 0.95 (the nucleus chosen by eighth-octave probability buckets as in
/// <c>CandidateRanking.SelectNucleus</c>, vectorised here), then the same draw on the survivors, with the hook on
/// the survivors only. Probabilities are uniform random, so about three quarters of the candidates survive. The
/// context is a 128-token response, so the repeated-window scan is included.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class WatermarkProcessorBenchmarks
{
    private const int Candidates = 1_024;
    private const float InverseTemperature = 1f / 0.9f;
    private const double TopP = 0.95;
    private readonly int[] _ids = new int[Candidates];
    private readonly float[] _probabilities = new float[Candidates];
    private readonly float[] _logits = new float[Candidates];
    private readonly float[] _tempered = new float[Candidates];
    private readonly float[] _temperedLogits = new float[Candidates];
    private readonly int[] _survivorIds = new int[Candidates];
    private readonly float[] _survivorProbabilities = new float[Candidates];
    private readonly double[] _bucketMass = new double[1 << 12];
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

        TensorPrimitives.Log(_probabilities, _temperedLogits);
        TensorPrimitives.Multiply(_temperedLogits, InverseTemperature, _temperedLogits);
        var key = new WatermarkKey(new byte[32]).DeriveEpoch(0);
        _green = new GreenListProcessor(key, WatermarkParameters.GreenListDefaults);
        _gumbel = new GumbelProcessor(key, WatermarkParameters.GumbelDefaults);
    }

    /// <summary>How many of the 1,024 candidates survive top-p in the nucleus step (for the write-up).</summary>
    public int NucleusSize() => SelectNucleus();

    [Benchmark(Baseline = true, Description = "bare step, 1,024 survivors")]
    [BenchmarkCategory("survivors")]
    public int Step() => Draw(null, _ids, _probabilities);

    [Benchmark(Description = "bare step + green-list hook")]
    [BenchmarkCategory("survivors")]
    public int StepGreen() => Draw(_green, _ids, _probabilities);

    [Benchmark(Description = "bare step + Gumbel hook")]
    [BenchmarkCategory("survivors")]
    public int StepGumbel() => Draw(_gumbel, _ids, _probabilities);

    [Benchmark(Description = "green-list hook alone (with a 4 KB logits copy)")]
    [BenchmarkCategory("survivors")]
    public float GreenAlone() => HookAlone(_green);

    [Benchmark(Description = "Gumbel hook alone (with a 4 KB logits copy)")]
    [BenchmarkCategory("survivors")]
    public float GumbelAlone() => HookAlone(_gumbel);

    [Benchmark(Baseline = true, Description = "temperature + top-p + draw, 1,024 candidates")]
    [BenchmarkCategory("nucleus")]
    public int Nucleus() => NucleusStep(null);

    [Benchmark(Description = "temperature + top-p + draw + green-list hook")]
    [BenchmarkCategory("nucleus")]
    public int NucleusGreen() => NucleusStep(_green);

    [Benchmark(Description = "temperature + top-p + draw + Gumbel hook")]
    [BenchmarkCategory("nucleus")]
    public int NucleusGumbel() => NucleusStep(_gumbel);

    /// <summary>The hook by itself on fresh tempered logits, so its share of a step is read directly, not as a difference of two noisy means.</summary>
    private float HookAlone(ILogitsProcessor processor)
    {
        _temperedLogits.CopyTo(_logits, 0);
        processor.Process(new LogitsContext(_previous, 128, greedy: false), _ids, _logits);
        return _logits[^1];
    }

    private int NucleusStep(ILogitsProcessor? processor)
    {
        var survivors = SelectNucleus();
        return Draw(processor, _survivorIds.AsSpan(0, survivors), _survivorProbabilities.AsSpan(0, survivors));
    }

    /// <summary>The top-p nucleus of the tempered distribution, by probability buckets an eighth of an octave wide.</summary>
    private int SelectNucleus()
    {
        TensorPrimitives.Log(_probabilities, _tempered);
        TensorPrimitives.Multiply(_tempered, InverseTemperature, _tempered);
        TensorPrimitives.Subtract(_tempered, TensorPrimitives.Max(_tempered), _tempered);
        TensorPrimitives.Exp(_tempered, _tempered);
        var target = TopP * TensorPrimitives.Sum(_tempered);
        var top = Bucket(1f);
        Array.Clear(_bucketMass, 0, top + 1);
        foreach (var q in _tempered)
        {
            _bucketMass[Bucket(q)] += q;
        }

        var cut = 0;
        double cumulative = 0;
        for (var b = top; b >= 0; b--)
        {
            cumulative += _bucketMass[b];
            if (cumulative >= target)
            {
                cut = b;
                break;
            }
        }

        var count = 0;
        for (var i = 0; i < _tempered.Length; i++)
        {
            if (Bucket(_tempered[i]) >= cut)
            {
                _survivorIds[count] = _ids[i];
                _survivorProbabilities[count++] = _probabilities[i];
            }
        }

        return count;
    }

    private static int Bucket(float q) => BitConverter.SingleToInt32Bits(q) >> 20;

    /// <summary>The sampler's step on the survivors: tempered logits, the hook, softmax, one draw.</summary>
    private int Draw(ILogitsProcessor? processor, ReadOnlySpan<int> ids, ReadOnlySpan<float> probabilities)
    {
        var logits = _logits.AsSpan(0, ids.Length);
        TensorPrimitives.Log(probabilities, logits);
        TensorPrimitives.Multiply(logits, InverseTemperature, logits);
        processor?.Process(new LogitsContext(_previous, 128, greedy: false), ids, logits);
        var max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, logits);
        TensorPrimitives.Exp(logits, logits);
        double total = 0;
        foreach (var w in logits)
        {
            total += w;
        }

        var target = total * 0.5;
        double running = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            running += logits[i];
            if (running > target)
            {
                return ids[i];
            }
        }

        return ids[^1];
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
