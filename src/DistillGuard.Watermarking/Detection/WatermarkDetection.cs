namespace DistillGuard.Watermarking.Detection;

/// <summary>What the detector concluded about one text.</summary>
public sealed record WatermarkDetection
{
    /// <summary>The scheme tested, e.g. <c>green-list</c>, <c>gumbel</c> or <c>lexical</c>.</summary>
    public required string Scheme { get; init; }

    /// <summary>The p-value, corrected for the keys, payloads and windows tried (0 once below the double range; see <see cref="Log10PValue"/>).</summary>
    public required double PValue { get; init; }

    /// <summary>log10 of <see cref="PValue"/>, exact far below 1e-300.</summary>
    public required double Log10PValue { get; init; }

    /// <summary>The conservative p-value P(X ≥ S) before tie randomization, corrected like <see cref="PValue"/>.</summary>
    public required double ConservativePValue { get; init; }

    /// <summary>z-score of the best key and payload, for display only; decisions use the p-value.</summary>
    public required double ZScore { get; init; }

    /// <summary>Tokens (or words) the text has after normalisation.</summary>
    public required int TotalTokens { get; init; }

    /// <summary>Distinct (window, token) tuples scored.</summary>
    public required int ScoredTokens { get; init; }

    /// <summary>Tokens skipped because their (window, token) tuple was already scored.</summary>
    public required int RepeatedTokens { get; init; }

    /// <summary>Fraction of scored tokens that are green (expected γ on unmarked text).</summary>
    public required double GreenFraction { get; init; }

    /// <summary>The raw test statistic where the scheme reports one (Σ −ln(1 − u) for the engine Gumbel schemes).</summary>
    public double? Score { get; init; }

    /// <summary>True when the text has enough tokens and <see cref="PValue"/> is below <see cref="Threshold"/>.</summary>
    public required bool Watermarked { get; init; }

    /// <summary>The threshold the verdict used.</summary>
    public required double Threshold { get; init; }

    /// <summary><c>watermarked</c>, <c>not watermarked</c> or <c>not enough tokens to decide</c>.</summary>
    public required string Verdict { get; init; }

    /// <summary>Keys (epochs) tried; the p-value is corrected for them.</summary>
    public int KeysTried { get; init; } = 1;

    /// <summary>Payload buckets tried; the p-value is corrected for them.</summary>
    public int PayloadsTried { get; init; } = 1;

    /// <summary>The epoch of the best-matching key.</summary>
    public int? Epoch { get; init; }

    /// <summary>The decoded payload (account bucket) when the text is watermarked and payloads are on.</summary>
    public int? Payload { get; init; }

    /// <summary>The best-scoring window when windowed detection ran.</summary>
    public WindowMatch? Window { get; init; }

    /// <summary>Per-token colouring, when asked for.</summary>
    public IReadOnlyList<TokenColour>? Tokens { get; init; }
}

/// <summary>The best window of a windowed detection: token range and its uncorrected p-value.</summary>
public sealed record WindowMatch(int StartToken, int EndToken, int ScoredTokens, double Log10PValueUncorrected, int WindowsTried);

/// <summary>One token of the text and how the detector saw it: <c>context</c>, <c>repeated</c>, <c>green</c> or <c>red</c>.</summary>
public sealed record TokenColour(int Index, string Text, string State, double Score);

/// <summary>How the detector decides.</summary>
public sealed record DetectorOptions
{
    /// <summary>p-value below which a text is called watermarked; the contract's default is 1e-3.</summary>
    public double Threshold { get; init; } = 1e-3;

    /// <summary>Fewest scored tokens for any verdict; shorter texts get "not enough tokens to decide".</summary>
    public int MinScoredTokens { get; init; } = 16;

    /// <summary>Also search windows (32, 64, 128, … scored tokens, quarter stride) for partly watermarked text.</summary>
    public bool Windowed { get; init; }

    /// <summary>Return per-token colouring.</summary>
    public bool Colour { get; init; }
}

/// <summary>Verdict strings.</summary>
public static class Verdicts
{
    /// <summary>The text carries the watermark at the threshold.</summary>
    public const string Watermarked = "watermarked";

    /// <summary>No evidence of the watermark at the threshold.</summary>
    public const string NotWatermarked = "not watermarked";

    /// <summary>Too few scored tokens for any verdict.</summary>
    public const string TooShort = "not enough tokens to decide";
}
