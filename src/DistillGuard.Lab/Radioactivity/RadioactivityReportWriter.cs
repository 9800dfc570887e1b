using System.Globalization;
using System.Text;
using System.Text.Json;
using DistillGuard.Lab.Reporting;

namespace DistillGuard.Lab.Radioactivity;

/// <summary>Writes an audit report as Markdown, JSON and an SVG plot of −log10 p against tokens scored.</summary>
public static class RadioactivityReportWriter
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The report as indented JSON.</summary>
    public static string ToJson(RadioactivityReport report) => JsonSerializer.Serialize(report, RadioactivityJsonContext.Default.RadioactivityReport);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static RadioactivityReport? FromJson(string json) => JsonSerializer.Deserialize(json, RadioactivityJsonContext.Default.RadioactivityReport);

    /// <summary>The report as Markdown: verdict, evidence, checkpoints, decoy controls and (when tracing) buckets.</summary>
    public static string ToMarkdown(RadioactivityReport r, string? plotPath = null)
    {
        var md = new StringBuilder();
        md.AppendLine(Invariant, $"## Radioactivity audit: {r.Suspect}").AppendLine();
        md.AppendLine(Invariant, $"**Verdict: {(r.Radioactive ? "radioactive" : "no evidence")}** — corrected p = {P(r.Log10P)} (α = {r.Alpha:G2}; Bonferroni over {r.Family} looks×buckets), true key rank {r.Decoys.TrueKeyRank} of {r.Decoys.Count + 1}.").AppendLine();
        Evidence(md, r);

        if (r.Trace is { Count: > 0 } trace)
        {
            md.AppendLine("| bucket | green | p | p corrected over buckets | named |").AppendLine("|---:|---:|---:|---:|---|");
            foreach (var b in trace.Take(5))
            {
                md.AppendLine(Invariant, $"| {b.Bucket} | {b.Green:N0} | {P(b.Log10P)} | {P(b.Log10PCorrected)} | {(b.Named ? "yes" : "")} |");
            }

            md.AppendLine();
        }

        if (r.Reading is { } reading)
        {
            md.AppendLine(Invariant, $"### Reading mode: the suspect read {reading.Answers:N0} of our watermarked texts").AppendLine();
            md.AppendLine(Invariant, $"**{(reading.Radioactive ? "radioactive" : "no evidence")}** — corrected p = {P(reading.Log10P)}, true key rank {reading.Decoys.TrueKeyRank} of {reading.Decoys.Count + 1}. Each (window of our text, the suspect's top-1 prediction) is scored once; a window seen earlier in the same text is skipped.").AppendLine();
            Evidence(md, reading);
        }
        else if (r.ReadingUnavailable is { } why)
        {
            md.AppendLine(Invariant, $"Reading mode: not available — {why}.").AppendLine();
        }

        if (plotPath is not null)
        {
            md.AppendLine().AppendLine(Invariant, $"![−log10 p against tuples scored]({plotPath})");
        }

        return md.ToString();
    }

    /// <summary>The evidence table and the checkpoints of one test (answers or reading mode).</summary>
    private static void Evidence(StringBuilder md, RadioactivityReport r)
    {
        var reading = r.Mode == AuditModes.Reading;
        md.AppendLine("| quantity | value |").AppendLine("|---|---|");
        md.AppendLine(Invariant, $"| {(reading ? "texts read (≤ 256 tokens each)" : "answers")} | {r.Answers:N0} |");
        md.AppendLine(Invariant, $"| {(reading ? "positions read (our tokenizer)" : "tokens seen (our tokenizer)")} | {r.TokensSeen:N0} |");
        md.AppendLine(Invariant, $"| tuples scored (each (window, {(reading ? "prediction" : "token")}) once) | {r.TokensScored:N0} |");
        md.AppendLine(reading
            ? string.Create(Invariant, $"| dropped: repeated / window earlier in the same text / not served / no prediction | {r.Repeated:N0} / {r.PromptWindowsDropped:N0} / {r.NotServedDropped:N0} / {r.PredictionsMissing:N0} |")
            : string.Create(Invariant, $"| dropped: repeated / prompt windows / not served | {r.Repeated:N0} / {r.PromptWindowsDropped:N0} / {r.NotServedDropped:N0} |"));
        md.AppendLine(Invariant, $"| served-window filter | {(r.ServedWindows > 0 ? $"on ({r.ServedWindows:N0} windows)" : "off")} |");
        md.AppendLine(Invariant, $"| watermark | green list γ {r.Gamma}, h {r.ContextWidth}, buckets scored {r.Buckets} |");
        md.AppendLine(Invariant, $"| green fraction (γ under H0) | {r.GreenFraction:F4} (z = {r.ZScore:F2}) |");
        md.AppendLine(Invariant, $"| p at the final count, uncorrected | {P(r.Log10PFinal)} |");
        md.AppendLine(Invariant, $"| p corrected (the number to quote) | {P(r.Log10P)} |");
        md.AppendLine(Invariant, $"| decoys: min corrected p / share of final p < 0.05 / KS D (p) | {P(r.Decoys.MinLog10P)} / {r.Decoys.FractionBelow005:P0} / {r.Decoys.KsStatistic:F3} ({r.Decoys.KsPValue:F2}) |");
        md.AppendLine(Invariant, $"| scoring time | {r.ScoringSeconds:F2} s{(r.CollectionSeconds is { } collecting ? string.Create(Invariant, $" (+ {collecting:F1} s collecting {(reading ? "predictions" : "answers")})") : "")} |").AppendLine();

        md.AppendLine("| checkpoint (tuples) | reached | p | p corrected |").AppendLine("|---:|---|---:|---:|");
        foreach (var c in r.Checkpoints)
        {
            md.AppendLine(Invariant, $"| {c.Tokens:N0} | {(c.Reached ? "yes" : "no")} | {(c.Reached ? P(c.Log10P) : "–")} | {(c.Reached ? P(c.Log10PCorrected) : "–")} |");
        }

        md.AppendLine();
    }

    /// <summary>A p-value from its log10, readable at any size (1e-300 and below included).</summary>
    public static string P(double log10)
    {
        if (log10 >= -3)
        {
            return Math.Pow(10, log10).ToString("0.###", Invariant);
        }

        var exponent = Math.Floor(log10);
        return string.Create(Invariant, $"{Math.Pow(10, log10 - exponent):F1}e{exponent:0}");
    }

    /// <summary>An SVG line plot of −log10 p against tuples scored: one line per named series, the threshold dashed.</summary>
    /// <remarks>Values above <paramref name="yMax"/> (when given) are clipped to the top edge, so weak series stay readable next to strong ones.</remarks>
    public static string ToSvg(IReadOnlyList<(string Name, IReadOnlyList<CurvePoint> Points)> series, double alpha, string title, bool includeDecoys = true, double? yMax = null)
    {
        var maxX = Math.Max(1, series.SelectMany(s => s.Points).Select(p => p.Tokens).DefaultIfEmpty(1).Max());
        var maxY = yMax ?? Math.Max(-Math.Log10(alpha) * 1.5, series.SelectMany(s => s.Points).Select(p => Math.Max(p.MinusLog10P, p.DecoyMaxMinusLog10P)).DefaultIfEmpty(1).Max() * 1.05);
        var chart = new SvgChart(760, 420, title, ChartAxis.Linear(0, maxX, "tuples scored", format: "N0"), ChartAxis.Linear(0, maxY, "−log10 p (uncorrected)", format: "0.#"), LegendPlacement.Right);
        chart.HorizontalLine(-Math.Log10(alpha), "gray", legend: string.Create(Invariant, $"α = {alpha:G2}"));
        for (var s = 0; s < series.Count; s++)
        {
            var colour = SvgChart.Palette[s % SvgChart.Palette.Count];
            var (name, points) = series[s];
            chart.Line(points.Select(p => ((double)p.Tokens, p.MinusLog10P)), colour, legend: name);
            if (includeDecoys)
            {
                chart.Line(points.Select(p => ((double)p.Tokens, p.DecoyMaxMinusLog10P)), colour, width: 1, dash: "2 3");
            }
        }

        if (includeDecoys)
        {
            chart.LegendEntry("strongest decoy (dotted)", "black", "2 3");
        }

        return chart.Render();
    }

    /// <summary>Writes <c>report.md</c>, <c>report.json</c> and <c>radioactivity-curve.svg</c> to <paramref name="directory"/>.</summary>
    public static IReadOnlyList<string> Write(RadioactivityReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var svg = Path.Combine(directory, "radioactivity-curve.svg");
        IReadOnlyList<(string, IReadOnlyList<CurvePoint>)> series = report.Reading is { } reading
            ? [(report.Suspect + " (answers)", report.Curve), (report.Suspect + " (reading)", reading.Curve)]
            : [(report.Suspect, report.Curve)];
        File.WriteAllText(svg, ToSvg(series, report.Alpha, $"Audit of {report.Suspect}"));
        var md = Path.Combine(directory, "report.md");
        File.WriteAllText(md, ToMarkdown(report, "radioactivity-curve.svg"));
        var json = Path.Combine(directory, "report.json");
        File.WriteAllText(json, ToJson(report));
        return [md, json, svg];
    }
}
