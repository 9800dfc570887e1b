using System.Globalization;
using System.Xml.Linq;
using DistillGuard.Lab.Reporting;

namespace DistillGuard.Lab.Tests.Reporting;

public sealed class SvgChartTests
{
    private static readonly XNamespace s_svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void Render_LinesBarsAndReferences_IsWellFormedSvgWithOneLegendRowPerNamedMark()
    {
        var chart = new SvgChart(400, 300, "a & b < c", ChartAxis.Linear(0, 10, "x"), ChartAxis.Linear(0, 1, "y"), LegendPlacement.Right)
            .Line([(0, 0), (5, 0.5), (10, 1)], SvgChart.Palette[0], legend: "rising")
            .Line([(0, 1), (10, 0)], SvgChart.Palette[1], dash: "4 2")
            .Bar(5, 1, 0.25, SvgChart.Palette[2], legend: "bar")
            .HorizontalLine(0.5, "#999", legend: "threshold")
            .LegendEntry("dotted: decoys", "black", "2 3");

        var document = XDocument.Parse(chart.Render());

        Assert.Equal(s_svg + "svg", document.Root!.Name);
        Assert.Equal(2, document.Descendants(s_svg + "polyline").Count());
        var texts = document.Descendants(s_svg + "text").Select(t => t.Value).ToArray();
        Assert.Contains("a & b < c", texts);
        Assert.Contains("rising", texts);
        Assert.Contains("bar", texts);
        Assert.Contains("threshold", texts);
        Assert.Contains("dotted: decoys", texts);
        Assert.DoesNotContain("NaN", chart.Render(), StringComparison.Ordinal);
    }

    [Fact]
    public void Line_ValuesOutsideTheAxes_AreClippedToThePlotEdges()
    {
        const int Width = 400, Height = 300;
        var chart = new SvgChart(Width, Height, "t", ChartAxis.Decades(-4, 0, "fpr"), ChartAxis.Linear(0, 1, "tpr"))
            .Line([(1e-9, -3), (1e3, 7)], "#000");

        var points = XDocument.Parse(chart.Render()).Descendants(s_svg + "polyline").Single().Attribute("points")!.Value
            .Split(' ').Select(p => p.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();

        Assert.All(points, p => Assert.InRange(p[0], 0, Width));
        Assert.All(points, p => Assert.InRange(p[1], 0, Height));
        Assert.True(points[0][0] < points[1][0], "the log axis keeps the order of the clipped values");
        Assert.True(points[0][1] > points[1][1], "y grows upwards");
    }
}
