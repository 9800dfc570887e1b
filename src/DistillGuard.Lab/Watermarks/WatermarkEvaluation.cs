using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using DistillGuard.Lab.Evaluation;
using DistillGuard.Lab.ModelQuality;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Corpus;
using DistillGuard.LanguageModels.Model;
using DistillGuard.LanguageModels.Sampling;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Lexical;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Lab.Watermarks;

/// <summary>How big the evaluation is; <see cref="Quick"/> is for tests.</summary>
public sealed record EvaluationSettings
{
    /// <summary>Watermarked texts per scheme for power and robustness.</summary>
    public int PowerTexts { get; init; } = 300;

    /// <summary>Texts per δ for quality.</summary>
    public int QualityTexts { get; init; } = 200;

    /// <summary>Unwatermarked texts (mixed lengths) for the false-positive study.</summary>
    public int NullTexts { get; init; } = 100_000;

    /// <summary>Seed of every random choice (prompts, sampling, attacks, spans).</summary>
    public int Seed { get; init; } = 20261126;

    /// <summary>A small run for tests (seconds).</summary>
    public static EvaluationSettings Quick { get; } = new() { PowerTexts = 16, QualityTexts = 8, NullTexts = 2_000 };
}

/// <summary>One row: a condition and its detection rate with a 95 % interval.</summary>
public sealed record RateRow(string Scheme, string Condition, int Tokens, long Hits, long Total, double Low, double High, double MedianLog10P, string Note = "")
{
    /// <summary>Hits / Total.</summary>
    public double Rate => Total == 0 ? 0 : Hits / (double)Total;
}

/// <summary>False positives of one scheme on one null set.</summary>
public sealed record NullRow(string Scheme, string Set, long Texts, double KsD, double KsP, IReadOnlyList<(double Alpha, long FalsePositives, double Low, double High)> Rates);

/// <summary>Perplexity of generated text under two models.</summary>
public sealed record QualityRow(string Condition, int Texts, double TeacherPerplexity, double IndependentPerplexity, double GreenFraction);

/// <summary>Everything the report shows.</summary>
public sealed record EvaluationResult
{
    public required EvaluationSettings Settings { get; init; }
    public required List<RateRow> Power { get; init; }
    public required List<RateRow> Robustness { get; init; }
    public required List<NullRow> Nulls { get; init; }
    public required List<QualityRow> Quality { get; init; }
    public required List<RateRow> Lexical { get; init; }
    public required List<string> Notes { get; init; }
    public required double[] NullPValuesSample { get; init; }
    public required TimeSpan Elapsed { get; init; }
}

/// <summary>The watermark evaluation: false positives, power against length, robustness, quality.</summary>
/// <remarks>
/// Generation: the teacher continues 8-token prompts from held-out Brown paragraphs at temperature 1, top-p 0.95,
/// with end-of-text suppressed so every text has exactly the tokens asked for. Detection: the text is decoded and
/// re-tokenized, as a leaked text would be. Thresholds are fixed in advance (p &lt; 1e-3); nothing is tuned on the
/// scored cases. The key is a fixed evaluation key (SHA-256 of a label), never a deployment key.
/// </remarks>
public static class WatermarkEvaluation
{
    private static readonly double[] Alphas = [1e-2, 1e-3, 1e-4];
    private static readonly int[] Lengths = [25, 50, 100, 200];
    private const double Threshold = 1e-3;
    private const float Temperature = 1f;
    private const float TopP = 0.95f;

