using System.Diagnostics;
using DistillGuard.Lab.Evaluation;
using DistillGuard.LanguageModels.Tokenization;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;
using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Lab.Radioactivity;

/// <summary>
/// Tests whether a suspect model learned from our watermarked answers (Sander et al., NeurIPS 2024, closed-model test;
/// research/watermark.md §3.3 and §A.5): its answers are re-tokenised, each (window, token) tuple is scored once across
/// the whole corpus, windows that occur in the prompts are dropped, and the green count gets an exact binomial test.
/// </summary>
/// <remarks>
/// Controls: the same tuples are scored under decoy keys, whose p-values are uniform when nothing is there; the looks at
/// the pre-registered checkpoints and the final count are one Bonferroni family, so stopping at the first significant
/// checkpoint does not inflate the false-positive rate. Thread-safe; pure apart from the tokenizer.
/// </remarks>
public static class RadioactivityAudit
{
    private const byte GreenListTag = (byte)'G';
    private const int Vocabulary = 50_257;

    /// <summary>Audits <paramref name="samples"/> (a suspect's answers to our probes) for <paramref name="key"/>'s watermark.</summary>
    public static RadioactivityReport Run(IReadOnlyList<AuditSample> samples, WatermarkKey key, AuditOptions? options = null, string suspect = "suspect", TextTokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(key);
        options ??= new AuditOptions();
        options.Validate();
        tokenizer ??= TextTokenizer.Gpt2;
        var watch = Stopwatch.StartNew();
        return Evaluate(Collect(samples, options, tokenizer), samples.Count, key, options, suspect, AuditModes.Answers, watch);
    }

