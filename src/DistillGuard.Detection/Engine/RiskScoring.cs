using System.Globalization;
using DistillGuard.Detection.Accounts;
using DistillGuard.Detection.Scoring;

namespace DistillGuard.Detection.Engine;

/// <summary>Scores one account's features against the calibration: p-values, combined evidence, level and reasons.</summary>
public static class RiskScoring
{
    /// <summary>Reasons reported per account.</summary>
    public const int MaxReasons = 5;

    /// <summary>True for the detectors whose values leave out exact repeats of answered requests (see <see cref="WindowFeatures.RepeatShare"/>).</summary>
    public static bool CountsNewRequestsOnly(DetectorKind kind) =>
        kind is DetectorKind.VolumeHour or DetectorKind.VolumeDay or DetectorKind.TokensOutDay or DetectorKind.LogprobShare or DetectorKind.MultiChoiceShare;

    /// <summary>The per-detector p-values of <paramref name="features"/> in <paramref name="cohort"/> (1 where a feature is missing).</summary>
    public static double[] PValues(WindowFeatures features, string cohort, DetectionCalibration calibration)
    {
        var references = calibration.ReferencesFor(cohort, Cohorts.Band(features.Requests));
        var p = new double[Detector.Count];
        for (var i = 0; i < p.Length; i++)
        {
            p[i] = references[i]?.PValue(features.Values[i]) ?? 1;
        }

        return p;
    }

    /// <summary>The combined evidence S of <paramref name="features"/>.</summary>
    public static double Evidence(WindowFeatures features, string cohort, DetectionCalibration calibration)
    {
        return calibration.Combination.Combine(PValues(features, cohort, calibration));
    }

    /// <summary>The full assessment of one account.</summary>
    /// <param name="external">A term from an <see cref="IEvidenceSource"/>, added to S as a group of its own (null: none).</param>
    public static AccountAssessment Assess(string accountId, DateTimeOffset now, string cohort, WindowFeatures features, DetectionCalibration calibration, DetectionOptions options, RiskContribution? external = null)
    {
        var band = Cohorts.Band(features.Requests);
        var references = calibration.ReferencesFor(cohort, band);
        var terms = new List<RiskContribution>();
        var p = new double[Detector.Count];
        Array.Fill(p, 1.0);
        for (var i = 0; i < Detector.Count; i++)
        {
            var detector = Detector.All[i];
            var value = features.Values[i];
            if (double.IsNaN(value))
            {
                continue;
            }

            var reference = references[i];
            p[i] = reference?.PValue(value) ?? 1;
            var term = calibration.Combination.Term(detector, p[i]);
            if (term > 0 && reference is not null)
            {
                var percentile = Math.Round(100 * (1 - p[i]), p[i] < 1e-3 ? 3 : 1);
                var detail = string.Create(CultureInfo.InvariantCulture,
                    $"{detector.Meaning}: {value:G3}; {percentile}th percentile of benign '{cohort}' accounts ({(detector.ByEvidence ? band + " requests" : "all volumes")}, n={reference.Count}), robust z {reference.RobustZ(value):F1}");
                if (features.RepeatShare > 0 && CountsNewRequestsOnly(detector.Kind))
                {
                    detail += string.Create(CultureInfo.InvariantCulture, $"; {features.RepeatShare:P0} of the window's requests repeat answered ones and are not counted");
                }

                terms.Add(new RiskContribution(detector.Code, detail, Math.Round(value, 4), percentile, Math.Round(term, 3)));
            }
        }

        var total = calibration.Combination.Combine(p);
        if (external is { Evidence: > 0 } partner)
        {
            total += partner.Evidence;
            terms.Add(partner);
        }
        terms.Sort(static (a, b) => b.Evidence.CompareTo(a.Evidence));
        if (terms.Count > MaxReasons)
        {
            terms.RemoveRange(MaxReasons, terms.Count - MaxReasons);
        }

        var thresholds = calibration.ThresholdsFor(cohort);
        var score = double.IsPositiveInfinity(thresholds.Review) ? 0 : total / (total + thresholds.Review);
        if (features.Requests < options.MinEvidence)
        {
            terms.Insert(0, new RiskContribution("thin_evidence",
                string.Create(CultureInfo.InvariantCulture, $"only {features.Requests} requests in the window; at least {options.MinEvidence} are needed before an account can be flagged"),
                features.Requests, null, 0));
            return new AccountAssessment(accountId, now, cohort, total, Math.Round(score, 4), "insufficient_evidence", false, "none", terms, features.Requests, features.RequestsWeek);
        }

        var (level, action) = total >= thresholds.Friction ? ("friction", "verify")
            : total >= thresholds.Review ? ("review", "review")
            : ("low", "none");
        return new AccountAssessment(accountId, now, cohort, total, Math.Round(score, 4), level, level != "low", action, terms, features.Requests, features.RequestsWeek);
    }
}
