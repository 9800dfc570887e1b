using System.IO.Hashing;
using System.Runtime.InteropServices;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;

namespace DistillGuard.Detection.Calibration;

/// <summary>Fits a <see cref="DetectionCalibration"/> from snapshots of benign accounts.</summary>
/// <remarks>
/// Benign accounts are split in two by a hash of their id: one half gives the per-detector references, the other
/// half — never used for those references — gives the per-account-week score maxima that the thresholds are fitted
/// on, so thresholds are not tuned on the same accounts whose features define "normal".
/// </remarks>
public sealed class CalibrationBuilder
{
    private readonly Dictionary<string, List<double>> _values = new(StringComparer.Ordinal);
    private readonly List<AccountSnapshot> _heldOut = [];
    private readonly HashSet<string> _referenceAccounts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _heldOutAccounts = new(StringComparer.Ordinal);
    private int _referenceSnapshots;

    /// <summary>The held-out half's per-account-week maximum scores under the last built calibration (ascending).</summary>
    public double[] HeldOutWeekMaxima { get; private set; } = [];

    /// <summary>Accounts that went into the references.</summary>
    public int ReferenceAccounts => _referenceAccounts.Count;

    /// <summary>Accounts kept for the thresholds.</summary>
    public int HeldOutAccounts => _heldOutAccounts.Count;

    /// <summary>True when the account's snapshots go to the threshold half.</summary>
    public static bool IsHeldOut(string accountId) =>
        (XxHash3.HashToUInt64(MemoryMarshal.AsBytes(accountId.AsSpan()), 0x5EED) & 1) == 1;

    /// <summary>Adds one benign snapshot (to the references or the held-out half, by account).</summary>
    public void Add(AccountSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (IsHeldOut(snapshot.AccountId))
        {
            _heldOut.Add(snapshot);
            _heldOutAccounts.Add(snapshot.AccountId);
            return;
        }

        _referenceAccounts.Add(snapshot.AccountId);
        _referenceSnapshots++;
        var band = Cohorts.Band(snapshot.Features.Requests);
        for (var i = 0; i < Detector.Count; i++)
        {
            var value = snapshot.Features.Values[i];
            if (double.IsNaN(value))
            {
                continue;
            }

            var detector = Detector.All[i];
            var detectorBand = detector.ByEvidence ? band : Cohorts.AnyBand;
            Append(DetectionCalibration.Key(detector.Code, snapshot.Cohort, detectorBand), value);
            Append(DetectionCalibration.Key(detector.Code, Cohorts.All, detectorBand), value);
            if (detector.ByEvidence)
            {
                Append(DetectionCalibration.Key(detector.Code, snapshot.Cohort, Cohorts.AnyBand), value);
                Append(DetectionCalibration.Key(detector.Code, Cohorts.All, Cohorts.AnyBand), value);
            }
        }
    }

    /// <summary>Fits references from the reference half, then thresholds from the held-out half's account-week maxima.</summary>
    /// <param name="weekOrigin">Start of the first account-week.</param>
    public DetectionCalibration Build(string source, DateTimeOffset createdAt, DateTimeOffset weekOrigin, EvidenceCombination? combination = null)
    {
        var references = new Dictionary<string, ReferenceDistribution>(StringComparer.Ordinal);
        foreach (var (key, values) in _values)
        {
            if (values.Count >= DetectionCalibration.MinReference)
            {
                references[key] = ReferenceDistribution.Fit(values, Detector.ByCode(key[..key.IndexOf('|', StringComparison.Ordinal)])?.TailFloor ?? 0);
            }
        }

        var withoutThresholds = new DetectionCalibration
        {
            Source = source,
            CreatedAt = createdAt,
            ReferenceSnapshots = _referenceSnapshots,
            Combination = combination ?? new EvidenceCombination(),
            References = references,
        };
        var maxima = WeekMaxima(withoutThresholds, _heldOut, weekOrigin);
        HeldOutWeekMaxima = [.. maxima.Values.Select(v => v.Score).Order()];
        var thresholds = new Dictionary<string, RiskThresholds>(StringComparer.Ordinal)
        {
            [Cohorts.All] = RiskThresholds.Fit([.. maxima.Values.Select(v => v.Score)]),
        };
        foreach (var cohort in maxima.Values.Select(v => v.Cohort).Distinct())
        {
            thresholds[cohort] = RiskThresholds.Fit([.. maxima.Values.Where(v => v.Cohort == cohort).Select(v => v.Score)]);
        }

        return new DetectionCalibration
        {
            Source = source,
            CreatedAt = createdAt,
            ReferenceSnapshots = _referenceSnapshots,
            Combination = withoutThresholds.Combination,
            References = references,
            Thresholds = thresholds,
        };
    }

    /// <summary>The largest combined evidence of each (account, week) among <paramref name="snapshots"/>.</summary>
    public static Dictionary<(string Account, long Week), (string Cohort, double Score)> WeekMaxima(DetectionCalibration calibration, IEnumerable<AccountSnapshot> snapshots, DateTimeOffset weekOrigin)
    {
        var maxima = new Dictionary<(string, long), (string, double)>();
        foreach (var snapshot in snapshots)
        {
            var key = (snapshot.AccountId, Week(snapshot.Time, weekOrigin));
            var score = RiskScoring.Evidence(snapshot.Features, snapshot.Cohort, calibration);
            if (!maxima.TryGetValue(key, out var current) || score > current.Item2)
            {
                maxima[key] = (snapshot.Cohort, score);
            }
        }

        return maxima;
    }

    /// <summary>Index of the account-week that <paramref name="time"/> falls in.</summary>
    public static long Week(DateTimeOffset time, DateTimeOffset origin) => (long)Math.Floor((time - origin).TotalDays / 7);

    private void Append(string key, double value)
    {
        if (!_values.TryGetValue(key, out var list))
        {
            _values[key] = list = [];
        }

        list.Add(value);
    }
}
