using BenchmarkDotNet.Attributes;
using DistillGuard.Gateway.Inference;
using DistillGuard.Policy.Configuration;

namespace DistillGuard.Benchmarks;

/// <summary>What sealing costs per answer and opening per turn sent back: one AES-256-GCM seal or open of a reasoning trace.</summary>
[MemoryDiagnoser]
public class ReasoningSealBenchmarks
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "dg-seal-bench-" + Guid.NewGuid().ToString("N"));
    private ReasoningKeyring _keyring = null!;
    private string _reasoning = null!;
    private string _blob = null!;

    /// <summary>Characters of reasoning: a short trace, and one of about 2,000 tokens.</summary>
    [Params(500, 8_000)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Directory.CreateDirectory(_directory);
        _keyring = new ReasoningKeyring(_directory, TimeProvider.System, () => new SealRule());
        _reasoning = string.Concat(Enumerable.Repeat("First I list what the task needs, then I check each part. ", Length / 58 + 1))[..Length];
        _blob = _keyring.Seal("acct-0001", _reasoning);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark]
    public string Seal() => _keyring.Seal("acct-0001", _reasoning);

    [Benchmark]
    public string Open() => _keyring.Open("acct-0001", _blob, "messages[1].reasoning_encrypted");
}
