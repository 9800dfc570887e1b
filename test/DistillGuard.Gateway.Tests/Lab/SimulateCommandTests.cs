using System.CommandLine;
using DistillGuard.Cli.Commands;

namespace DistillGuard.Gateway.Tests.Lab;

/// <summary><c>simulate --live</c> refuses what is not a gateway URL with a message and exit code 2, not a stack trace.</summary>
[Collection(LabConsole.Collection)]
public sealed class SimulateCommandTests
{
    [Theory]
    [InlineData("notaurl")]
    [InlineData("ftp://localhost:8080/")]
    [InlineData("/relative/path")]
    public async Task Live_NotAnHttpUrl_ExitsTwoWithAMessage(string live)
    {
        var error = new StringWriter();
        var command = new RootCommand { SimulateCommand.Create() };
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            var exit = await command.Parse(["simulate", "--days", "0.01", "--live", live, "--admin-token", "t"]).InvokeAsync();
            Assert.Equal(2, exit);
        }
        finally
        {
            Console.SetError(previous);
        }

        Assert.Contains("--live must be an absolute http(s) URL", error.ToString(), StringComparison.Ordinal);
    }
}
