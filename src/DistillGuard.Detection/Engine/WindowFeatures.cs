using DistillGuard.Detection.Scoring;

namespace DistillGuard.Detection.Engine;

/// <summary>An account's feature values (NaN: not enough data) with the evidence behind them.</summary>
/// <param name="Values">Indexed by <see cref="DetectorKind"/>.</param>
/// <param name="Requests">Requests in the content window (3.5–7 days).</param>
/// <param name="RequestsWeek">Requests in the last 168 hours.</param>
public sealed record WindowFeatures(double[] Values, int Requests, int RequestsWeek)
{
    /// <summary>Share of the window's requests that exactly repeat a request already answered (a benchmark re-run); volume and probing-shape values count only the others.</summary>
    public double RepeatShare { get; init; }

    public double this[DetectorKind kind] => Values[(int)kind];
}
