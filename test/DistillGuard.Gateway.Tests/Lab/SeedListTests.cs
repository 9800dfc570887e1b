using System.CommandLine;
using DistillGuard.Cli.Commands;

namespace DistillGuard.Gateway.Tests.Lab;

/// <summary>Seed lists are checked as the command line is parsed: a parse error naming the option, never a FormatException.</summary>
public sealed class SeedListTests
{
    [Theory]
    [InlineData("evaluate", "--seeds", "abc")]
    [InlineData("evaluate", "--calibration-seeds", "1,,x")]
    [InlineData("calibrate", "--seeds", "1.5")]
    [InlineData("evaluate", "--seeds", "")]
    public void NotAListOfIntegers_IsAParseError(string command, string option, string value)
    {
        var root = new RootCommand { DetectionCommands.CreateCalibrate(), DetectionCommands.CreateEvaluate(), PolicyCommands.Create() };

        var result = root.Parse([command, option, value]);

        var error = Assert.Single(result.Errors);
        Assert.Contains($"{option} takes a comma-separated list of integer seeds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PolicyEvaluate_Seeds_AreCheckedToo()
    {
        var result = new RootCommand { PolicyCommands.Create() }.Parse(["policy", "evaluate", "--seeds", "21,x"]);

        Assert.Contains(result.Errors, e => e.Message.Contains("--seeds takes a comma-separated list", StringComparison.Ordinal));
        Assert.Empty(new RootCommand { PolicyCommands.Create() }.Parse(["policy", "evaluate", "--seeds", " 21, 22 ,23"]).Errors);
    }
}
