using BenchmarkDotNet.Attributes;
using DistillGuard.Semantics.Distribution;
using DistillGuard.Semantics.Embeddings;

namespace DistillGuard.Benchmarks;

/// <summary>
/// all-MiniLM-L6-v2 on one ONNX Runtime thread: one prompt per run against batches of 32, at 16 and 64 tokens. Batch
/// rows are reported per prompt (OperationsPerInvoke), so embeddings per second per core is 1 s / mean.
/// </summary>
[MemoryDiagnoser]
public class SemanticEmbeddingBenchmarks : IDisposable
{
    private const int Batch = 32;
    private static readonly string[] Words =
    [
        "explain", "how", "the", "immune", "system", "responds", "to", "a", "new", "virus", "and", "why", "vaccines", "help",
        "write", "function", "that", "sorts", "list", "of", "numbers", "in", "python", "without", "built-in", "methods",
        "what", "were", "main", "causes", "industrial", "revolution", "britain", "compare", "two", "approaches", "detail",
    ];

    private MiniLmEmbedder _embedder = null!;
    private string[] _texts = [];
    private float[][] _destinations = [];

    [Params(16, 64)]
    public int Tokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _embedder = new MiniLmEmbedder(Tokens);
        var random = new Random(42);

        // Every text is longer than the truncation, so each run embeds exactly Tokens tokens per text.
        _texts = [.. Enumerable.Range(0, Batch).Select(_ => string.Join(' ', Enumerable.Range(0, 80).Select(_ => Words[random.Next(Words.Length)])))];
        _destinations = [.. _texts.Select(_ => new float[MiniLmEmbedder.Dimensions])];
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _embedder?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true, Description = "one prompt per run")]
    public float[] OnePrompt() => _embedder.Embed(_texts[0]);

    [Benchmark(OperationsPerInvoke = Batch, Description = "batch of 32, per prompt")]
    public float[] Batched()
    {
        _embedder.Embed(_texts, _destinations);
        return _destinations[^1];
    }
}

/// <summary>Cost of the distribution test: one account's 12 held embeddings against the 128-vector population reference.</summary>
[MemoryDiagnoser]
public class SemanticMmdBenchmarks
{
    private float[][] _account = [];
    private float[][] _reference = [];
    private double _bandwidth;
    private double _within;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        _account = [.. Enumerable.Range(0, 12).Select(_ => Unit(random))];
        _reference = [.. Enumerable.Range(0, 128).Select(_ => Unit(random))];
        _bandwidth = MaximumMeanDiscrepancy.MedianBandwidth(_reference);
        _within = MaximumMeanDiscrepancy.WithinMean(_reference, _bandwidth);
    }

    [Benchmark(Baseline = true, Description = "MMD² (reference term cached, as scoring does)")]
    public double Squared() => MaximumMeanDiscrepancy.Squared(_account, _reference, _bandwidth, _within);

    [Benchmark(Description = "reference refresh (bandwidth + within-sample term)")]
    public double Refresh()
    {
        var bandwidth = MaximumMeanDiscrepancy.MedianBandwidth(_reference);
        return MaximumMeanDiscrepancy.WithinMean(_reference, bandwidth);
    }

    [Benchmark(Description = "permutation p-value, 200 relabellings")]
    public double Permutation() => MaximumMeanDiscrepancy.PermutationPValue(_account, _reference, _bandwidth, 200, new Random(1));

    private static float[] Unit(Random random)
    {
        var v = new float[384];
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = (float)(random.NextDouble() - 0.5);
        }

        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }
}
