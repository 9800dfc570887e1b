using System.CommandLine;
using System.Text.Json;
using DistillGuard.Cli.Commands;

namespace DistillGuard.Gateway.Tests.Lab;

/// <summary>The distillation chain end to end over HTTP: a student harvested through our gateway carries our watermark.</summary>
[Collection(LabConsole.Collection)]
[Trait("Tier", "Long")]
public sealed class LabChainTests
{
    [Fact]
    public async Task LabChain_StudentOfOurAnswers_IsFoundRadioactive_TrueKeyRanksFirst()
    {
        var root = Path.Combine(Path.GetTempPath(), "dg-chain-" + Guid.NewGuid().ToString("N"));
        try
        {
            var command = new RootCommand { LabCommands.Create() };
            var exit = await command.Parse(["lab", "chain", "--data", Path.Combine(root, "data"), "--answers", "300", "--reading-tokens", "8000", "--out", Path.Combine(root, "out")]).InvokeAsync();
            Assert.Equal(0, exit);

            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(root, "out", "audit", "report.json")));
            var json = report.RootElement.ToString();
            var reportRoot = report.RootElement;
            Assert.True(Number(reportRoot, "log10P") < -3, json);
            Assert.Equal(1, (int)Number(reportRoot, "trueKeyRank"));

            // Reading mode through the suspect's completions endpoint: it reads the answers we served the harvesting account.
            var reading = reportRoot.GetProperty("reading");
            Assert.True(Number(reading, "log10P") < -5, reading.ToString());
            Assert.Equal(1, (int)Number(reading, "trueKeyRank"));
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The first number called <paramref name="name"/> anywhere in the report (it nests its decoy summary).</summary>
    private static double Number(JsonElement root, string name) =>
        Find(root, name) ?? throw new KeyNotFoundException($"{name} not in the report: {root}");

    private static double? Find(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.Number)
            {
                return property.Value.GetDouble();
            }

            if (Find(property.Value, name) is { } nested)
            {
                return nested;
            }
        }

        return null;
    }
}
