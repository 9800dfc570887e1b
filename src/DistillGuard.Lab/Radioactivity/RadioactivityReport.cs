using System.Text.Json.Serialization;

namespace DistillGuard.Lab.Radioactivity;

/// <summary>The outcome of a suspect-model audit: the evidence, the corrections applied and the decoy controls.</summary>
public sealed record RadioactivityReport
{
    /// <summary>What was audited (model id or a description).</summary>
    public required string Suspect { get; init; }

    /// <summary>How the suspect was tested: <see cref="AuditModes.Answers"/> (closed model) or <see cref="AuditModes.Reading"/>.</summary>
    public string Mode { get; init; } = AuditModes.Answers;

    /// <summary>Answers scored (reading mode: texts read).</summary>
    public required int Answers { get; init; }

    /// <summary>Reading mode: positions whose top-1 prediction the suspect did not return or our tokenizer could not map to one token.</summary>
    public long PredictionsMissing { get; init; }

    /// <summary>Tokens in the answers after re-tokenisation with our tokenizer.</summary>
    public required long TokensSeen { get; init; }

    /// <summary>Distinct (window, token) tuples scored.</summary>
    public required long TokensScored { get; init; }

    /// <summary>Tuples skipped because they were already scored somewhere in the corpus.</summary>
    public required long Repeated { get; init; }

    /// <summary>Tuples skipped because their window occurs in a prompt (reading mode: the window occurred earlier in the same text).</summary>
    public required long PromptWindowsDropped { get; init; }

    /// <summary>Tuples skipped because we never served their window (filter on); 0 without the filter.</summary>
    public required long NotServedDropped { get; init; }

    /// <summary>Whether the served-window filter was on, and its size.</summary>
    public required int ServedWindows { get; init; }

    /// <summary>γ, h and payload buckets of the watermark tested.</summary>
    public required double Gamma { get; init; }

    /// <summary>Context width h.</summary>
    public required int ContextWidth { get; init; }

    /// <summary>Payload buckets scored (1 unless tracing).</summary>
    public required int Buckets { get; init; }

    /// <summary>Green tuples under the true key (best bucket).</summary>
    public required long Green { get; init; }

    /// <summary>Green fraction under the true key; γ on unrelated text.</summary>
    public required double GreenFraction { get; init; }

    /// <summary>z-score, for display.</summary>
    public required double ZScore { get; init; }

    /// <summary>log10 of the exact binomial p-value on all scored tuples, uncorrected.</summary>
    public required double Log10PFinal { get; init; }

    /// <summary>log10 p after Bonferroni over the looks (checkpoints + final) and the buckets: the number to quote.</summary>
    public required double Log10P { get; init; }

    /// <summary>Significance level of the verdict.</summary>
    public required double Alpha { get; init; }

    /// <summary>Whether the corrected p is below <see cref="Alpha"/>.</summary>
    public required bool Radioactive { get; init; }

    /// <summary>The pre-registered looks.</summary>
    public required IReadOnlyList<CheckpointResult> Checkpoints { get; init; }

    /// <summary>Size of the Bonferroni family (looks × buckets).</summary>
    public required int Family { get; init; }

    /// <summary>Decoy-key controls.</summary>
    public required DecoySummary Decoys { get; init; }

    /// <summary>Buckets by strength of evidence (tracing mode only).</summary>
    public IReadOnlyList<BucketEvidence>? Trace { get; init; }

    /// <summary>−log10 p against tokens scored for the true key and the decoys' strongest.</summary>
    public required IReadOnlyList<CurvePoint> Curve { get; init; }

    /// <summary>Seconds spent tokenising and scoring (not waiting for the suspect).</summary>
    public required double ScoringSeconds { get; init; }

    /// <summary>Seconds spent collecting answers from the suspect, when known.</summary>
    public double? CollectionSeconds { get; init; }

    /// <summary>The reading-mode test of the same suspect, when it returns log-probabilities for a prompt.</summary>
    public RadioactivityReport? Reading { get; init; }

    /// <summary>Why there is no reading-mode test (the suspect returned no prompt log-probabilities), when it was tried.</summary>
    public string? ReadingUnavailable { get; init; }
}

/// <summary>The audit's two tests of a suspect.</summary>
public static class AuditModes
{
    /// <summary>Closed model: the suspect's answers to probes are scored.</summary>
    public const string Answers = "answers";

    /// <summary>Reading mode: the suspect reads our watermarked text; its top-1 predictions are scored.</summary>
    public const string Reading = "reading";
}

/// <summary>A text the suspect read in reading mode: our token ids and, per position, its top-1 prediction (−1 when unknown).</summary>
/// <param name="Tokens">Our tokenisation of the text.</param>
/// <param name="Predicted">The suspect's likeliest next token after <c>Tokens[..i]</c>, in our token ids, or −1.</param>
public sealed record ReadingRow(int[] Tokens, int[] Predicted);

/// <summary>The evidence at one pre-registered checkpoint.</summary>
public sealed record CheckpointResult(int Tokens, bool Reached, long Green, double Log10P, double Log10PCorrected);

/// <summary>What the decoy keys gave through the same pipeline.</summary>
/// <param name="Count">Decoy keys.</param>
/// <param name="TrueKeyRank">1 + decoys whose corrected p is at most the true key's (1 = the true key is the strongest).</param>
/// <param name="MinLog10P">Smallest corrected log10 p over the decoys.</param>
/// <param name="FractionBelow005">Fraction of decoys with final (uncorrected) p below 0.05; about 0.05 when uniform.</param>
/// <param name="KsStatistic">Kolmogorov–Smirnov distance of the decoys' final p-values from U(0, 1).</param>
/// <param name="KsPValue">Asymptotic p-value of that distance.</param>
/// <param name="FinalPValues">Each decoy's final uncorrected p-value.</param>
public sealed record DecoySummary(int Count, int TrueKeyRank, double MinLog10P, double FractionBelow005, double KsStatistic, double KsPValue, IReadOnlyList<double> FinalPValues);

/// <summary>The evidence for one payload bucket of the true key.</summary>
public sealed record BucketEvidence(int Bucket, long Green, double Log10P, double Log10PCorrected, bool Named);

/// <summary>One point of the p-value curve.</summary>
public sealed record CurvePoint(long Tokens, double MinusLog10P, double DecoyMaxMinusLog10P);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(RadioactivityReport))]
internal sealed partial class RadioactivityJsonContext : JsonSerializerContext;
