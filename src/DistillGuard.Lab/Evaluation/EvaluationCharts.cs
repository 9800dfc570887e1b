using ScottPlot;

namespace DistillGuard.Lab.Evaluation;

/// <summary>PNG charts of an evaluation: ROC curves on a log FPR axis, and score timelines.</summary>
public static class EvaluationCharts
{
    /// <summary>Writes <c>detection-roc.png</c> and <c>detection-timelines.png</c> to <paramref name="directory"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Write(EvaluationReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var roc = Path.Combine(directory, "detection-roc.png");
        var plot = new Plot();
        var floor = 1e-4;
        foreach (var (name, points) in report.Roc.OrderBy(kv => kv.Key == "all attackers" ? 0 : 1).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var ordered = points.OrderBy(p => p.Fpr).ThenBy(p => p.Tpr).ToArray();
            var line = plot.Add.Scatter(ordered.Select(p => Math.Log10(Math.Max(p.Fpr, floor))).ToArray(), ordered.Select(p => p.Tpr).ToArray());
            line.LegendText = name;
            line.MarkerSize = 0;
            line.LineWidth = name == "all attackers" ? 3 : 1.2f;
        }

        foreach (var point in report.OperatingPoints)
        {
            var v = plot.Add.VerticalLine(Math.Log10(point.TargetFpr));
            v.LinePattern = LinePattern.Dotted;
        }

        plot.Title("ROC: attacker accounts vs benign account-weeks (evaluation seeds)");
        plot.XLabel("false-positive rate per benign account-week (log10; 1e-4 floor)");
        plot.YLabel("true-positive rate (attacker accounts)");
        plot.Axes.SetLimits(-4.1, 0.05, -0.02, 1.02);
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(roc, 1000, 700);

        var timelines = Path.Combine(directory, "detection-timelines.png");
        var t = new Plot();
        foreach (var group in report.Timelines.GroupBy(x => x.Archetype))
        {
            var first = true;
            foreach (var timeline in group)
            {
                var line = t.Add.Scatter(timeline.Points.Select(p => p.Days).ToArray(), timeline.Points.Select(p => p.Score).ToArray());
                line.MarkerSize = 0;
                line.LineWidth = timeline.Attacker ? 1.8f : 1f;
                line.LinePattern = timeline.Attacker ? LinePattern.Solid : LinePattern.Dashed;
                if (first)
                {
                    line.LegendText = (timeline.Attacker ? "attacker: " : "legit: ") + group.Key;
                    first = false;
                }
            }
        }

        var review = t.Add.HorizontalLine(0.5);
        review.LegendText = "review band (score 0.5)";
        review.LinePattern = LinePattern.Dotted;
        t.Title("Risk score over time (solid: attackers, dashed: legitimate; first evaluation seed)");
        t.XLabel("days since scenario start");
        t.YLabel("score = S / (S + review threshold)");
        t.Axes.SetLimits(0, report.Days, 0, 1);
        t.ShowLegend(Alignment.UpperLeft);
        t.SavePng(timelines, 1200, 800);
        return [roc, timelines];
    }
}
