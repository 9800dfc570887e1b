using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Lab.Radioactivity;

/// <summary>Settings of a suspect-model audit; everything that shapes the test is fixed here, before any answer is seen.</summary>
public sealed class AuditOptions
{
    /// <summary>Checkpoints of scored tokens at which the evidence is looked at (pre-registered; §A.5 step 5).</summary>
    public static IReadOnlyList<int> DefaultCheckpoints { get; } = [5_000, 10_000, 25_000, 50_000, 100_000];

    /// <summary>The watermark the teacher used (green list only: the gateway's default γ 0.25, h 2).</summary>
    public WatermarkParameters Parameters { get; init; } = WatermarkParameters.GreenListDefaults;

    /// <summary>How many decoy keys go through the same pipeline (≥ 100 for the report's controls).</summary>
    public int Decoys { get; init; } = 100;

    /// <summary>Seed of the decoy keys, so that a report can be reproduced.</summary>
    public int DecoySeed { get; init; } = 20_240_611;

    /// <summary>Checkpoints in scored tokens; the final count is one more look, so the family has <c>Count + 1</c> members.</summary>
    public IReadOnlyList<int> Checkpoints { get; init; } = DefaultCheckpoints;

    /// <summary>Significance level of the verdict, after the corrections (1e-5 is the radioactivity paper's headline level).</summary>
    public double Alpha { get; init; } = 1e-5;

    /// <summary>Optional evidence filter: score only windows we served.</summary>
    public ServedWindows? Served { get; init; }

    /// <summary>Whether to score every payload bucket of the true key and name the strongest (tracing mode).</summary>
    public bool Trace { get; init; }

    /// <summary>Points on the p-value curve.</summary>
    public int CurvePoints { get; init; } = 200;

    /// <summary>Throws when the options are unusable.</summary>
    public void Validate()
    {
        Parameters.Validate();
        if (Parameters.Scheme != WatermarkScheme.GreenList)
        {
            throw new ArgumentException("The audit tests the green-list scheme.", nameof(Parameters));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(Decoys);
        ArgumentOutOfRangeException.ThrowIfLessThan(CurvePoints, 2);
        if (!(Alpha > 0 && Alpha < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Alpha), "Alpha must be in (0, 1).");
        }

        if (Checkpoints.Count == 0 || Checkpoints.Any(c => c < 1) || Checkpoints.Zip(Checkpoints.Skip(1)).Any(p => p.First >= p.Second))
        {
            throw new ArgumentException("Checkpoints must be positive and increasing.", nameof(Checkpoints));
        }

        if (Served is not null && Served.Width != Parameters.ContextWidth)
        {
            throw new ArgumentException("The served windows must have the watermark's context width.", nameof(Served));
        }
    }
}
