using System.CommandLine;
using System.Security.Cryptography;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Lab.Distillation;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Model;
using DistillGuard.Watermarking.Keys;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard lab chain</c>: the whole distillation chain over real HTTP in one command.</summary>
/// <remarks>
/// Starts our gateway (the watermarked teacher) on loopback, harvests through it with the official client, trains a
/// student, serves the student from a second gateway (its own data directory, no watermark of its own), audits it over
/// HTTP with our key and 100 decoys, and writes the report.
/// </remarks>
internal static class LabChainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Our data directory (watermark key, dg-teacher; default ./data).", DefaultValueFactory = _ => "data" };
        var answers = new Option<int>("--answers") { Description = "Answers to harvest (default 1000).", DefaultValueFactory = _ => 1000 };
        var share = new Option<double>("--share") { Description = "Share of the student's training tokens from the harvest, 0..1 (default 1).", DefaultValueFactory = _ => 1.0 };
        var probes = new Option<int>("--probes") { Description = "Probe answers requested from the student (default: as many as answers).", DefaultValueFactory = _ => 0 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens per answer (default 200).", DefaultValueFactory = _ => 200 };
        var output = new Option<string>("--out") { Description = "Directory for the student, the harvest and the audit report (default lab-chain).", DefaultValueFactory = _ => "lab-chain" };
        var json = new Option<bool>("--json") { Description = "Print the audit report as JSON." };
        var command = new Command("chain", "Run the whole chain over HTTP: serve the teacher, harvest, train a student, serve it, audit it with decoys.")
        {
            data, answers, share, probes, maxTokens, output, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var fraction = parse.GetValue(share);
            if (fraction is < 0 or > 1 || parse.GetValue(answers) < 1)
            {
                await Console.Error.WriteLineAsync("distillguard: --share must be between 0 and 1 and --answers at least 1.");
                return 2;
            }

            var ourData = Path.GetFullPath(parse.GetValue(data)!);
            var outDirectory = Path.GetFullPath(parse.GetValue(output)!);
            Directory.CreateDirectory(outDirectory);
            var adminToken = "lab-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            void Quiet(ILoggingBuilder logging) => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole();

            // 1. Our gateway: the watermarked teacher.
            await using var teacher = GatewayApp.Create(
                new GatewayOptions { Port = 0, DataDirectory = ourData, AdminToken = adminToken },
                new GatewayAppSettings { ConfigureLogging = Quiet, Progress = line => AnsiConsole.MarkupLine(Markup.Escape(line)) });
            await teacher.StartAsync(cancellationToken);
            AnsiConsole.MarkupLine($"teacher gateway on {teacher.BaseAddress}");

            // 2. Harvest through it, as a distiller would (one allowlisted lab account; docs/radioactivity.md).
            var key = await GatewayHarvest.CreateLabAccountAsync(teacher.BaseAddress, adminToken, "lab-chain-" + Guid.NewGuid().ToString("N")[..8], cancellationToken);
            var prompts = HarvestPrompts.FromBrown(parse.GetValue(answers), seed: 1, heldOut: false);
            IReadOnlyList<HarvestedAnswer> harvest = [];
            await AnsiConsole.Progress().StartAsync(async context =>
            {
                var task = context.AddTask("harvesting from the teacher", maxValue: prompts.Count);
                harvest = await GatewayHarvest.HarvestAsync(teacher.BaseAddress, key, BuiltInModels.TeacherId, prompts, parse.GetValue(maxTokens), done => task.Value = done, cancellationToken);
            });
            await teacher.StopAsync(cancellationToken);

            // 3. Train and save the student.
            var (texts, reached, harvestTokens, humanTokens) = StudentTraining.Mix([.. harvest.Select(h => h.Prompt + h.Answer)], fraction);
            var student = StudentTraining.Train(texts, new StudentRecipe { Share = fraction, Id = "lab-student" });
            var studentPath = Path.Combine(outDirectory, "student.dgm");
            ModelFile.Save(student, studentPath);
            await File.WriteAllLinesAsync(studentPath + ".prompts.txt", harvest.Select(h => h.Prompt.ReplaceLineEndings(" ")), cancellationToken);
            await File.WriteAllLinesAsync(studentPath + ".served.txt", harvest.Select(h => h.Answer.ReplaceLineEndings(" ")), cancellationToken);
            AnsiConsole.MarkupLine($"student: order {student.Order}, {harvestTokens:N0} harvested + {humanTokens:N0} human tokens (share {reached:P1})");

            // 4. The suspect: the student behind its own gateway, with no watermark of its own.
            var suspectOptions = new GatewayOptions
            {
                Port = 0,
                DataDirectory = Path.Combine(outDirectory, "suspect-data"),
                AdminToken = adminToken,
                BuiltInModel = { Id = student.Id },
            };
            suspectOptions.Watermark.Enabled = false;

            // The suspect stands for a competitor's API: no rate limits or ladder of ours between the auditor and it.
            suspectOptions.RateLimits.Enabled = false;
            await using var suspect = GatewayApp.Create(suspectOptions, new GatewayAppSettings { ConfigureLogging = Quiet, BuiltInModel = student });
            await suspect.StartAsync(cancellationToken);
            AnsiConsole.MarkupLine($"suspect gateway on {suspect.BaseAddress}");

            // 5. Audit it over HTTP with the harvesting account's prompts and the served filter, as an investigator would.
            var probeCount = parse.GetValue(probes) is > 0 and var p ? p : harvest.Count;
            var probePrompts = Enumerable.Range(0, probeCount).Select(i => harvest[i % harvest.Count].Prompt).ToList();
            var auditorKey = await GatewayHarvest.CreateLabAccountAsync(suspect.BaseAddress, adminToken, "auditor", cancellationToken);
            var probe = new SuspectProbe(new Uri(suspect.BaseAddress, "v1"), auditorKey, student.Id);
            (IReadOnlyList<AuditSample> Samples, int Failed, TimeSpan Elapsed) collected = default;
            await AnsiConsole.Progress().StartAsync(async context =>
            {
                var task = context.AddTask("probing the suspect", maxValue: probePrompts.Count);
                collected = await probe.CollectAsync(probePrompts, parse.GetValue(maxTokens), done => task.Value = done, cancellationToken);
            });
            await suspect.StopAsync(cancellationToken);

            var ourKey = new WatermarkKeyring(WatermarkKeyFile.LoadOrCreate(ourData)).Current;
            var options = new AuditOptions { Served = ServedWindows.FromTexts(harvest.Select(h => h.Answer), DistillGuard.Watermarking.Schemes.WatermarkParameters.GreenListDefaults.ContextWidth) };
            var report = RadioactivityAudit.Run(collected.Samples ?? [], ourKey, options, student.Id) with { CollectionSeconds = collected.Elapsed.TotalSeconds };
            var files = RadioactivityReportWriter.Write(report, Path.Combine(outDirectory, "audit"));
            Console.WriteLine(parse.GetValue(json) ? RadioactivityReportWriter.ToJson(report) : RadioactivityReportWriter.ToMarkdown(report));
            AnsiConsole.MarkupLine($"{collected.Failed} probe requests failed; report: {Markup.Escape(string.Join(", ", files))}");
            return 0;
        });
        return command;
    }
}
