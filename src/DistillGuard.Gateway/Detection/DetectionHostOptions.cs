namespace DistillGuard.Gateway.Detection;

/// <summary>How the gateway runs the detection engine: queue size, re-scoring cadence, calibration file.</summary>
public sealed class DetectionHostOptions
{
    /// <summary>Events waiting for the engine; when full, new events are dropped for detection (never for the usage log) and counted.</summary>
    public int ChannelCapacity { get; set; } = 65_536;

    /// <summary>How often every account is re-scored off the request path (flag transitions are logged, idle accounts pruned).</summary>
    public TimeSpan RescoreInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A provider-specific calibration; null uses <c>&lt;data&gt;/detection-calibration.json</c> when present, else the shipped default.</summary>
    public string? CalibrationPath { get; set; }
}
