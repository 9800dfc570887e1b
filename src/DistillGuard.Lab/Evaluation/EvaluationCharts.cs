using DistillGuard.Lab.Reporting;

namespace DistillGuard.Lab.Evaluation;

/// <summary>SVG charts of an evaluation: ROC curves on a log FPR axis, and score timelines.</summary>
public static class EvaluationCharts
{
    private const double FprFloor = 1e-4;

    /// <summary>Writes <c>detection-roc.svg</c> and <c>detection-timelines.svg</c> to <paramref name="directory"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Write(EvaluationReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var roc = Path.Combine(directory, "detection-roc.svg");
        File.WriteAllText(roc, RocChart(report));
        var timelines = Path.Combine(directory, "detection-timelines.svg");
        File.WriteAllText(timelines, TimelineChart(report));
        return [roc, timelines];
    }

    internal static string RocChart(EvaluationReport report)
    {
        var chart = new SvgChart(1000, 700, "ROC: attacker accounts vs benign account-weeks (evaluation seeds)",
            ChartAxis.Decades(-4, 0, "false-positive rate per benign account-week (log10; 1e-4 floor)"),
            ChartAxis.Linear(0, 1, "true-positive rate (attacker accounts)"), LegendPlacement.Right);
        var series = report.Roc.OrderBy(kv => kv.Key == "all attackers" ? 0 : 1).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        for (var i = 0; i < series.Length; i++)
        {
            var (name, points) = (series[i].Key, series[i].Value);
            var ordered = points.OrderBy(p => p.Fpr).ThenBy(p => p.Tpr).Select(p => (Math.Max(p.Fpr, FprFloor), p.Tpr));
            chart.Line(ordered, SvgChart.Palette[i % SvgChart.Palette.Count], width: name == "all attackers" ? 3 : 1.2, legend: name);
        }

        foreach (var point in report.OperatingPoints)
        {
            chart.VerticalLine(point.TargetFpr, "#999");
        }

        return chart.Render();
    }

    internal static string TimelineChart(EvaluationReport report)
    {
        var chart = new SvgChart(1200, 800, "Risk score over time (solid: attackers, dashed: legitimate; first evaluation seed)",
            ChartAxis.Linear(0, report.Days, "days since scenario start", format: "0.#"),
            ChartAxis.Linear(0, 1, "score = S / (S + review threshold)"), LegendPlacement.Right);
        var groups = report.Timelines.GroupBy(x => x.Archetype).ToArray();
        for (var g = 0; g < groups.Length; g++)
        {
            var colour = SvgChart.Palette[g % SvgChart.Palette.Count];
            var first = true;
            foreach (var timeline in groups[g])
            {
                chart.Line(timeline.Points.Select(p => (p.Days, p.Score)), colour, width: timeline.Attacker ? 1.8 : 1, dash: timeline.Attacker ? "" : "5 3",
                    legend: first ? (timeline.Attacker ? "attacker: " : "legit: ") + groups[g].Key : null);
                first = false;
            }
        }

        chart.HorizontalLine(0.5, "#999", "2 3", "review band (score 0.5)");
        return chart.Render();
    }
}
