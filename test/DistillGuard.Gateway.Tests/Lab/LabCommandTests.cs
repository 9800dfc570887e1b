using System.CommandLine;
using System.Text.Json;
using DistillGuard.Cli.Commands;
using DistillGuard.Gateway.Tests.Infrastructure;
using DistillGuard.LanguageModels.Model;

namespace DistillGuard.Gateway.Tests.Lab;

/// <summary><c>lab distill</c> and <c>audit</c> as a user runs them: the command handlers against live gateways.</summary>
[Collection(LabConsole.Collection)]
[Trait("Tier", "Long")]
public sealed class LabCommandTests
{
    [Fact]
    public async Task DistillThenAudit_StudentOfOurGateway_IsRadioactiveInBothTests()
    {
        var root = Path.Combine(Path.GetTempPath(), "dg-lab-cmd-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var teacher = await TestGateway.StartAsync();
            var command = new RootCommand { LabCommands.Create(), AuditCommand.Create() };
            var studentPath = Path.Combine(root, "student.dgm");

            var distilled = await command.Parse(["lab", "distill", "--gateway", teacher.BaseAddress.ToString(), "--admin-token", TestGateway.AdminTokenValue, "--data", teacher.DataDirectory, "--answers", "200", "--max-tokens", "100", "--out", studentPath]).InvokeAsync();

            Assert.Equal(0, distilled);
            Assert.Equal(200, File.ReadAllLines(studentPath + ".served.txt").Length);
            var student = ModelFile.Load(studentPath);

            // The student behind its own gateway, as a competitor would serve it; the auditor knows only its URL, key and id.
            await using var suspect = await new LoopbackGateways(teacher.DataDirectory, root).ServeAsync(student, watermarked: false);
            var audited = await command.Parse(["audit", "--base-url", suspect.ApiBase.ToString(), "--api-key", suspect.ApiKey, "--model", suspect.ModelId, "--data", teacher.DataDirectory, "--prompts", studentPath + ".prompts.txt", "--served", studentPath + ".served.txt", "--probes", "200", "--max-tokens", "100", "--reading-tokens", "3000", "--json", "--out", Path.Combine(root, "audit")]).InvokeAsync();

            Assert.Equal(0, audited);
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(root, "audit", "report.json")));
            var answers = report.RootElement;
            var reading = answers.GetProperty("reading");
            Assert.Equal(200, answers.GetProperty("answers").GetInt32());
            Assert.Equal("reading", reading.GetProperty("mode").GetString());
            Assert.True(reading.GetProperty("log10P").GetDouble() < -5, reading.ToString());
            Assert.Equal(1, reading.GetProperty("decoys").GetProperty("trueKeyRank").GetInt32());
            // At 80 answers the answers test missed p < 0.01 in about one run in six (each run has a new key); 200 do not.
            Assert.True(answers.GetProperty("log10P").GetDouble() < -2, $"answers: {answers.GetProperty("log10P")}");
            Assert.True(File.Exists(Path.Combine(root, "audit", "report.md")));
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
}

/// <summary>The lab commands draw Spectre.Console progress bars, which refuse to run two at once: their tests run one at a time.</summary>
[CollectionDefinition(Collection)]
public sealed class LabConsole
{
    public const string Collection = "lab console";
}
