using System.CommandLine;
using System.Security.Cryptography;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Lab.Distillation;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.LanguageModels;
using DistillGuard.LanguageModels.Model;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard lab chain</c>: the whole distillation chain over real HTTP in one command.</summary>
/// <remarks>
/// Starts our gateway (the watermarked teacher) on loopback, harvests through it with the official client, trains a
/// student, serves the student from a second gateway (its own data directory, no watermark of its own), audits it over
/// HTTP with our key and 100 decoys (answers, and reading mode through the completions endpoint), and writes the report.
/// </remarks>
internal static class LabChainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Our data directory (watermark key, dg-teacher; default ./data).", DefaultValueFactory = _ => "data" };
        var answers = new Option<int>("--answers") { Description = "Answers to harvest (default 1000).", DefaultValueFactory = _ => 1000 };
        var share = new Option<double>("--share") { Description = "Share of the student's training tokens from the harvest, 0..1 (default 1).", DefaultValueFactory = _ => 1.0 };
        var probes = new Option<int>("--probes") { Description = "Probe answers requested from the student (default: as many as answers).", DefaultValueFactory = _ => 0 };
        var reading = new Option<int>("--reading-tokens") { Description = "Tokens of our served answers the student reads in reading mode (default 20000; 0 skips it).", DefaultValueFactory = _ => 20_000 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens per answer (default 200).", DefaultValueFactory = _ => 200 };
        var output = new Option<string>("--out") { Description = "Directory for the student, the harvest and the audit report (default lab-chain).", DefaultValueFactory = _ => "lab-chain" };
        var json = new Option<bool>("--json") { Description = "Print the audit report as JSON." };
        var command = new Command("chain", "Run the whole chain over HTTP: serve the teacher, harvest, train a student, serve it, audit it with decoys.")
        {
            data, answers, share, probes, reading, maxTokens, output, json,
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
            var gateways = new LoopbackGateways(ourData, outDirectory);
            var teacherModel = BuiltInModels.LoadOrBuildTeacher(Path.Combine(ourData, "models"), line => AnsiConsole.MarkupLine(Markup.Escape(line)));

            // 1–2. Our gateway serves the watermarked teacher; a distiller harvests through it (one allowlisted lab account).
            var prompts = HarvestPrompts.FromBrown(parse.GetValue(answers), seed: 1, heldOut: false);
            IReadOnlyList<AuditSample> harvest = [];
            await using (var teacher = await gateways.ServeAsync(teacherModel, watermarked: true, cancellationToken))
            {
                AnsiConsole.MarkupLine($"teacher gateway on {teacher.ApiBase}");
                var harvester = new SuspectProbe(teacher.ApiBase, teacher.ApiKey, teacher.ModelId) { Temperature = 1f, TopP = 0.95f };
                await AnsiConsole.Progress().StartAsync(async context =>
                {
                    var task = context.AddTask("harvesting from the teacher", maxValue: prompts.Count);
                    (harvest, _, _) = await harvester.CollectAsync(prompts, parse.GetValue(maxTokens), done => task.Value = done, cancellationToken);
                });
            }

            // 3. Train and save the student.
            var (texts, reached, harvestTokens, humanTokens) = StudentTraining.Mix([.. harvest.Select(h => h.Prompt + h.Answer)], fraction);
            var student = StudentTraining.Train(texts, new StudentRecipe { Share = fraction, Id = "lab-student" });
            var studentPath = Path.Combine(outDirectory, "student.dgm");
            ModelFile.Save(student, studentPath);
            await File.WriteAllLinesAsync(studentPath + ".prompts.txt", harvest.Select(h => h.Prompt.ReplaceLineEndings(" ")), cancellationToken);
            await File.WriteAllLinesAsync(studentPath + ".served.txt", harvest.Select(h => h.Answer.ReplaceLineEndings(" ")), cancellationToken);
            AnsiConsole.MarkupLine($"student: order {student.Order}, {harvestTokens:N0} harvested + {humanTokens:N0} human tokens (share {reached:P1})");

            // 4–5. The suspect: the student behind its own gateway (no watermark of its own), audited over HTTP with the
            // harvesting account's prompts and the served filter, then asked to read what we served that account.
            var ourKey = new WatermarkKeyring(WatermarkKeyFile.LoadOrCreate(ourData)).Current;
            var options = new AuditOptions { Served = ServedWindows.FromTexts(harvest.Select(h => h.Answer), WatermarkParameters.GreenListDefaults.ContextWidth) };
            var probeCount = parse.GetValue(probes) is > 0 and var p ? p : harvest.Count;
            var probePrompts = Enumerable.Range(0, probeCount).Select(i => harvest[i % harvest.Count].Prompt).ToList();
            RadioactivityReport report;
            await using (var suspect = await gateways.ServeAsync(student, watermarked: false, cancellationToken))
            {
                AnsiConsole.MarkupLine($"suspect gateway on {suspect.ApiBase}");
                report = await AuditCommand.AuditAsync(suspect.ApiBase, suspect.ApiKey, suspect.ModelId, ourKey, options, probePrompts, parse.GetValue(maxTokens), 4, harvest.Select(h => h.Answer), parse.GetValue(reading), quiet: false, cancellationToken);
            }

            var files = RadioactivityReportWriter.Write(report, Path.Combine(outDirectory, "audit"));
            Console.WriteLine(parse.GetValue(json) ? RadioactivityReportWriter.ToJson(report) : RadioactivityReportWriter.ToMarkdown(report));
            AnsiConsole.MarkupLine($"report: {Markup.Escape(string.Join(", ", files))}");
            return report.Answers > 0 ? 0 : 1;
        });
        return command;
    }
}

/// <summary>
/// The lab's <see cref="IModelServer"/>: a real gateway on a loopback port per served model. The watermarked teacher
/// runs on our data directory (our key); a suspect gets a scratch directory, no watermark and no rate limits (a stand-in
/// for a competitor's API). Each model gets one allowlisted lab account.
/// </summary>
internal sealed class LoopbackGateways(string ourData, string scratchDirectory) : IModelServer
{
    private readonly string _adminToken = "lab-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public async Task<IServedModel> ServeAsync(ILanguageModel model, bool watermarked, CancellationToken cancellationToken = default)
    {
        var directory = watermarked ? ourData : Path.Combine(scratchDirectory, "served-" + Guid.NewGuid().ToString("N")[..12]);
        var options = new GatewayOptions { Port = 0, Host = "localhost", DataDirectory = directory, AdminToken = _adminToken, BuiltInModel = { Id = model.Id } };
        if (!watermarked)
        {
            options.Watermark.Enabled = false;
            options.RateLimits.Enabled = false;
        }

        var app = GatewayApp.Create(options, new GatewayHostOptions { ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(), BuiltInModel = model });
        try
        {
            await app.StartAsync(cancellationToken);
            var key = await GatewayHarvest.CreateLabAccountAsync(app.BaseAddress, _adminToken, "lab-" + Guid.NewGuid().ToString("N")[..8], cancellationToken);
            return new Served(app, new Uri(app.BaseAddress, "v1"), key, model.Id, watermarked ? null : directory);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    private sealed class Served(GatewayApp app, Uri apiBase, string apiKey, string modelId, string? scratch) : IServedModel
    {
        public Uri ApiBase => apiBase;

        public string ApiKey => apiKey;

        public string ModelId => modelId;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            if (scratch is not null)
            {
                try
                {
                    Directory.Delete(scratch, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }
}
