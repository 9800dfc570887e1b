using BenchmarkDotNet.Attributes;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Answers;
using DistillGuard.LanguageModels.Model;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.LanguageModels.Topics;

namespace DistillGuard.Benchmarks;

/// <summary>Generation speed of the real dg-teacher: 256 tokens per operation, so tokens/s = 256 / mean time.</summary>
/// <remarks>The baseline scores the whole vocabulary once per token (what a naive sampler would do) over the same contexts.</remarks>
[MemoryDiagnoser]
public class LanguageModelBenchmarks
{
    private const int Tokens = 256;
    private KneserNeyModel _model = null!;
    private TextGenerator _generator = null!;
    private int[] _prompt = null!;
    private int[] _sequence = null!;
    private float[] _scores = null!;
    private TopicBias _topic = null!;
    private const string ChatQuestion = "Explain step by step how the county court hears a case and how the jury reaches its verdict.";

    [GlobalSetup]
    public void Setup()
    {
        _model = BuiltInModels.LoadOrBuildTeacher(Path.Combine(Path.GetTempPath(), "distillguard-bench-models"));
        _generator = new TextGenerator(_model, TextTokenizer.Gpt2);
        _prompt = TextTokenizer.Gpt2.Encode("The jury said that the city");
        _scores = new float[_model.VocabularySize];
        _sequence = [.. _generator.Generate(Request(1f, 1f, 7, processor: KeepGoing.Instance)).SelectMany(s => s.Tokens).Select(t => t.Id)];
        _topic = TopicIndex.Shipped.BiasFor(ChatQuestion, _model, TextTokenizer.Gpt2)!;
    }

    private GenerationRequest Request(float temperature, float topP, long seed, int maxTokens = Tokens, ILogitsProcessor? processor = null, bool chat = false) => new()
    {
        PromptTokens = _prompt,
        MaxTokens = maxTokens,
        Temperature = temperature,
        TopP = topP,
        Seed = seed,
        LogitsProcessor = processor,
        // A chat answer as the gateway writes it: on the question's topic, planned past this operation's tokens so
        // that an early end-of-text becomes a paragraph break instead of the end.
        Plan = chat ? new AnswerPlan(AnswerKind.Extended, Tokens, int.MaxValue, "benchmark") : null,
        Topic = chat ? _topic : null,
    };

    [Benchmark(Baseline = true, OperationsPerInvoke = Tokens, Description = "GetLogProbabilities (full vocabulary) per token")]
    public float FullVocabularyScores()
    {
        var sum = 0f;
        for (var i = 0; i < Tokens; i++)
        {
            var end = Math.Min(i + 3, _sequence.Length);
            _model.GetLogProbabilities(_sequence.AsSpan(Math.Max(0, end - 3), Math.Min(3, end)), _scores);
            sum += _scores[0];
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Tokens, Description = "Generate T=1 top-p 0.95, per token")]
    public int GenerateTopP() => Consume(1f, 0.95f, null);

    [Benchmark(OperationsPerInvoke = Tokens, Description = "Generate T=1 top-p 0.95 + logits hook, per token")]
    public int GenerateTopPWithHook() => Consume(1f, 0.95f, KeepGoing.Instance);

    [Benchmark(OperationsPerInvoke = Tokens, Description = "Generate T=1 top-p 1, per token")]
    public int GenerateFull() => Consume(1f, 1f, null);

    [Benchmark(OperationsPerInvoke = Tokens, Description = "Generate T=1 top-p 1 + logits hook (50,257 survivors), per token")]
    public int GenerateFullWithHook() => Consume(1f, 1f, KeepGoing.Instance);

    [Benchmark(OperationsPerInvoke = Tokens, Description = "Generate greedy, per token")]
    public int GenerateGreedy() => Consume(0f, 1f, null);

    [Benchmark(OperationsPerInvoke = Tokens, Description = "Chat answer (length plan + topic cache) T=1 top-p 0.95, per token")]
    public int ChatTopP() => Consume(1f, 0.95f, null, chat: true);

    [Benchmark(OperationsPerInvoke = Tokens, Description = "Chat answer (length plan + topic cache) T=1 top-p 0.95 + logits hook, per token")]
    public int ChatTopPWithHook() => Consume(1f, 0.95f, KeepGoing.Instance, chat: true);

    [Benchmark(OperationsPerInvoke = Tokens, Description = "Chat answer (length plan + topic cache) T=1 top-p 1, per token")]
    public int ChatFull() => Consume(1f, 1f, null, chat: true);

    [Benchmark(Description = "Topic cache of one question (TopicIndex.BiasFor), per request — not per token")]
    public int TopicOfQuestion() => TopicIndex.Shipped.BiasFor(ChatQuestion, _model, TextTokenizer.Gpt2)!.Count;

    /// <summary>Generates exactly <see cref="Tokens"/> tokens, starting a new seeded generation whenever one ends early.</summary>
    private int Consume(float temperature, float topP, ILogitsProcessor? processor, bool chat = false)
    {
        var count = 0;
        for (var seed = 42L; count < Tokens; seed++)
        {
            foreach (var step in _generator.Generate(Request(temperature, topP, seed, Tokens - count, processor, chat)))
            {
                count += step.Tokens.Count;
            }
        }

        return count;
    }

    /// <summary>Rules out end-of-text so every operation generates exactly 256 tokens (and exercises the hook).</summary>
    private sealed class KeepGoing : ILogitsProcessor
    {
        public static readonly KeepGoing Instance = new();

        public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits)
        {
            var index = candidateIds.IndexOf(TextTokenizer.EndOfText);
            if (index >= 0)
            {
                logits[index] = float.NegativeInfinity;
            }
        }
    }
}
