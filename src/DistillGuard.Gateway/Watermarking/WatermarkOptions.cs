namespace DistillGuard.Gateway.Watermarking;

/// <summary>The watermark the built-in model writes and the detector looks for (config section <c>watermark</c>).</summary>
/// <remarks>The key is never configured here: it is created on first start in the data directory (<c>watermark-key</c>).</remarks>
public sealed class WatermarkOptions
{
    /// <summary>Whether the built-in model marks its output; on by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>green-list</c> (default) or <c>gumbel</c> (distortion-free).</summary>
    public string Scheme { get; set; } = "green-list";

    /// <summary>Green-list fraction γ (default 0.25).</summary>
    public double Gamma { get; set; } = 0.25;

    /// <summary>Green-list logit bias δ (default 2.0).</summary>
    public double Delta { get; set; } = 2.0;

    /// <summary>Context width h; null takes the scheme's default (2 for the green list, 4 for Gumbel).</summary>
    public int? ContextWidth { get; set; }

    /// <summary>Account buckets encoded in the green list for tracing (1 = off).</summary>
    public int PayloadBuckets { get; set; } = 1;

    /// <summary>The key epoch that marks new output; raise it to rotate the key.</summary>
    public int Epoch { get; set; }

    /// <summary>How many of the most recent epochs detection tries (p-values are corrected for them).</summary>
    public int DetectEpochs { get; set; } = 1;

    /// <summary>p-value below which the detect endpoint says <c>watermarked</c>.</summary>
    public double DetectionThreshold { get; set; } = 1e-3;

    /// <summary>Fewest scored tokens for a verdict.</summary>
    public int MinScoredTokens { get; set; } = 16;

    /// <summary>Post-hoc lexical watermark on upstream (black-box) answers; off by default because it changes words.</summary>
    public bool LexicalForUpstreams { get; set; }

    /// <summary>Who may switch an engine's watermark off with <c>"watermarking": false</c>, per account tier.</summary>
    public EngineOptOutOptions EngineOptOut { get; set; } = new();
}

/// <summary>
/// What the gateway does with a request's <c>"watermarking": false</c> (vLLM's per-request opt-out), per account tier:
/// <c>allow</c> forwards it, <c>strip</c> removes it (the engine marks as configured), <c>refuse</c> answers 400.
/// </summary>
/// <remarks>vLLM's documentation leaves this to the ingress: deployments that require the mark must restrict the field to trusted callers.</remarks>
public sealed class EngineOptOutOptions
{
    /// <summary>The rule for tiers not listed in <see cref="Tiers"/>; <c>strip</c> by default, so no untrusted caller turns the mark off.</summary>
    public string Default { get; set; } = EngineOptOutRule.Strip;

    /// <summary>Rules by tier name, e.g. <c>{ "internal": "allow", "free": "refuse" }</c>.</summary>
    public Dictionary<string, string> Tiers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The rule of <paramref name="tier"/>.</summary>
    public string For(string tier) => Tiers.TryGetValue(tier, out var rule) ? rule : Default;
}

/// <summary>The rules of <see cref="EngineOptOutOptions"/>.</summary>
public static class EngineOptOutRule
{
    /// <summary>Forward the opt-out as sent.</summary>
    public const string Allow = "allow";

    /// <summary>Remove the field before forwarding.</summary>
    public const string Strip = "strip";

    /// <summary>Answer 400 <c>watermarking_not_allowed</c>.</summary>
    public const string Refuse = "refuse";

    internal static bool IsKnown(string? rule) => rule is Allow or Strip or Refuse;
}
