using System.Globalization;
using System.Security;
using System.Text;

namespace DistillGuard.Lab.Reporting;

/// <summary>One axis of an <see cref="SvgChart"/>: its range in data units, its label and its ticks.</summary>
/// <param name="Min">Smallest value shown (for a log axis, a positive value).</param>
/// <param name="Max">Largest value shown; larger values are clipped to the edge.</param>
/// <param name="Label">Axis title.</param>
/// <param name="Ticks">Tick positions in data units with their labels; grid lines are drawn at them.</param>
/// <param name="Log10">Whether positions are log10 of the values.</param>
internal sealed record ChartAxis(double Min, double Max, string Label, IReadOnlyList<(double Value, string Label)> Ticks, bool Log10 = false)
{
    /// <summary>An axis with <paramref name="count"/> + 1 evenly spaced ticks from min to max, labelled with <paramref name="format"/>.</summary>
    public static ChartAxis Linear(double min, double max, string label, int count = 5, string format = "0.##") =>
        new(min, max, label, [.. Enumerable.Range(0, count + 1).Select(i => min + ((max - min) * i / count)).Select(v => (v, v.ToString(format, CultureInfo.InvariantCulture)))]);

    /// <summary>A log10 axis with a tick at every power of ten from 10^<paramref name="fromExponent"/> to 10^<paramref name="toExponent"/>.</summary>
    public static ChartAxis Decades(int fromExponent, int toExponent, string label) =>
        new(Math.Pow(10, fromExponent), Math.Pow(10, toExponent), label, [.. Enumerable.Range(fromExponent, toExponent - fromExponent + 1).Select(e => (Math.Pow(10, e), $"1e{e}"))], Log10: true);
}

/// <summary>Where an <see cref="SvgChart"/> puts its legend.</summary>
internal enum LegendPlacement
{
    UpperLeft,
    LowerRight,
    Right,
}

