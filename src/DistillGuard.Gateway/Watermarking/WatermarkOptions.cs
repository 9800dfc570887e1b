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
}
