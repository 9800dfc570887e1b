using System.Globalization;
using System.Text;
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
    private const int Left = 60;
    private const int Right = 20;
    private const int Top = 30;
    private const int Bottom = 50;

    private static string PowerPlot(EvaluationResult result)
    {
        var svg = Start("TPR at p < 1e-3 against tokens (95 % Wilson intervals)");
        var xs = new[] { 25, 50, 100, 200 };
        double X(double v) => Left + ((Math.Log(v) - Math.Log(20)) / (Math.Log(250) - Math.Log(20)) * (Width - Left - Right));
        double Y(double v) => Height - Bottom - (v * (Height - Top - Bottom));
        AxesY(svg, Y, [0, 0.25, 0.5, 0.75, 1.0]);
        foreach (var x in xs)
        {
            Text(svg, X(x), Height - Bottom + 18, x.ToString(Invariant), "middle");
        }

        Text(svg, (Width + Left) / 2.0, Height - 12, "tokens", "middle");
        var colours = new[] { "#2a9d8f", "#e76f51", "#6c757d" };
        var schemes = result.Power.Select(r => r.Scheme).Distinct().ToArray();
        for (var s = 0; s < schemes.Length; s++)
        {
            var rows = result.Power.Where(r => r.Scheme == schemes[s]).ToArray();
            var points = string.Join(' ', rows.Select(r => string.Create(Invariant, $"{X(r.Tokens):F1},{Y(r.Rate):F1}")));
            svg.AppendLine(Invariant, $"<polyline fill=\"none\" stroke=\"{colours[s % 3]}\" stroke-width=\"2\" points=\"{points}\"/>");
            foreach (var r in rows)
            {
                svg.AppendLine(Invariant, $"<line x1=\"{X(r.Tokens):F1}\" x2=\"{X(r.Tokens):F1}\" y1=\"{Y(r.Low):F1}\" y2=\"{Y(r.High):F1}\" stroke=\"{colours[s % 3]}\"/>");
                svg.AppendLine(Invariant, $"<circle cx=\"{X(r.Tokens):F1}\" cy=\"{Y(r.Rate):F1}\" r=\"3\" fill=\"{colours[s % 3]}\"/>");
            }

            Text(svg, Left + 15, Top + 15 + (s * 16), "■ " + schemes[s], "start", colours[s % 3]);
        }

        return End(svg);
    }

    private static string NullPlot(EvaluationResult result)
    {
        var svg = Start($"H0: fraction of p-values ≤ α against α ({result.NullPValuesSample.Length:N0} unmarked texts, green list)");
        double X(double v) => Left + ((Math.Log10(v) + 5) / 5 * (Width - Left - Right));
        double Y(double v) => Height - Bottom - ((Math.Log10(Math.Max(v, 1e-6)) + 5) / 5 * (Height - Top - Bottom));
        foreach (var e in new[] { -5, -4, -3, -2, -1, 0 })
        {
            Text(svg, X(Math.Pow(10, e)), Height - Bottom + 18, $"1e{e}", "middle");
            Text(svg, Left - 6, Y(Math.Pow(10, e)) + 4, $"1e{e}", "end");
            svg.AppendLine(Invariant, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Y(Math.Pow(10, e)):F1}\" y2=\"{Y(Math.Pow(10, e)):F1}\" stroke=\"#eee\"/>");
        }

        svg.AppendLine(Invariant, $"<line x1=\"{X(1e-5):F1}\" y1=\"{Y(1e-5):F1}\" x2=\"{X(1):F1}\" y2=\"{Y(1):F1}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>");
        var sorted = result.NullPValuesSample;
        var points = new StringBuilder();
        for (var e = -5.0; e <= 0; e += 0.05)
        {
            var alpha = Math.Pow(10, e);
            var index = Array.BinarySearch(sorted, alpha);
            var below = index >= 0 ? index : ~index;
            var fraction = below / (double)sorted.Length;
            if (fraction > 0)
            {
                points.Append(Invariant, $"{X(alpha):F1},{Y(fraction):F1} ");
            }
        }

        svg.AppendLine(Invariant, $"<polyline fill=\"none\" stroke=\"#2a9d8f\" stroke-width=\"2\" points=\"{points}\"/>");
        Text(svg, Left + 15, Top + 15, "■ empirical   - - uniform (ideal)", "start", "#2a9d8f");
        Text(svg, (Width + Left) / 2.0, Height - 12, "α", "middle");
        return End(svg);
    }

    private static string RobustnessPlot(EvaluationResult result)
    {
        var rows = result.Robustness.Where(r => r.Scheme == "green-list").ToArray();
        var svg = Start("Green list: TPR at p < 1e-3 after edits (200 marked tokens)");
        double Y(double v) => Height - Bottom - (v * (Height - Top - Bottom));
        AxesY(svg, Y, [0, 0.25, 0.5, 0.75, 0.9, 1.0]);
        var slot = (Width - Left - Right) / (double)Math.Max(1, rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            var x = Left + (i * slot) + (slot * 0.15);
            var r = rows[i];
            svg.AppendLine(Invariant, $"<rect x=\"{x:F1}\" y=\"{Y(r.Rate):F1}\" width=\"{slot * 0.7:F1}\" height=\"{Y(0) - Y(r.Rate):F1}\" fill=\"#2a9d8f\"/>");
            svg.AppendLine(Invariant, $"<line x1=\"{x + (slot * 0.35):F1}\" x2=\"{x + (slot * 0.35):F1}\" y1=\"{Y(r.Low):F1}\" y2=\"{Y(r.High):F1}\" stroke=\"#000\"/>");
            var label = r.Condition.Replace(" (200 marked in 800)", "", StringComparison.Ordinal) + (r.Note.StartsWith("windowed", StringComparison.Ordinal) ? " (win)" : "");
            Text(svg, x + (slot * 0.35), Height - Bottom + 14 + ((i % 2) * 12), label, "middle", "#000", 9);
        }

        return End(svg);
    }

    private static StringBuilder Start(string title)
    {
        var svg = new StringBuilder();
        svg.AppendLine(Invariant, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.AppendLine(Invariant, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"#fff\"/>");
        Text(svg, Width / 2.0, 18, title, "middle", "#000", 13);
        svg.AppendLine(Invariant, $"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"#000\"/>");
        svg.AppendLine(Invariant, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"#000\"/>");
        return svg;
    }

    private static void AxesY(StringBuilder svg, Func<double, double> y, double[] ticks)
    {
        foreach (var t in ticks)
        {
            svg.AppendLine(Invariant, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y(t):F1}\" y2=\"{y(t):F1}\" stroke=\"#eee\"/>");
            Text(svg, Left - 6, y(t) + 4, t.ToString("0.##", Invariant), "end");
        }
    }

    private static void Text(StringBuilder svg, double x, double y, string text, string anchor, string colour = "#333", int size = 11) =>
        svg.AppendLine(Invariant, $"<text x=\"{x:F1}\" y=\"{y:F1}\" text-anchor=\"{anchor}\" fill=\"{colour}\" font-size=\"{size}\">{System.Security.SecurityElement.Escape(text)}</text>");

    private static string End(StringBuilder svg) => svg.AppendLine("</svg>").ToString();
}
