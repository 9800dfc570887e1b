using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DistillGuard.Lab.Evaluation;

/// <summary>Renders an evaluation as the tables of <c>docs/detection.md</c> and as JSON.</summary>
public static class DetectionReportWriter
{
    /// <summary>The report as indented JSON.</summary>
    public static string Json(EvaluationReport report) => JsonSerializer.Serialize(report, EvaluationJsonContext.Default.EvaluationReport);

    /// <summary>The measured part of the documentation (tables), generated; prose around it lives in the document's fixed head.</summary>
    public static string Markdown(EvaluationReport report, string command)
    {
        var b = new StringBuilder();
        void Line(FormattableString s) => b.AppendLine(s.ToString(CultureInfo.InvariantCulture));
        Line($"## Measured results");
        b.AppendLine();
        Line($"Command: `{command}` ({report.Events:N0} scored events, {report.Seconds:F0} s). Calibrated on seeds {string.Join(", ", report.CalibrationSeeds)} (legitimate traffic only, authorised distillation excluded); scored on seeds {string.Join(", ", report.EvaluationSeeds)}; scale {report.Scale}, {report.Days} days per seed, attacker account counts ×{report.AttackerScale} and rare legitimate archetypes' (fewer than {EvaluationOptions.RareAccounts} accounts at scale 1) ×{report.RareLegitimateScale} in scored scenarios{(report.CalibrationRareLegitimateScale != 1 ? $" and ×{report.CalibrationRareLegitimateScale} in calibration scenarios" : "")}. Pooled thresholds: review S ≥ {report.ReviewThreshold:F2}, friction S ≥ {report.FrictionThreshold:F2}, fitted on {report.CalibrationHeldOutAccountWeeks:N0} held-out benign account-weeks of the calibration seeds, each the largest of the fit over all of them and the fits over each legitimate archetype's own for review (set by {report.ReviewThresholdPopulation ?? "all weeks together"}); friction on all weeks together, never below review. Intervals are 95 % Wilson intervals.");
        b.AppendLine();
        Line($"- Legitimate (non-authorised) account-weeks flagged for review: **{Pct(report.BenignReview)}** ({report.BenignReview.Successes} of {report.BenignReview.Trials:N0}); friction band: {Pct(report.BenignFriction)} ({report.BenignFriction.Successes} of {report.BenignFriction.Trials:N0}).");
        Line($"- Attacker accounts flagged for review at any time: **{Pct(report.AttackerReview)}** ({report.AttackerReview.Successes} of {report.AttackerReview.Trials:N0}).");
        b.AppendLine();
        Line($"### Per archetype");
        b.AppendLine();
        b.AppendLine("Attackers: share of accounts flagged (review band) during the run. Legitimate: share of account-weeks flagged (false flags). Requests/tokens/hours are at the first flag (medians over flagged accounts).");
        b.AppendLine();
        b.AppendLine("| archetype | kind | accounts | account-weeks | requests | flagged (review) | 95 % CI | friction | flagged within 1,000 requests | median max S | requests before flag (median / p90) | tokens before flag | hours to flag | top reasons at flag |");
        b.AppendLine("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var a in report.Archetypes)
        {
            var kind = a.Attacker ? "attacker" : a.Authorised ? "legit (authorised)" : "legit";
            Line($"| {a.Archetype} | {kind} | {a.Accounts:N0} | {a.AccountWeeks:N0} | {a.Requests:N0} | {a.Review.Successes}/{a.Review.Trials} = {Rate(a.Review)} | {Ci(a.Review)} | {a.Friction.Successes} | {(a.Attacker ? $"{a.FlaggedWithin1000.Successes}/{a.FlaggedWithin1000.Trials} = {Rate(a.FlaggedWithin1000)}" : "–")} | {a.MedianMaxEvidence:F1} | {Num(a.MedianRequestsBeforeFlag)} / {Num(a.P90RequestsBeforeFlag)} | {Num(a.MedianTokensBeforeFlag)} | {Num(a.MedianHoursToFlag, "F1")} | {string.Join(", ", a.TopReasons)} |");
        }

        b.AppendLine();
        Line($"### TPR at fixed FPR");
        b.AppendLine();
        b.AppendLine("Thresholds fitted on the calibration seeds' held-out benign account-weeks at each target FPR (exponential tail beyond the sample), the largest of the fit over all weeks and the fits over each legitimate archetype's own; TPR over all attacker accounts of the scored seeds, and the FPR those thresholds really had on the scored seeds' legitimate account-weeks.");
        b.AppendLine();
        b.AppendLine("| target FPR | threshold S | TPR | TPR 95 % CI | observed FPR | observed FPR 95 % CI |");
        b.AppendLine("|---:|---:|---:|---|---:|---|");
        foreach (var o in report.OperatingPoints)
        {
            Line($"| {o.TargetFpr:G1} | {o.Threshold:F2} | {Rate(o.Tpr)} ({o.Tpr.Successes}/{o.Tpr.Trials}) | {Ci(o.Tpr)} | {Rate(o.ObservedFpr)} ({o.ObservedFpr.Successes}/{o.ObservedFpr.Trials:N0}) | {Ci(o.ObservedFpr)} |");
        }

        b.AppendLine();
        b.AppendLine("The review threshold at 1e-3 fitted on each legitimate archetype's own held-out calibration weeks (archetypes with fewer than 20 have none) and on all of them together; the shipped review threshold is the largest:");
        b.AppendLine();
        b.AppendLine("| held-out weeks of | weeks | review S at 1e-3 | largest held-out week |");
        b.AppendLine("|---|---:|---:|---:|");
        foreach (var t in report.PopulationThresholds.OrderByDescending(t => t.Review))
        {
            Line($"| {t.Population} | {t.Weeks:N0} | {t.Review:F2} | {t.LargestWeek:F2} |");
        }

        b.AppendLine();
        Line($"### Reseller mixing: flagged within the first 1,500 requests, by real distillation share");
        b.AppendLine();
        b.AppendLine("| share | flagged | 95 % CI |");
        b.AppendLine("|---|---:|---|");
        foreach (var r in report.ResellerShares)
        {
            Line($"| {r.ShareBand} | {r.FlaggedWithin1500.Successes}/{r.FlaggedWithin1500.Trials} = {Rate(r.FlaggedWithin1500)} | {Ci(r.FlaggedWithin1500)} |");
        }

        b.AppendLine();
        Line($"### Adaptive attackers: what evading costs, against the naive harvester and against no detector");
        b.AppendLine();
        Line($"Against the naive harvester (medians over flagged accounts): requests sent and hours spent before the first flag, and account-hours per answer harvested before it, each over the naive harvester's. Against no detector (the cost of extraction as SEAT counts it, accounts needed per harvested answer): an account keeps every distillation answer it asks for over the {report.Days:G} days without a detector; with it, a reviewer closes the account {report.ReviewHours:G} h after its first flag (nothing automatic: friction and throttling, which would cut the harvest further, are left out), so it keeps what it sent until then, or everything if never flagged. The multiplier is all the archetype's answers without over all its answers before closure, with a 95 % bootstrap interval over accounts; ≥ 4 is the goal.");
        b.AppendLine();
        b.AppendLine("| archetype | detected | requests before flag (× naive) | time to flag (× naive) | account-hours per answer (× naive) | answers per account, no detector (median) | answers before closure (median) | cost of extraction × no detector | 95 % CI |");
        b.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var c in report.AdaptiveCosts)
        {
            Line($"| {c.Archetype} | {c.Detected.Successes}/{c.Detected.Trials} = {Rate(c.Detected)} | {Num(c.RequestMultiplier, "F2")} | {Num(c.TimeMultiplier, "F2")} | {Num(c.AccountHoursPerAnswerMultiplier, "F2")} | {Num(c.MedianAnswersWithout)} | {Num(c.MedianAnswersBeforeClosure)} | {Num(c.CostMultiplier, "F1")} | {(c.CostMultiplierLower is { } lo && c.CostMultiplierUpper is { } hi ? string.Create(CultureInfo.InvariantCulture, $"{lo:F1} – {hi:F1}") : "–")} |");
        }

        b.AppendLine();
        b.AppendLine("![ROC curves](images/detection-roc.svg)");
        b.AppendLine();
        b.AppendLine("![Score timelines](images/detection-timelines.svg)");
        return b.ToString();
    }

    private static string Rate(BinomialInterval i) => i.Trials == 0 ? "–" : i.Rate.ToString(i.Rate is > 0 and < 0.01 ? "P3" : "P1", CultureInfo.InvariantCulture);

    private static string Pct(BinomialInterval i) => $"{Rate(i)} [{Ci(i)}]";

    private static string Ci(BinomialInterval i) => i.Trials == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{i.Lower:P2} – {i.Upper:P2}");

    private static string Num(double? value, string format = "N0") => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
}
