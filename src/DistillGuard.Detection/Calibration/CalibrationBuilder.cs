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
/// <para>
/// The review budget holds for every benign population the calibration can name, not only on average: the review
/// threshold is fitted on all held-out weeks together and on each population's own weeks (its archetype in simulated
/// traffic, its cohort in recorded traffic), and the largest wins. A rare population whose scores cluster in the
/// benign tail (benchmark labs: a hundred in a few thousand account-weeks) would otherwise spend the whole pooled
/// budget by itself and be flagged at tens of times the rate the budget promises (ADR 6).
/// </para>
/// </remarks>
public sealed class CalibrationBuilder
{
    private readonly Dictionary<string, List<double>> _values = new(StringComparer.Ordinal);
    private readonly List<AccountSnapshot> _heldOut = [];
    private readonly HashSet<string> _referenceAccounts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _heldOutAccounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _population = new(StringComparer.Ordinal);
    private Dictionary<string, double[]> _populationMaxima = new(StringComparer.Ordinal);
    private int _referenceSnapshots;

    /// <summary>Held-out weeks a population needs before it gets a threshold of its own (the exponential tail is fitted on ten of them).</summary>
    public const int MinPopulationWeeks = 20;

    /// <summary>The held-out half's per-account-week maximum scores under the last built calibration (ascending).</summary>
    public double[] HeldOutWeekMaxima { get; private set; } = [];

    /// <summary>Accounts that went into the references.</summary>
    public int ReferenceAccounts => _referenceAccounts.Count;

    /// <summary>Accounts kept for the thresholds.</summary>
    public int HeldOutAccounts => _heldOutAccounts.Count;

    /// <summary>True when the account's snapshots go to the threshold half.</summary>
    public static bool IsHeldOut(string accountId) =>
        (XxHash3.HashToUInt64(MemoryMarshal.AsBytes(accountId.AsSpan()), 0x5EED) & 1) == 1;

    /// <summary>The populations with thresholds of their own, with their held-out week maxima (ascending), after <see cref="Build"/>.</summary>
    public IReadOnlyDictionary<string, double[]> PopulationWeekMaxima => _populationMaxima;

    /// <summary>Adds one benign snapshot (to the references or the held-out half, by account).</summary>
    /// <param name="population">The benign population the account belongs to (an archetype); null: its cohort.</param>
    public void Add(AccountSnapshot snapshot, string? population = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (IsHeldOut(snapshot.AccountId))
        {
            _heldOut.Add(snapshot);
            _heldOutAccounts.Add(snapshot.AccountId);
            _population.TryAdd(snapshot.AccountId, population ?? "cohort:" + snapshot.Cohort);
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
        _populationMaxima = maxima
            .GroupBy(p => _population[p.Key.Account], StringComparer.Ordinal)
            .Where(g => g.Count() >= MinPopulationWeeks)
            .ToDictionary(g => g.Key, g => g.Select(p => p.Value.Score).Order().ToArray(), StringComparer.Ordinal);
        var pooled = RiskThresholds.Fit([.. maxima.Values.Select(v => v.Score)]);
        pooled = pooled with { Review = Math.Max(pooled.Review, ThresholdAt(RiskThresholds.ReviewBudget)) };

        // The friction budget is a pooled one (automated friction on at most 1e-4 of all account-weeks); it only has to
        // stay at or above the review threshold.
        pooled = pooled with { Friction = Math.Max(pooled.Friction, pooled.Review) };

        var thresholds = new Dictionary<string, RiskThresholds>(StringComparer.Ordinal)
        {
            [Cohorts.All] = pooled,
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

    /// <summary>
    /// The score above which at most a share <paramref name="alpha"/> of held-out benign weeks lies, in every population
    /// with a threshold of its own and overall (the rule <see cref="Build"/> applies to the budgets); call after Build.
    /// </summary>
    public double ThresholdAt(double alpha) => Largest(alpha).Threshold;

    /// <summary>The population whose own threshold at <paramref name="alpha"/> is the largest, or null when the pooled one is.</summary>
    public string? BindingPopulation(double alpha) => Largest(alpha).Population;

    private (double Threshold, string? Population) Largest(double alpha)
    {
        var threshold = RiskThresholds.ThresholdAt(HeldOutWeekMaxima, alpha);
        string? binding = null;
        foreach (var (name, population) in _populationMaxima)
        {
            var own = RiskThresholds.ThresholdAt(population, alpha);
            if (own > threshold)
            {
                (threshold, binding) = (own, name);
            }
        }

        return (threshold, binding);
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
