using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Detection;

/// <summary>Detection log messages (event ids 4000–4099). Never carries prompt text.</summary>
internal static partial class DetectionLog
{
    [LoggerMessage(4000, LogLevel.Information, "Detection calibration loaded from {Source} ({References} references, review threshold {Review:F2}, friction threshold {Friction:F2}).")]
    public static partial void CalibrationLoaded(ILogger logger, string source, int references, double review, double friction);

    [LoggerMessage(4001, LogLevel.Warning, "No detection calibration is available; accounts stay unscored.")]
    public static partial void NoCalibration(ILogger logger);

    [LoggerMessage(4002, LogLevel.Warning, "Account {AccountId} entered the {Level} band (score {Score:F3}; reasons {Reasons}).")]
    public static partial void AccountFlagged(ILogger logger, string accountId, string level, double score, string reasons);

    [LoggerMessage(4003, LogLevel.Warning, "Detection is behind: {Dropped} usage events dropped so far.")]
    public static partial void EventsDropped(ILogger logger, long dropped);

    [LoggerMessage(4004, LogLevel.Error, "Detection failed on a usage event; the event is skipped.")]
    public static partial void ObserveFailed(ILogger logger, Exception exception);

    [LoggerMessage(4006, LogLevel.Information, "Detection state rebuilt from the usage log: {Events} events of {Accounts} accounts in {Seconds:F1} s.")]
    public static partial void WarmStarted(ILogger logger, long events, int accounts, double seconds);

    [LoggerMessage(4007, LogLevel.Error, "Rebuilding detection state from the usage log failed; accounts are scored from new traffic only.")]
    public static partial void WarmStartFailed(ILogger logger, Exception exception);

    [LoggerMessage(4005, LogLevel.Error, "The provider calibration at {Path} could not be read; using the shipped default.")]
    public static partial void CalibrationUnreadable(ILogger logger, string path, Exception exception);
}