    /// <summary>Runs the evaluation with <paramref name="teacher"/> as the watermarked model.</summary>
    public static EvaluationResult Run(ILanguageModel teacher, EvaluationSettings settings, Action<string>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        var tokenizer = TextTokenizer.Gpt2;
        var master = new WatermarkKey(SHA256.HashData(Encoding.ASCII.GetBytes("distillguard watermark evaluation key")));
        var key = master.DeriveEpoch(0);
        var greenParameters = WatermarkParameters.GreenListDefaults;
        var gumbelParameters = WatermarkParameters.GumbelDefaults;
        var notes = new List<string>();

        var heldOut = CorpusSplits.Tokenize(CorpusSplits.HeldOutBrown());
        var prompts = heldOut.Where(s => s.Length >= 8).Select(s => s[..8]).ToArray();
        var humanStream = heldOut.SelectMany(s => s).ToArray();
        progress?.Invoke($"Held-out Brown: {heldOut.Length:N0} paragraphs, {humanStream.Length:N0} tokens.");

        var count = Math.Max(settings.PowerTexts, settings.QualityTexts);
        int[][] Make(ILogitsProcessor? processor, int texts, int salt) =>
            GenerateMany(teacher, prompts, processor, texts, 200, settings.Seed + salt);

        var plain = Make(null, count, 0);
        var green = Make(WatermarkProcessors.Create(key, greenParameters), count, 1);
        var gumbel = Make(WatermarkProcessors.Create(key, gumbelParameters), settings.PowerTexts, 2);
        var delta1 = Make(WatermarkProcessors.Create(key, greenParameters with { Delta = 1 }), settings.QualityTexts, 3);
        var delta3 = Make(WatermarkProcessors.Create(key, greenParameters with { Delta = 3 }), settings.QualityTexts, 4);
        progress?.Invoke($"Generated {(2 * count) + settings.PowerTexts + (2 * settings.QualityTexts):N0} texts of 200 tokens in {watch.Elapsed.TotalSeconds:F0} s.");

        var greenDetector = new TextDetector(new TokenDetector([key], greenParameters), tokenizer);
        var gumbelDetector = new TextDetector(new TokenDetector([key], gumbelParameters), tokenizer);

        // Power against length, on prefixes of the same texts.
        var power = new List<RateRow>();
        foreach (var (name, detector, texts) in new[] { ("green-list", greenDetector, green[..settings.PowerTexts]), ("gumbel", gumbelDetector, gumbel), ("green-list on unmarked output", greenDetector, plain[..settings.PowerTexts]) })
        {
            foreach (var length in Lengths)
            {
                var results = texts.AsParallel().AsOrdered().Select(t => detector.Detect(tokenizer.Decode(t.AsSpan(0, length)))).ToArray();
                power.Add(Rate(name, "clean", length, results));
            }
        }

        progress?.Invoke($"Power done at {watch.Elapsed.TotalSeconds:F0} s.");

        // Robustness at 200 tokens.
        var robustness = new List<RateRow>();
        var humanTexts = Enumerable.Range(0, settings.PowerTexts).Select(i => tokenizer.Decode(Span(humanStream, 600, new Random(settings.Seed + 7 + i)))).ToArray();
        foreach (var (name, detector, texts) in new[] { ("green-list", greenDetector, green[..settings.PowerTexts]), ("gumbel", gumbelDetector, gumbel) })
        {
            var decoded = texts.Select(t => tokenizer.Decode(t)).ToArray();
            robustness.Add(Rate(name, "clean", 200, decoded.AsParallel().AsOrdered().Select(t => detector.Detect(t)).ToArray()));
            foreach (var ratio in new[] { 0.1, 0.3 })
            {
                var attacked = decoded.Select((t, i) => TextAttacks.DeleteWords(t, ratio, new Random(settings.Seed + (int)(ratio * 100) + i))).ToArray();
                robustness.Add(Rate(name, $"{ratio:P0} word deletion", 200, attacked.AsParallel().AsOrdered().Select(t => detector.Detect(t)).ToArray()));
            }

            foreach (var ratio in new[] { 0.1, 0.2 })
            {
                var attacked = decoded.Select((t, i) => TextAttacks.SubstituteSynonyms(t, ratio, new Random(settings.Seed + 1000 + (int)(ratio * 100) + i))).ToArray();
                var realized = attacked.Average(a => a.Replaced);
                robustness.Add(Rate(name, $"{ratio:P0} synonym substitution", 200, attacked.AsParallel().AsOrdered().Select(a => detector.Detect(a.Text)).ToArray(), $"{realized:P1} of words replaced on average"));
            }

            var diluted = decoded.Select((t, i) => Insert(humanTexts[i], t, new Random(settings.Seed + 3000 + i))).ToArray();
            robustness.Add(Rate(name, "25 % copy-paste (200 marked in 800)", 800, diluted.AsParallel().AsOrdered().Select(t => detector.Detect(t)).ToArray(), "whole-text test"));
            robustness.Add(Rate(name, "25 % copy-paste (200 marked in 800)", 800, diluted.AsParallel().AsOrdered().Select(t => detector.Detect(t, new DetectorOptions { Windowed = true })).ToArray(), "windowed test, Bonferroni over windows"));
        }

        progress?.Invoke($"Robustness done at {watch.Elapsed.TotalSeconds:F0} s.");

        // False positives: mixed-length spans of human text and unmarked model output, each under its own key, so the
        // texts are independent tests even where spans overlap.
        var modelStream = plain.SelectMany(t => t).ToArray();
        var nulls = new List<NullRow>();
        double[] sample = [];
        foreach (var (name, parameters) in new[] { ("green-list", greenParameters), ("gumbel", gumbelParameters) })
        {
            var pValues = new double[settings.NullTexts];
            Parallel.For(0, settings.NullTexts, i =>
            {
                var random = new Random(unchecked((settings.Seed * 31) + (i * 2) + (name == "gumbel" ? 1 : 0)));
                var length = (int)Math.Round(Math.Exp(Math.Log(16) + (random.NextDouble() * (Math.Log(1000) - Math.Log(16)))));
                var span = Span(i % 2 == 0 ? humanStream : modelStream, length, random);
                pValues[i] = new TokenDetector([master.DeriveEpoch(1_000 + i)], parameters).Detect(span).PValue;
            });
            nulls.Add(Null(name, "human + unmarked model output, 16–1,000 tokens", pValues));
            if (sample.Length == 0)
            {
                sample = pValues;
            }

            // Wrong keys: marked texts of this scheme scored under keys that did not mark them.
            var marked = name == "green-list" ? green[..settings.PowerTexts] : gumbel;
            var perText = (settings.NullTexts + marked.Length - 1) / marked.Length;
            var wrong = new double[marked.Length * perText];
            Parallel.For(0, wrong.Length, i =>
            {
                wrong[i] = new TokenDetector([master.DeriveEpoch(500_000 + i)], parameters).Detect(marked[i / perText]).PValue;
            });
            nulls.Add(Null(name, $"marked 200-token texts, wrong key ({perText} keys each)", wrong));
        }

        progress?.Invoke($"False positives done at {watch.Elapsed.TotalSeconds:F0} s.");

        // Quality: perplexity under the teacher and under a trigram trained on text the teacher never saw.
        var independent = KneserNeyTrainer.Train(heldOut, 3, new KneserNeyOptions { Id = "held-out-brown-trigram" });
        var quality = new List<QualityRow>();
        foreach (var (condition, texts) in new[] { ("unwatermarked", plain), ("green-list δ = 1", delta1), ("green-list δ = 2 (default)", green), ("green-list δ = 3", delta3), ("gumbel (distortion-free)", gumbel) })
        {
            var used = texts[..Math.Min(texts.Length, settings.QualityTexts)];
            var fraction = used.AsParallel().Select(t => greenDetector.Tokens.Detect(t)).Average(d => d.GreenFraction);
            quality.Add(new QualityRow(condition, used.Length, ModelEvaluation.Perplexity(teacher, used), ModelEvaluation.Perplexity(independent, used), fraction));
        }

        notes.Add("The independent model is a trigram Kneser–Ney model trained on the held-out Brown documents, which the teacher never saw; the prompts come from those documents too, so its perplexities are lower than a truly foreign model's would be.");

        // Lexical watermark on human text: detection, false positives, and what it changes.
        var lexical = new LexicalWatermark([key]);
        var lexicalRows = new List<RateRow>();
        foreach (var length in new[] { 200, 400 })
        {
            var texts = Enumerable.Range(0, settings.PowerTexts).Select(i => tokenizer.Decode(Span(humanStream, length, new Random(settings.Seed + 5000 + i)))).ToArray();
            var marked = texts.Select(lexical.Mark).ToArray();
            lexicalRows.Add(Rate("lexical", "marked human text", length, marked.Select(t => lexical.Detect(t)).ToArray()));
            lexicalRows.Add(Rate("lexical", "unmarked human text", length, texts.Select(t => lexical.Detect(t)).ToArray()));
            if (length == 400)
            {
                var changed = texts.Zip(marked).Average(p => ChangedWords(p.First, p.Second));
                var before = ModelEvaluation.Perplexity(teacher, texts.Select(tokenizer.Encode));
                var after = ModelEvaluation.Perplexity(teacher, marked.Select(tokenizer.Encode));
                notes.Add($"Lexical watermark cost on 400-token human spans: {changed:P1} of words replaced; teacher perplexity {before:F1} → {after:F1} ({(after / before) - 1:P1}).");
            }
        }

        return new EvaluationResult
        {
            Settings = settings,
            Power = power,
            Robustness = robustness,
            Nulls = nulls,
            Quality = quality,
            Lexical = lexicalRows,
            Notes = notes,
            NullPValuesSample = sample,
            Elapsed = watch.Elapsed,
        };
    }