/// <summary>
/// The lab's one chart writer: line, point, bar and reference-line charts as standalone SVG text. SVG keeps every
/// report chart diffable in git and needs no native graphics library, so nothing the lab draws reaches the served
/// process's dependencies.
/// </summary>
internal sealed class SvgChart
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;
    private readonly StringBuilder _body = new();
    private readonly List<(string Text, string Colour, string Dash, bool Swatch)> _legend = [];
    private readonly int _width;
    private readonly int _height;
    private readonly string _title;
    private readonly ChartAxis _x;
    private readonly ChartAxis _y;
    private readonly int _left;
    private readonly int _right;
    private readonly int _top;
    private readonly int _bottom;
    private readonly LegendPlacement _placement;

    /// <summary>A chart of <paramref name="width"/> × <paramref name="height"/> pixels; <see cref="LegendPlacement.Right"/> reserves a 200-pixel column.</summary>
    public SvgChart(int width, int height, string title, ChartAxis x, ChartAxis y, LegendPlacement legend = LegendPlacement.UpperLeft)
    {
        (_width, _height, _title, _x, _y, _placement) = (width, height, title, x, y, legend);
        (_left, _top, _bottom) = (64, 36, 50);
        _right = legend == LegendPlacement.Right ? 200 : 20;
    }

    /// <summary>The named colour cycle every chart uses.</summary>
    public static IReadOnlyList<string> Palette { get; } = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#6c757d"];

    /// <summary>A polyline through <paramref name="points"/> (data units); <paramref name="dash"/> is an SVG dash array.</summary>
    public SvgChart Line(IEnumerable<(double X, double Y)> points, string colour, double width = 2, string dash = "", string? legend = null)
    {
        var coordinates = string.Join(' ', points.Select(p => string.Create(s_invariant, $"{PixelX(p.X):F1},{PixelY(p.Y):F1}")));
        _body.AppendLine(s_invariant, $"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width:0.##}\"{Dash(dash)} points=\"{coordinates}\"/>");
        AddLegend(legend, colour, dash, swatch: false);
        return this;
    }

    /// <summary>A dot at a point with a vertical interval through it (e.g. a 95 % confidence interval).</summary>
    public SvgChart PointWithInterval(double x, double y, double low, double high, string colour)
    {
        _body.AppendLine(s_invariant, $"<line x1=\"{PixelX(x):F1}\" x2=\"{PixelX(x):F1}\" y1=\"{PixelY(low):F1}\" y2=\"{PixelY(high):F1}\" stroke=\"{colour}\"/>");
        _body.AppendLine(s_invariant, $"<circle cx=\"{PixelX(x):F1}\" cy=\"{PixelY(y):F1}\" r=\"3\" fill=\"{colour}\"/>");
        return this;
    }

    /// <summary>A bar of <paramref name="width"/> data units centred on <paramref name="x"/>, from the x axis to <paramref name="y"/>.</summary>
    public SvgChart Bar(double x, double width, double y, string colour, string? legend = null)
    {
        var left = PixelX(x - (width / 2));
        var right = PixelX(x + (width / 2));
        var top = PixelY(y);
        _body.AppendLine(s_invariant, $"<rect x=\"{left:F1}\" y=\"{top:F1}\" width=\"{right - left:F1}\" height=\"{PixelY(_y.Min) - top:F1}\" fill=\"{colour}\"/>");
        AddLegend(legend, colour, "", swatch: true);
        return this;
    }

    /// <summary>A horizontal reference line across the plot at <paramref name="y"/>.</summary>
    public SvgChart HorizontalLine(double y, string colour, string dash = "6 4", string? legend = null)
    {
        _body.AppendLine(s_invariant, $"<line x1=\"{_left}\" x2=\"{_width - _right}\" y1=\"{PixelY(y):F1}\" y2=\"{PixelY(y):F1}\" stroke=\"{colour}\"{Dash(dash)}/>");
        AddLegend(legend, colour, dash, swatch: false);
        return this;
    }

    /// <summary>A vertical reference line across the plot at <paramref name="x"/>.</summary>
    public SvgChart VerticalLine(double x, string colour, string dash = "2 3", string? legend = null)
    {
        _body.AppendLine(s_invariant, $"<line x1=\"{PixelX(x):F1}\" x2=\"{PixelX(x):F1}\" y1=\"{_top}\" y2=\"{_height - _bottom}\" stroke=\"{colour}\"{Dash(dash)}/>");
        AddLegend(legend, colour, dash, swatch: false);
        return this;
    }

    /// <summary>A legend entry for marks drawn without one (e.g. several dotted lines that share one meaning).</summary>
    public SvgChart LegendEntry(string text, string colour, string dash = "")
    {
        AddLegend(text, colour, dash, swatch: false);
        return this;
    }

    /// <summary>A text label at a point in data units, below the x axis when <paramref name="y"/> is null.</summary>
    public SvgChart Label(double x, double? y, string text, int size = 9, double offset = 0)
    {
        var py = y is { } v ? PixelY(v) : _height - _bottom + 14 + offset;
        Text(_body, PixelX(x), py, text, "middle", "#000", size);
        return this;
    }

    /// <summary>The whole SVG document.</summary>
    public string Render()
    {
        var svg = new StringBuilder();
        svg.AppendLine(s_invariant, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{_width}\" height=\"{_height}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.AppendLine(s_invariant, $"<rect width=\"{_width}\" height=\"{_height}\" fill=\"#fff\"/>");
        Text(svg, _width / 2.0, 20, _title, "middle", "#000", 13);
        foreach (var (value, label) in _y.Ticks)
        {
            svg.AppendLine(s_invariant, $"<line x1=\"{_left}\" x2=\"{_width - _right}\" y1=\"{PixelY(value):F1}\" y2=\"{PixelY(value):F1}\" stroke=\"#eee\"/>");
            Text(svg, _left - 6, PixelY(value) + 4, label, "end");
        }

        foreach (var (value, label) in _x.Ticks)
        {
            Text(svg, PixelX(value), _height - _bottom + 16, label, "middle");
        }

        svg.AppendLine(s_invariant, $"<line x1=\"{_left}\" y1=\"{_height - _bottom}\" x2=\"{_width - _right}\" y2=\"{_height - _bottom}\" stroke=\"#000\"/>");
        svg.AppendLine(s_invariant, $"<line x1=\"{_left}\" y1=\"{_top}\" x2=\"{_left}\" y2=\"{_height - _bottom}\" stroke=\"#000\"/>");
        Text(svg, (_left + _width - _right) / 2.0, _height - 12, _x.Label, "middle");
        svg.AppendLine(s_invariant, $"<text x=\"16\" y=\"{(_top + _height - _bottom) / 2.0:F1}\" text-anchor=\"middle\" fill=\"#333\" transform=\"rotate(-90 16 {(_top + _height - _bottom) / 2.0:F1})\">{SecurityElement.Escape(_y.Label)}</text>");
        svg.Append(_body);
        WriteLegend(svg);
        return svg.AppendLine("</svg>").ToString();
    }

    private void WriteLegend(StringBuilder svg)
    {
        const int Row = 16;
        var (x, y) = _placement switch
        {
            LegendPlacement.Right => (_width - _right + 10.0, _top + 6.0),
            LegendPlacement.LowerRight => (_width - _right - 230.0, _height - _bottom - 10.0 - ((_legend.Count - 1) * Row)),
            _ => (_left + 12.0, _top + 12.0),
        };
        foreach (var (text, colour, dash, swatch) in _legend)
        {
            if (swatch)
            {
                svg.AppendLine(s_invariant, $"<rect x=\"{x:F1}\" y=\"{y - 6:F1}\" width=\"24\" height=\"10\" fill=\"{colour}\"/>");
            }
            else
            {
                svg.AppendLine(s_invariant, $"<line x1=\"{x:F1}\" x2=\"{x + 24:F1}\" y1=\"{y:F1}\" y2=\"{y:F1}\" stroke=\"{colour}\" stroke-width=\"2\"{Dash(dash)}/>");
            }

            Text(svg, x + 30, y + 4, text, "start");
            y += Row;
        }
    }

    private void AddLegend(string? text, string colour, string dash, bool swatch)
    {
        if (text is not null)
        {
            _legend.Add((text, colour, dash, swatch));
        }
    }

    private double PixelX(double value) => _left + (Fraction(_x, value) * (_width - _left - _right));

    private double PixelY(double value) => _height - _bottom - (Fraction(_y, value) * (_height - _top - _bottom));

    // Position of a value along an axis in [0, 1]; values outside the range are clipped to its edges.
    private static double Fraction(ChartAxis axis, double value)
    {
        var (v, min, max) = axis.Log10
            ? (Math.Log10(Math.Max(value, axis.Min)), Math.Log10(axis.Min), Math.Log10(axis.Max))
            : (value, axis.Min, axis.Max);
        return max > min ? Math.Clamp((v - min) / (max - min), 0, 1) : 0;
    }

    private static string Dash(string dash) => dash.Length == 0 ? "" : $" stroke-dasharray=\"{dash}\"";

    private static void Text(StringBuilder svg, double x, double y, string text, string anchor, string colour = "#333", int size = 11) =>
        svg.AppendLine(s_invariant, $"<text x=\"{x:F1}\" y=\"{y:F1}\" text-anchor=\"{anchor}\" fill=\"{colour}\" font-size=\"{size}\">{SecurityElement.Escape(text)}</text>");
}
