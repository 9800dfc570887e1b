using System.Globalization;
using System.Text;
using DistillGuard.Lab.Reporting;
using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Lab.Watermarks;

/// <summary>Renders an <see cref="EvaluationResult"/> as <c>docs/watermark.md</c> with SVG plots.</summary>
public static class EvaluationReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Writes the SVG plots into <paramref name="imageDirectory"/> and returns the Markdown, which links them at <paramref name="imageLink"/>.</summary>
    public static string Render(EvaluationResult result, string command, string imageDirectory, string imageLink)
    {
        Directory.CreateDirectory(imageDirectory);
        File.WriteAllText(Path.Combine(imageDirectory, "watermark-power.svg"), PowerPlot(result));
        File.WriteAllText(Path.Combine(imageDirectory, "watermark-null.svg"), NullPlot(result));
        File.WriteAllText(Path.Combine(imageDirectory, "watermark-robustness.svg"), RobustnessPlot(result));

        var md = new StringBuilder();
        md.AppendLine("## Evaluation").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Regenerate with `{command}` ({result.Elapsed.TotalMinutes:F1} min on the reference machine; `--quick` for a smoke run). Settings: {result.Settings.PowerTexts} marked texts per scheme, {result.Settings.QualityTexts} per δ for quality, {result.Settings.NullTexts:N0} unmarked texts for false positives, seed {result.Settings.Seed}. Generation: dg-teacher, temperature 1, top-p 0.95, prompts of 8 tokens from held-out Brown paragraphs, end-of-text suppressed. Detection: decode, re-tokenize, exact p-value, fixed threshold p < 1e-3 (so the FPR is at most 1e-3 by construction, not by calibration).").AppendLine();

        md.AppendLine("### False positives").AppendLine();
        md.AppendLine("| scheme | unmarked set | texts | α | false positives | empirical FPR (95 % Clopper–Pearson) | α inside? | KS D | KS p |");
        md.AppendLine("|---|---|---:|---:|---:|---|---|---:|---:|");
        foreach (var row in result.Nulls)
        {
            foreach (var (alpha, fp, low, high) in row.Rates)
            {
                md.AppendLine(Invariant, $"| {row.Scheme} | {row.Set} | {row.Texts:N0} | {alpha:0e0} | {fp:N0} | {fp / (double)row.Texts:0.00000} [{low:0.00000}, {high:0.00000}] | {(alpha >= low && alpha <= high ? "yes" : "**no**")} | {row.KsD:F4} | {row.KsP:F3} |");
            }
        }

        // Many intervals at 95 % each: some fall outside by chance alone, and the reader needs the count to judge one miss.
        var cells = result.Nulls.Sum(r => r.Rates.Count);
        var outside = result.Nulls.Sum(r => r.Rates.Count(c => c.Alpha < c.Low || c.Alpha > c.High));
        var chance = Math.Exp(BinomialTail.LogUpper(cells, outside, 0.05));
        md.AppendLine().AppendLine(Invariant, $"{outside} of {cells} cells have α outside their 95 % interval; with {cells} independent intervals at most {0.05 * cells:0.0} are expected outside by chance, and {outside} or more happen with probability {chance:0.00} (Clopper–Pearson intervals cover at least 95 %, and the three α of one set share their p-values).");
        md.AppendLine().AppendLine($"![P(p ≤ α) against α under H0]({imageLink}/watermark-null.svg)").AppendLine();

        md.AppendLine("### Power: TPR at p < 1e-3 against length").AppendLine();
        md.AppendLine("| scheme | tokens | detected | TPR (95 % Wilson) | median log10 p |");
        md.AppendLine("|---|---:|---:|---|---:|");
        foreach (var row in result.Power)
        {
            md.AppendLine(Invariant, $"| {row.Scheme} | {row.Tokens} | {row.Hits}/{row.Total} | {row.Rate:F3} [{row.Low:F3}, {row.High:F3}] | {row.MedianLog10P:F1} |");
        }

        md.AppendLine().AppendLine($"![TPR against length]({imageLink}/watermark-power.svg)").AppendLine();

        md.AppendLine("### Robustness at 200 marked tokens").AppendLine();
        md.AppendLine("| scheme | edit | tokens in text | detected | TPR (95 % Wilson) | median log10 p | note |");
        md.AppendLine("|---|---|---:|---:|---|---:|---|");
        foreach (var row in result.Robustness)
        {
            md.AppendLine(Invariant, $"| {row.Scheme} | {row.Condition} | {row.Tokens} | {row.Hits}/{row.Total} | {row.Rate:F3} [{row.Low:F3}, {row.High:F3}] | {row.MedianLog10P:F1} | {row.Note} |");
        }

        md.AppendLine().AppendLine($"![TPR after edits]({imageLink}/watermark-robustness.svg)").AppendLine();

        md.AppendLine("### Quality: perplexity of 200-token outputs").AppendLine();
        md.AppendLine("| condition | texts | PPL under dg-teacher (unwatermarked) | PPL under independent trigram | green fraction (γ = 0.25) |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var row in result.Quality)
        {
            md.AppendLine(Invariant, $"| {row.Condition} | {row.Texts} | {row.TeacherPerplexity:F1} | {row.IndependentPerplexity:F1} | {row.GreenFraction:F3} |");
        }

        md.AppendLine().AppendLine("### Lexical watermark (post-hoc, for upstream models)").AppendLine();
        md.AppendLine("| text | tokens | flagged at p < 1e-3 | rate (95 % Wilson) | median log10 p |");
        md.AppendLine("|---|---:|---:|---|---:|");
        foreach (var row in result.Lexical)
        {
            md.AppendLine(Invariant, $"| {row.Condition} | {row.Tokens} | {row.Hits}/{row.Total} | {row.Rate:F3} [{row.Low:F3}, {row.High:F3}] | {row.MedianLog10P:F1} |");
        }

        md.AppendLine();
        foreach (var note in result.Notes)
        {
            md.AppendLine("- " + note);
        }

        return md.ToString();
    }

    private const int Width = 640;
    private const int Height = 360;

    private static string PowerPlot(EvaluationResult result)
    {
        var x = new ChartAxis(20, 250, "tokens", [.. new[] { 25, 50, 100, 200 }.Select(t => ((double)t, t.ToString(Invariant)))], Log10: true);
        var y = new ChartAxis(0, 1, "TPR", [.. new[] { 0, 0.25, 0.5, 0.75, 1.0 }.Select(v => (v, v.ToString("0.##", Invariant)))]);
        var chart = new SvgChart(Width, Height, "TPR at p < 1e-3 against tokens (95 % Wilson intervals)", x, y);
        var schemes = result.Power.Select(r => r.Scheme).Distinct().ToArray();
        for (var s = 0; s < schemes.Length; s++)
        {
            var colour = SvgChart.Palette[s % SvgChart.Palette.Count];
            var rows = result.Power.Where(r => r.Scheme == schemes[s]).ToArray();
            chart.Line(rows.Select(r => ((double)r.Tokens, r.Rate)), colour, legend: schemes[s]);
            foreach (var r in rows)
            {
                chart.PointWithInterval(r.Tokens, r.Rate, r.Low, r.High, colour);
            }
        }

        return chart.Render();
    }

    private static string NullPlot(EvaluationResult result)
    {
        var chart = new SvgChart(Width, Height, $"H0: fraction of p-values ≤ α against α ({result.NullPValuesSample.Length:N0} unmarked texts, green list)",
            ChartAxis.Decades(-5, 0, "α"), ChartAxis.Decades(-5, 0, "P(p ≤ α)"));
        chart.Line([(1e-5, 1e-5), (1, 1)], "#999", width: 1, dash: "4 3", legend: "uniform (ideal)");
        var sorted = result.NullPValuesSample;
        var points = new List<(double, double)>();
        for (var e = -5.0; e <= 0; e += 0.05)
        {
            var alpha = Math.Pow(10, e);
            var index = Array.BinarySearch(sorted, alpha);
            var below = index >= 0 ? index : ~index;
            var fraction = below / (double)sorted.Length;
            if (fraction > 0)
            {
                points.Add((alpha, fraction));
            }
        }

        chart.Line(points, SvgChart.Palette[0], legend: "empirical");
        return chart.Render();
    }

    private static string RobustnessPlot(EvaluationResult result)
    {
        var rows = result.Robustness.Where(r => r.Scheme == "green-list").ToArray();
        var y = new ChartAxis(0, 1, "TPR", [.. new[] { 0, 0.25, 0.5, 0.75, 0.9, 1.0 }.Select(v => (v, v.ToString("0.##", Invariant)))]);
        var chart = new SvgChart(Width, Height, "Green list: TPR at p < 1e-3 after edits (200 marked tokens)", new ChartAxis(0, Math.Max(1, rows.Length), "", []), y);
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            var label = r.Condition.Replace(" (200 marked in 800)", "", StringComparison.Ordinal) + (r.Note.StartsWith("windowed", StringComparison.Ordinal) ? " (win)" : "");
            chart.Bar(i + 0.5, 0.7, r.Rate, SvgChart.Palette[0])
                .PointWithInterval(i + 0.5, r.Rate, r.Low, r.High, "#000")
                .Label(i + 0.5, null, label, offset: (i % 2) * 12);
        }

        return chart.Render();
    }
}