    private static RateRow Rate(string scheme, string condition, int tokens, WatermarkDetection[] results, string note = "")
    {
        var hits = results.LongCount(r => r.PValue < Threshold && r.ScoredTokens > 0);
        var interval = BinomialInterval.Of((int)hits, results.Length);
        var logs = results.Select(r => r.Log10PValue).Order().ToArray();
        return new RateRow(scheme, condition, tokens, hits, results.Length, interval.Lower, interval.Upper, logs.Length == 0 ? 0 : logs[logs.Length / 2], note);
    }

    private static NullRow Null(string scheme, string set, double[] pValues)
    {
        Array.Sort(pValues);
        var (d, p) = KolmogorovSmirnov.AgainstUniform(pValues);
        var rates = Alphas.Select(alpha =>
        {
            var k = pValues.LongCount(v => v < alpha);
            var (low, high) = EvaluationStatistics.ClopperPearson(k, pValues.Length);
            return (alpha, k, low, high);
        }).ToList();
        return new NullRow(scheme, set, pValues.Length, d, p, rates);
    }

    private static int[] Span(int[] stream, int length, Random random)
    {
        length = Math.Min(length, stream.Length);
        var start = random.Next(0, stream.Length - length + 1);
        return stream.AsSpan(start, length).ToArray();
    }

