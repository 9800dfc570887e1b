using System.CommandLine;
using DistillGuard.Lab.Distillation;
using DistillGuard.Lab.Radioactivity;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;
using Spectre.Console;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard audit</c>: did a suspect model learn from our watermarked answers?</summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var baseUrl = new Option<string>("--base-url") { Description = "OpenAI-compatible base URL of the suspect (e.g. http://host:8080/v1).", Required = true };
        var apiKey = new Option<string>("--api-key") { Description = "API key for the suspect endpoint.", Required = true };
        var model = new Option<string>("--model") { Description = "Model id of the suspect.", Required = true };
        var data = new Option<string>("--data") { Description = "Data directory holding our watermark key (default ./data).", DefaultValueFactory = _ => "data" };
        var epoch = new Option<int>("--epoch") { Description = "Key epoch to test (default 0).", DefaultValueFactory = _ => 0 };
        var probes = new Option<int>("--probes") { Description = "Probe prompts to send (default 500).", DefaultValueFactory = _ => 500 };
        var prompts = new Option<FileInfo?>("--prompts") { Description = "Probe prompts, one per line (e.g. the suspected accounts' logged prompts); default: generic openings of held-out Brown paragraphs." };
        var served = new Option<FileInfo?>("--served") { Description = "Texts we served, one per line: score only their windows (supervised filter)." };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens per probe (default 256).", DefaultValueFactory = _ => 256 };
        var decoys = new Option<int>("--decoys") { Description = "Decoy keys through the same pipeline (default 100).", DefaultValueFactory = _ => 100 };
        var buckets = new Option<int>("--buckets") { Description = "Payload buckets of the watermark; > 1 turns on tracing.", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight (default 4).", DefaultValueFactory = _ => 4 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var output = new Option<string>("--out") { Description = "Directory for report.md, report.json and the plot (default ./audit).", DefaultValueFactory = _ => "audit" };
        var command = new Command("audit", "Audit a suspect model behind any OpenAI-compatible API for our watermark (radioactivity test with decoy controls).")
        {
            baseUrl, apiKey, model, data, epoch, probes, prompts, served, maxTokens, decoys, buckets, concurrency, json, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!Uri.TryCreate(parse.GetValue(baseUrl), UriKind.Absolute, out var endpoint))
            {
                await Console.Error.WriteLineAsync("distillguard: --base-url must be an absolute URL.");
                return 2;
            }

            var dataDirectory = Path.GetFullPath(parse.GetValue(data)!);
            if (!File.Exists(Path.Combine(dataDirectory, WatermarkKeyFile.FileName)))
            {
                await Console.Error.WriteLineAsync($"distillguard: no watermark key in {dataDirectory}; pass the gateway's --data directory.");
                return 2;
            }

            var key = new WatermarkKeyring(WatermarkKeyFile.LoadOrCreate(dataDirectory), parse.GetValue(epoch)).Current;
            var parameters = WatermarkParameters.GreenListDefaults with { PayloadBuckets = parse.GetValue(buckets) };
            IReadOnlyList<string> probeTexts;
            ServedWindows? servedWindows = null;
            try
            {
                var count = parse.GetValue(probes);
                probeTexts = parse.GetValue(prompts) is { } file
                    ? [.. (await File.ReadAllLinesAsync(file.FullName, cancellationToken)).Where(l => l.Length > 0).Take(count)]
                    : HarvestPrompts.FromBrown(count, seed: 7, heldOut: true);
                if (parse.GetValue(served) is { } servedFile)
                {
                    servedWindows = ServedWindows.FromTexts(await File.ReadAllLinesAsync(servedFile.FullName, cancellationToken), parameters.ContextWidth);
                }
            }
            catch (IOException e)
            {
                await Console.Error.WriteLineAsync($"distillguard: {e.Message}");
                return 2;
            }

            var probe = new SuspectProbe(endpoint, parse.GetValue(apiKey)!, parse.GetValue(model)!) { Concurrency = Math.Max(1, parse.GetValue(concurrency)) };
            var quiet = parse.GetValue(json);
            (IReadOnlyList<AuditSample> Samples, int Failed, TimeSpan Elapsed) collected = default;
            if (quiet)
            {
                collected = await probe.CollectAsync(probeTexts, parse.GetValue(maxTokens), cancellationToken: cancellationToken);
            }
            else
            {
                await AnsiConsole.Progress().StartAsync(async context =>
                {
                    var task = context.AddTask($"probing {Markup.Escape(parse.GetValue(model)!)}", maxValue: probeTexts.Count);
                    collected = await probe.CollectAsync(probeTexts, parse.GetValue(maxTokens), done => task.Value = done, cancellationToken);
                });
            }

            if (collected.Samples is not { Count: > 0 })
            {
                await Console.Error.WriteLineAsync($"distillguard: the suspect answered none of {probeTexts.Count} probes.");
                return 1;
            }

            var options = new AuditOptions { Parameters = parameters, Decoys = parse.GetValue(decoys), Served = servedWindows, Trace = parameters.PayloadBuckets > 1 };
            var report = RadioactivityAudit.Run(collected.Samples, key, options, parse.GetValue(model)!) with { CollectionSeconds = collected.Elapsed.TotalSeconds };
            var files = RadioactivityReportWriter.Write(report, Path.GetFullPath(parse.GetValue(output)!));
            if (quiet)
            {
                Console.WriteLine(RadioactivityReportWriter.ToJson(report));
            }
            else
            {
                Console.WriteLine(RadioactivityReportWriter.ToMarkdown(report));
                AnsiConsole.MarkupLine($"{collected.Failed} probes failed; report → {Markup.Escape(string.Join(", ", files))}");
            }

            return 0;
        });
        return command;
    }
}
