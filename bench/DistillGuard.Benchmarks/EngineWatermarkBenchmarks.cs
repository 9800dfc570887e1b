using BenchmarkDotNet.Attributes;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Engines;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Benchmarks;

/// <summary>Detector throughput for vLLM's Gumbel watermark on pre-tokenized input, against our own Gumbel detector in the same run.</summary>
/// <remarks>
/// 100,000 random token ids in one text per operation, times per token. The baseline and the vLLM rows score the same
/// ids (below 50,257, which our detector's packed tuple set needs); the last row uses ids up to Qwen 3's 151,936.
/// Tokenizing is not included (it is measured apart).
/// </remarks>
[MemoryDiagnoser]
public class EngineWatermarkDetectorBenchmarks
{
    internal const int Tokens = 100_000;
    private int[] _tokens = null!;
    private int[] _wideTokens = null!;
    private TokenDetector _ours = null!;
    private VllmGumbelDetector _vllm = null!;
    private VllmGumbelDetector _dual = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        _tokens = new int[Tokens];
        _wideTokens = new int[Tokens];
        for (var i = 0; i < Tokens; i++)
        {
            _tokens[i] = random.Next(50_257);
            _wideTokens[i] = random.Next(151_936);
        }

        _ours = new TokenDetector([new WatermarkKey(new byte[32]).DeriveEpoch(0)], WatermarkParameters.GumbelDefaults);
        _vllm = new VllmGumbelDetector(42);
        _dual = new VllmGumbelDetector(42, dualKeyAlpha: 0.1);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Tokens, Description = "our Gumbel (SipHash), h 4, per token")]
    public double Ours() => _ours.Detect(_tokens).PValue;

    [Benchmark(OperationsPerInvoke = Tokens, Description = "vLLM gumbel (Philox), w 4, dedupe, per token")]
    public double Vllm() => _vllm.Score(_tokens).LogPValue;

    [Benchmark(OperationsPerInvoke = Tokens, Description = "vLLM dual_key_gumbel, α 0.1, per token")]
    public double DualKey() => _dual.Score(_tokens).LogPValue;

    [Benchmark(OperationsPerInvoke = Tokens, Description = "vLLM gumbel, ids < 151,936, per token")]
    public double VllmWideVocabulary() => _vllm.Score(_wideTokens).LogPValue;
}