    private static string Insert(string host, string inserted, Random random)
    {
        var spaces = Enumerable.Range(0, host.Length).Where(i => host[i] == ' ').ToArray();
        var at = spaces.Length == 0 ? host.Length : spaces[random.Next(spaces.Length)];
        return host[..at] + " " + inserted.Trim() + host[at..];
    }

    private static double ChangedWords(string before, string after)
    {
        var a = LexicalWatermark.Words(before);
        var b = LexicalWatermark.Words(after);
        var changed = a.Zip(b).Count(p => !string.Equals(p.First, p.Second, StringComparison.Ordinal));
        return a.Count == 0 ? 0 : changed / (double)a.Count;
    }

    private static int[][] GenerateMany(ILanguageModel model, int[][] prompts, ILogitsProcessor? watermark, int texts, int tokens, int seed)
    {
        var generator = new TextGenerator(model, TextTokenizer.Gpt2);
        var processor = new EndOfTextSuppressor(watermark);
        var results = new int[texts][];
        Parallel.For(0, texts, i =>
        {
            var prompt = prompts[(i * 7919) % prompts.Length];
            var ids = new List<int>(tokens);
            var stalled = false;
            for (var attempt = 0; ids.Count < tokens; attempt++)
            {
                // End-of-text survives only when it is the sole candidate of the nucleus; then one step is drawn from
                // the whole vocabulary (end-of-text still suppressed) and the text goes on from there.
                var request = new GenerationRequest
                {
                    PromptTokens = [.. prompt, .. ids],
                    MaxTokens = stalled ? 1 : tokens - ids.Count,
                    Temperature = Temperature,
                    TopP = stalled ? 1f : TopP,
                    Seed = seed + (i * 104_729L) + attempt,
                    LogitsProcessor = processor,
                };
                var before = ids.Count;
                foreach (var step in generator.Generate(request))
                {
                    foreach (var token in step.Tokens)
                    {
                        ids.Add(token.Id);
                    }
                }

                stalled = ids.Count == before;
            }

            results[i] = [.. ids];
        });
        return results;
    }

    /// <summary>Forbids end-of-text so every evaluation text has its full length, then applies the watermark (if any).</summary>
    private sealed class EndOfTextSuppressor(ILogitsProcessor? inner) : ILogitsProcessor
    {
        public void Process(in LogitsContext context, ReadOnlySpan<int> candidateIds, Span<float> logits)
        {
            var index = candidateIds.IndexOf(TextTokenizer.EndOfText);
            if (index >= 0 && candidateIds.Length > 1)
            {
                logits[index] = float.NegativeInfinity;
            }

            inner?.Process(context, candidateIds, logits);
        }
    }
}
