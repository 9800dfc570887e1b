namespace DistillGuard.Gateway.Detection;

/// <summary>How the gateway runs the detection engine: queue size, re-scoring cadence, calibration file.</summary>
public sealed class DetectionHostOptions
{
    /// <summary>Events waiting for the engine; when full, new events are dropped for detection (never for the usage log) and counted.</summary>
    public int ChannelCapacity { get; set; } = 65_536;

    /// <summary>How often every account is re-scored off the request path (flag transitions are logged, idle accounts pruned).</summary>
    public TimeSpan RescoreInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How much of the usage log the engine folds in at start, so a restart forgets no account (8 days: the engine's
    /// longest window, the week of hour-of-week entropy, with a day's margin); zero starts empty.
    /// </summary>
    public TimeSpan WarmStartWindow { get; set; } = TimeSpan.FromDays(8);

    /// <summary>Most events the warm start reads, from the start of its window.</summary>
    public int WarmStartLimit { get; set; } = 5_000_000;

    /// <summary>A provider-specific calibration; null uses <c>&lt;data&gt;/detection-calibration.json</c> when present, else the shipped default.</summary>
    public string? CalibrationPath { get; set; }
}