    /// <summary>
    /// The open-model "reading mode" test (Sander et al. 2024, research/watermark.md §3.4): the suspect read our
    /// watermarked text, and each (window of our text, the suspect's top-1 prediction after it) is scored.
    /// </summary>
    /// <remarks>
    /// Why this is valid under H0 (a suspect that never learned from us): the prediction at position i depends only on
    /// the text before it, and the green bits of window i's candidates are independent of that text as long as the
    /// window did not occur earlier in it (our teacher's choice there would have depended on them). So a window seen
    /// earlier in the same row is skipped (that also stops a model that copies what followed it earlier), and the green
    /// bit of every other (window, prediction) is Bernoulli(γ) under H0, whether or not the prediction equals the token
    /// our teacher wrote there. Across rows each (window, prediction) tuple counts once.
    /// </remarks>
    public static RadioactivityReport RunReading(IReadOnlyList<ReadingRow> rows, WatermarkKey key, AuditOptions? options = null, string suspect = "suspect")
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(key);
        options ??= new AuditOptions();
        options.Validate();
        var watch = Stopwatch.StartNew();
        return Evaluate(CollectReading(rows, options), rows.Count, key, options, suspect, AuditModes.Reading, watch);
    }

    private static RadioactivityReport Evaluate(ScoredCorpus corpus, int answers, WatermarkKey key, AuditOptions options, string suspect, string mode, Stopwatch watch)
    {
        var width = options.Parameters.ContextWidth;
        var n = corpus.Count;
        var buckets = options.Trace ? options.Parameters.PayloadBuckets : 1;
        var looks = options.Checkpoints.Count + 1;
        var family = looks * buckets;
        var marks = Marks(n, options);
        var gamma = options.Parameters.Gamma;

        var truth = Score(corpus.Tuples, width, key, buckets, marks, options.Parameters.Gamma);
        var decoyKeys = DecoyKeys(options.DecoySeed, options.Decoys);
        CheckAgainstDetector(corpus.Tuples, width, options.Parameters, decoyKeys.Length > 0 ? [key, decoyKeys[0]] : [key]);
        var decoys = new KeyScore[decoyKeys.Length];
        Parallel.For(0, decoyKeys.Length, i => decoys[i] = Score(corpus.Tuples, width, decoyKeys[i], buckets, marks, gamma));

        var trueEvidence = Evidence(truth, marks, n, options, family);
        var decoyEvidence = decoys.Select(d => Evidence(d, marks, n, options, family)).ToArray();

        var finalIndex = marks.Length - 1;
        var bestBucket = n == 0 ? 0 : Enumerable.Range(0, buckets).MinBy(b => LogP(n, truth.Greens[finalIndex][b], gamma));
        var green = n == 0 ? 0 : truth.Greens[finalIndex][bestBucket];

        var checkpoints = options.Checkpoints.Select(c =>
        {
            var index = Array.IndexOf(marks, (long)c);
            if (index < 0)
            {
                return new CheckpointResult(c, false, 0, 0, 0);
            }

            var log = Enumerable.Range(0, buckets).Min(b => LogP(c, truth.Greens[index][b], gamma));
            return new CheckpointResult(c, true, truth.Greens[index].Max(), ToLog10(log), ToLog10(LogProbability.Bonferroni(log, family)));
        }).ToArray();

        var curve = new List<CurvePoint>();
        for (var i = 0; i < marks.Length; i++)
        {
            var tokens = marks[i];
            var trueLog = Enumerable.Range(0, buckets).Min(b => LogP(tokens, truth.Greens[i][b], gamma));
            var decoyLog = decoys.Length == 0 ? 0 : decoys.Min(d => Enumerable.Range(0, buckets).Min(b => LogP(tokens, d.Greens[i][b], gamma)));
            curve.Add(new CurvePoint(tokens, -ToLog10(trueLog), -ToLog10(decoyLog)));
        }

        IReadOnlyList<BucketEvidence>? trace = null;
        if (options.Trace && n > 0)
        {
            trace = [.. Enumerable.Range(0, buckets)
                .Select(b =>
                {
                    var log = LogP(n, truth.Greens[finalIndex][b], gamma);
                    var corrected = LogProbability.Bonferroni(log, buckets);
                    return new BucketEvidence(b, truth.Greens[finalIndex][b], ToLog10(log), ToLog10(corrected), corrected < Math.Log(options.Alpha));
                })
                .OrderBy(b => b.Log10P)];
        }

        var decoyFinals = decoyEvidence.Select(d => Math.Exp(d.FinalLog)).ToArray();
        var (ks, ksP) = KolmogorovSmirnov.AgainstUniform(decoyFinals);
        return new RadioactivityReport
        {
            Suspect = suspect,
            Mode = mode,
            Answers = answers,
            PredictionsMissing = corpus.Missing,
            TokensSeen = corpus.TokensSeen,
            TokensScored = n,
            Repeated = corpus.Repeated,
            PromptWindowsDropped = corpus.PromptDropped,
            NotServedDropped = corpus.NotServedDropped,
            ServedWindows = options.Served?.Count ?? 0,
            Gamma = gamma,
            ContextWidth = width,
            Buckets = buckets,
            Green = green,
            GreenFraction = n == 0 ? 0 : green / (double)n,
            ZScore = BinomialTail.ZScore(n, green, gamma),
            Log10PFinal = ToLog10(trueEvidence.FinalLog),
            Log10P = ToLog10(trueEvidence.CorrectedLog),
            Alpha = options.Alpha,
            Radioactive = trueEvidence.CorrectedLog < Math.Log(options.Alpha),
            Checkpoints = checkpoints,
            Family = family,
            Decoys = new DecoySummary(
                decoys.Length,
                1 + decoyEvidence.Count(d => d.CorrectedLog <= trueEvidence.CorrectedLog),
                decoys.Length == 0 ? 0 : ToLog10(decoyEvidence.Min(d => d.CorrectedLog)),
                decoys.Length == 0 ? 0 : decoyFinals.Count(p => p < 0.05) / (double)decoys.Length,
                ks,
                ksP,
                decoyFinals),
            Trace = trace,
            Curve = curve,
            ScoringSeconds = watch.Elapsed.TotalSeconds,
        };
    }

    /// <summary>Decoy keys: random keys from a seeded stream, unrelated to any key we ever used.</summary>
    public static WatermarkKey[] DecoyKeys(int seed, int count)
    {
        var random = new Random(seed);
        var keys = new WatermarkKey[count];
        Span<byte> material = stackalloc byte[WatermarkKey.Length];
        for (var i = 0; i < count; i++)
        {
            random.NextBytes(material);
            keys[i] = new WatermarkKey(material);
        }

        return keys;
    }

    internal sealed record ScoredCorpus(int[] Tuples, int Count, long TokensSeen, long Repeated, long PromptDropped, long NotServedDropped, long Missing = 0);

    /// <summary>Collects (window of our text, the suspect's prediction) tuples from reading rows.</summary>
    internal static ScoredCorpus CollectReading(IReadOnlyList<ReadingRow> rows, AuditOptions options)
    {
        var width = options.Parameters.ContextWidth;
        var seen = new HashSet<UInt128>();
        var rowWindows = new HashSet<UInt128>();
        var tuples = new List<int>();
        long positions = 0, repeated = 0, rowRepeated = 0, notServed = 0, missing = 0;
        foreach (var row in rows)
        {
            if (row.Predicted.Length != row.Tokens.Length)
            {
                throw new ArgumentException("Each reading row needs one prediction per token.", nameof(rows));
            }

            rowWindows.Clear();
            positions += row.Tokens.Length;
            for (var i = width; i < row.Tokens.Length; i++)
            {
                var window = row.Tokens.AsSpan(i - width, width);
                if (!rowWindows.Add(TuplePacking.Window(window)))
                {
                    rowRepeated++;
                    continue;
                }

                var predicted = row.Predicted[i];
                if (predicted < 0)
                {
                    missing++;
                    continue;
                }

                if (options.Served is { } served && !served.Contains(window))
                {
                    notServed++;
                    continue;
                }

                if (!seen.Add(TuplePacking.Tuple(window, predicted)))
                {
                    repeated++;
                    continue;
                }

                tuples.AddRange(window);
                tuples.Add(predicted);
            }
        }

        return new ScoredCorpus([.. tuples], tuples.Count / (width + 1), positions, repeated, rowRepeated, notServed, missing);
    }

    /// <summary>
    /// Recomputes the green bit of a sample of tuples with the watermark library's own detector and stops the audit on
    /// any disagreement.
    /// </summary>
    /// <remarks>
    /// The scoring loop computes green bits from the key's primitives for speed (100 decoys × 100,000 tuples in well
    /// under a second; a detector call per tuple and key would take seconds). This check ties that loop to
    /// <see cref="TokenDetector"/>, so a change of the library's green-bit function fails the audit loudly instead of
    /// quietly scoring the wrong bits.
    /// </remarks>
    private static void CheckAgainstDetector(int[] tuples, int width, WatermarkParameters parameters, WatermarkKey[] keys)
    {
        var single = parameters with { PayloadBuckets = 1 };
        var threshold = GreenThreshold(single.Gamma);
        var stride = width + 1;
        var count = tuples.Length / stride;
        var step = Math.Max(1, count / 128);
        foreach (var key in keys)
        {
            var detector = new TokenDetector([key], single);
            var options = new DetectorOptions { MinScoredTokens = 1 };
            for (var t = 0; t < count; t += step)
            {
                var tuple = tuples.AsSpan(t * stride, stride);
                var ours = IsGreen(WindowSeed(key, tuple[..width]), tuple[width], threshold);
                var detection = detector.Detect(tuple, options);
                if (detection.ScoredTokens != 1 || (detection.GreenFraction == 1) != ours)
                {
                    throw new InvalidOperationException("The audit's green bits disagree with the watermark library's detector; update RadioactivityAudit.Score to the library's green-bit function.");
                }
            }
        }
    }

    /// <summary>Re-tokenises the answers and keeps each (window, token) tuple once, without prompt windows (and only served ones).</summary>
    internal static ScoredCorpus Collect(IReadOnlyList<AuditSample> samples, AuditOptions options, TextTokenizer tokenizer)
    {
        var width = options.Parameters.ContextWidth;
        var promptWindows = new HashSet<UInt128>();
        foreach (var sample in samples)
        {
            var prompt = tokenizer.Encode(sample.Prompt);
            for (var i = width; i <= prompt.Length; i++)
            {
                promptWindows.Add(TuplePacking.Window(prompt.AsSpan(i - width, width)));
            }
        }

        var seen = new HashSet<UInt128>();
        var tuples = new List<int>();
        long tokensSeen = 0, repeated = 0, promptDropped = 0, notServed = 0;
        foreach (var sample in samples)
        {
            var answer = tokenizer.Encode(sample.Answer);
            tokensSeen += answer.Length;
            for (var i = width; i < answer.Length; i++)
            {
                var window = answer.AsSpan(i - width, width);
                if (promptWindows.Contains(TuplePacking.Window(window)))
                {
                    promptDropped++;
                    continue;
                }

                if (options.Served is { } served && !served.Contains(window))
                {
                    notServed++;
                    continue;
                }

                if (!seen.Add(TuplePacking.Tuple(window, answer[i])))
                {
                    repeated++;
                    continue;
                }

                foreach (var id in answer.AsSpan(i - width, width + 1))
                {
                    tuples.Add(id);
                }
            }
        }

        return new ScoredCorpus([.. tuples], tuples.Count / (width + 1), tokensSeen, repeated, promptDropped, notServed);
    }

    /// <summary>The counts at which the evidence is recorded: the curve's grid, the checkpoints reached and the total.</summary>
    private static long[] Marks(int n, AuditOptions options)
    {
        var marks = new SortedSet<long>();
        var step = Math.Max(1, n / options.CurvePoints);
        for (long c = step; c < n; c += step)
        {
            marks.Add(c);
        }

        foreach (var c in options.Checkpoints)
        {
            if (c <= n)
            {
                marks.Add(c);
            }
        }

        marks.Add(n);
        return [.. marks];
    }

    private sealed record KeyScore(long[][] Greens);

    private static KeyScore Score(int[] tuples, int width, WatermarkKey key, int buckets, long[] marks, double gamma)
    {
        var threshold = GreenThreshold(gamma);
        var greens = new long[buckets];
        var snapshots = new long[marks.Length][];
        var next = 0;
        var stride = width + 1;
        var count = tuples.Length / stride;
        while (next < marks.Length && marks[next] == 0)
        {
            snapshots[next++] = (long[])greens.Clone();
        }

        for (var t = 0; t < count; t++)
        {
            var tuple = tuples.AsSpan(t * stride, stride);
            var seed = WindowSeed(key, tuple[..width]);
            var token = tuple[width];
            for (var m = 0; m < buckets; m++)
            {
                var id = token + m;
                if (id >= Vocabulary)
                {
                    id -= Vocabulary;
                }

                greens[m] += IsGreen(seed, id, threshold) ? 1 : 0;
            }

            while (next < marks.Length && marks[next] == t + 1)
            {
                snapshots[next++] = (long[])greens.Clone();
            }
        }

        return new KeyScore(snapshots);
    }

    // The green-bit function of the green-list scheme, in one place: Score uses it for every key, CheckAgainstDetector
    // holds it against the library's TokenDetector.
    private static ulong GreenThreshold(double gamma) => (ulong)(gamma * 18446744073709551616.0);

    private static ulong WindowSeed(WatermarkKey key, ReadOnlySpan<int> window) => key.WindowSeed(GreenListTag, window);

    private static bool IsGreen(ulong seed, int token, ulong threshold) => WatermarkKey.TokenValue(seed, token) < threshold;

    private readonly record struct KeyEvidence(double FinalLog, double CorrectedLog);

    private static KeyEvidence Evidence(KeyScore score, long[] marks, int n, AuditOptions options, int family)
    {
        var gamma = options.Parameters.Gamma;
        var buckets = score.Greens[0].Length;
        var final = score.Greens[^1];
        var finalLog = LogProbability.Sidak(Enumerable.Range(0, buckets).Min(b => LogP(n, final[b], gamma)), buckets);
        var best = Enumerable.Range(0, buckets).Min(b => LogP(n, final[b], gamma));
        foreach (var c in options.Checkpoints)
        {
            var index = Array.IndexOf(marks, (long)c);
            if (index >= 0)
            {
                best = Math.Min(best, Enumerable.Range(0, buckets).Min(b => LogP(c, score.Greens[index][b], gamma)));
            }
        }

        return new KeyEvidence(finalLog, LogProbability.Bonferroni(best, family));
    }

    // P(X ≥ s): the conservative tail, so each look is valid on its own before the Bonferroni correction.
    private static double LogP(long n, long s, double gamma) => n == 0 ? 0 : BinomialTail.LogUpper(n, s, gamma);

    private static double ToLog10(double log) => LogProbability.ToLog10(log);
}
