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
        var reading = new Option<FileInfo?>("--reading") { Description = "Our watermarked texts, one per line, for the reading-mode test (default: the --served file)." };
        var readingTokens = new Option<int>("--reading-tokens") { Description = "Tokens of those texts the suspect reads through /completions with echo and logprobs (default 50000; 0 skips reading mode).", DefaultValueFactory = _ => 50_000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight (default 4).", DefaultValueFactory = _ => 4 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var output = new Option<string>("--out") { Description = "Directory for report.md, report.json and the plot (default ./audit).", DefaultValueFactory = _ => "audit" };
        var command = new Command("audit", "Audit a suspect model behind any OpenAI-compatible API for our watermark (radioactivity test with decoy controls).")
        {
            baseUrl, apiKey, model, data, epoch, probes, prompts, served, reading, readingTokens, maxTokens, decoys, buckets, concurrency, json, output,
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
            IReadOnlyList<string> readingTexts = [];
            ServedWindows? servedWindows = null;
            try
            {
                var count = parse.GetValue(probes);
                probeTexts = parse.GetValue(prompts) is { } file
                    ? [.. (await File.ReadAllLinesAsync(file.FullName, cancellationToken)).Where(l => l.Length > 0).Take(count)]
                    : HarvestPrompts.FromBrown(count, seed: 7, heldOut: true);
                if (parse.GetValue(served) is { } servedFile)
                {
                    var servedTexts = await File.ReadAllLinesAsync(servedFile.FullName, cancellationToken);
                    servedWindows = ServedWindows.FromTexts(servedTexts, parameters.ContextWidth);
                    readingTexts = servedTexts;
                }

                if (parse.GetValue(reading) is { } readingFile)
                {
                    readingTexts = await File.ReadAllLinesAsync(readingFile.FullName, cancellationToken);
                }
            }
            catch (IOException e)
            {
                await Console.Error.WriteLineAsync($"distillguard: {e.Message}");
                return 2;
            }

            var quiet = parse.GetValue(json);
            var options = new AuditOptions { Parameters = parameters, Decoys = parse.GetValue(decoys), Served = servedWindows, Trace = parameters.PayloadBuckets > 1 };
            var report = await AuditAsync(endpoint, parse.GetValue(apiKey)!, parse.GetValue(model)!, key, options, probeTexts, parse.GetValue(maxTokens), Math.Max(1, parse.GetValue(concurrency)), readingTexts.Where(t => t.Length > 0), parse.GetValue(readingTokens), quiet, cancellationToken);
            if (report.Answers == 0)
            {
                await Console.Error.WriteLineAsync($"distillguard: the suspect answered none of {probeTexts.Count} probes.");
                return 1;
            }

            var files = RadioactivityReportWriter.Write(report, Path.GetFullPath(parse.GetValue(output)!));
            if (quiet)
            {
                Console.WriteLine(RadioactivityReportWriter.ToJson(report));
            }
            else
            {
                Console.WriteLine(RadioactivityReportWriter.ToMarkdown(report));
                AnsiConsole.MarkupLine($"report → {Markup.Escape(string.Join(", ", files))}");
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// Probes the suspect (progress bar unless <paramref name="quiet"/>), audits its answers and, when it returns prompt
    /// log-probabilities, runs the reading-mode test on <paramref name="readingTexts"/> and attaches it to the report.
    /// </summary>
    internal static async Task<RadioactivityReport> AuditAsync(Uri endpoint, string apiKey, string model, WatermarkKey key, AuditOptions options, IReadOnlyList<string> probeTexts, int maxTokens, int concurrency, IEnumerable<string> readingTexts, int readingTokens, bool quiet, CancellationToken cancellationToken)
    {
        var probe = new SuspectProbe(endpoint, apiKey, model) { Concurrency = concurrency };
        using var reader = new ReadingProbe(endpoint, apiKey, model) { Concurrency = concurrency };
        (IReadOnlyList<AuditSample> Samples, int Failed, TimeSpan Elapsed) collected = default;
        (RadioactivityReport? Report, string? Unavailable) read = default;
        var readingOptions = new AuditOptions { Parameters = options.Parameters with { PayloadBuckets = 1 }, Decoys = options.Decoys, DecoySeed = options.DecoySeed };
        var readAtAll = readingTokens > 0 && readingTexts.Any();
        if (quiet)
        {
            collected = await probe.CollectAsync(probeTexts, maxTokens, cancellationToken: cancellationToken);
            if (readAtAll)
            {
                read = await reader.AuditAsync(readingTexts, readingTokens, key, readingOptions, model, cancellationToken: cancellationToken);
            }
        }
        else
        {
            await AnsiConsole.Progress().StartAsync(async context =>
            {
                var task = context.AddTask($"probing {Markup.Escape(model)}", maxValue: probeTexts.Count);
                collected = await probe.CollectAsync(probeTexts, maxTokens, done => task.Value = done, cancellationToken);
                if (readAtAll)
                {
                    var reading = context.AddTask("reading mode", maxValue: 1);
                    read = await reader.AuditAsync(readingTexts, readingTokens, key, readingOptions, model, (done, total) => (reading.MaxValue, reading.Value) = (total, done), cancellationToken);
                }
            });
            AnsiConsole.MarkupLine($"{collected.Failed} of {probeTexts.Count} probes failed");
        }

        var report = RadioactivityAudit.Run(collected.Samples ?? [], key, options, model) with { CollectionSeconds = collected.Elapsed.TotalSeconds };
        return report with { Reading = read.Report, ReadingUnavailable = readAtAll ? read.Unavailable : readingTokens <= 0 ? "skipped (--reading-tokens 0)" : "no watermarked text to read (pass --served or --reading)" };
    }
}
