using System.CommandLine;
using DistillGuard.Detection.Calibration;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.Evaluation;
using DistillGuard.Lab.Simulation;
using DistillGuard.Storage;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard calibrate</c> and <c>distillguard evaluate</c>: fit the detector's benign reference and measure it honestly.</summary>
public static class DetectionCommands
{
    /// <summary>Creates <c>calibrate</c>.</summary>
    public static Command CreateCalibrate()
    {
        var data = new Option<string?>("--data") { Description = "Refit on this data directory's usage.db and write <data>/detection-calibration.json." };
        var simulated = new Option<bool>("--simulated") { Description = "Fit on simulated legitimate traffic instead (the shipped default)." };
        var seeds = SeedList.Option("--seeds", "1,2,3", "Simulator seeds for --simulated.");
        var scale = new Option<double>("--scale") { Description = "Simulated population scale.", DefaultValueFactory = _ => 1 };
        var days = new Option<double>("--days") { Description = "Simulated days per seed.", DefaultValueFactory = _ => 7 };
        var rareScale = new Option<double>("--rare-legit-scale") { Description = "With --simulated: account multiplier for rare legitimate archetypes (researchers, batch jobs, …).", DefaultValueFactory = _ => 1 };
        var output = new Option<string?>("--out") { Description = "Where to write the calibration (default: <data>/detection-calibration.json, or ./detection-calibration.json)." };
        var command = new Command("calibrate", "Fit the detection engine's benign reference and thresholds (FPR budgets 1e-3 review, 1e-4 friction).") { data, simulated, seeds, scale, days, rareScale, output };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dataDirectory = parse.GetValue(data);
            if (parse.GetValue(simulated) == (dataDirectory is not null))
            {
                await Console.Error.WriteLineAsync("Give exactly one of --data DIR or --simulated.");
                return 2;
            }

            DetectionCalibration calibration;
            if (dataDirectory is not null)
            {
                calibration = await FitOnDataAsync(dataDirectory, cancellationToken);
            }
            else
            {
                calibration = SimulatedCalibration.Fit(SeedList.Parse(parse.GetValue(seeds)!), seed => new ScenarioOptions
                {
                    Seed = seed,
                    Scale = parse.GetValue(scale),
                    Duration = TimeSpan.FromDays(parse.GetValue(days)),
                    AccountsPerArchetype = parse.GetValue(rareScale) == 1 ? null : DetectionEvaluation.ScaledCounts(parse.GetValue(scale), 1, parse.GetValue(rareScale)),
                }, Console.WriteLine).Calibration;
            }

            var path = parse.GetValue(output) ?? Path.Combine(dataDirectory ?? ".", DetectionCalibration.FileName);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            await using (var stream = File.Create(path))
            {
                calibration.Save(stream);
            }

            var all = calibration.ThresholdsFor(Cohorts.All);
            Console.WriteLine($"Wrote {path}: {calibration.References.Count} references from {calibration.ReferenceSnapshots:N0} snapshots; review S ≥ {all.Review:F2}, friction S ≥ {all.Friction:F2} ({all.Units:N0} held-out account-weeks).");
            return 0;
        });
        return command;
    }

    private static async Task<DetectionCalibration> FitOnDataAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        await using var storage = SqliteStorage.Open(dataDirectory, new StorageOptions(), TimeProvider.System, NullLoggerFactory.Instance);
        var profiles = (await storage.Accounts.ListAsync(cancellationToken)).ToDictionary(a => a.Id, a => new AccountProfile(a.Tier, a.Verified), StringComparer.Ordinal);
        var events = new List<UsageEvent>();
        await foreach (var e in storage.UsageEvents.ReadAsync(new UsageQuery(), cancellationToken))
        {
            events.Add(e);
        }

        if (events.Count == 0)
        {
            throw new InvalidOperationException($"{dataDirectory} holds no usage events to calibrate on.");
        }

        // The provider's traffic is taken as benign: accounts already known to be abusive should be removed first.
        var builder = new CalibrationBuilder();
        var engine = new DetectionEngine(new DetectionCalibration());
        foreach (var snapshot in TrafficReplay.Snapshots(engine, events, SimulatedCalibration.Tick, id => profiles.GetValueOrDefault(id)))
        {
            builder.Add(snapshot);
        }

        var start = events[0].Timestamp;
        return builder.Build($"recorded usage in {Path.GetFullPath(dataDirectory)}", DateTimeOffset.UtcNow, start);
    }

    /// <summary>Creates <c>evaluate</c>.</summary>
    public static Command CreateEvaluate()
    {
        var calibrationSeeds = SeedList.Option("--calibration-seeds", "1,2,3", "Seeds whose legitimate traffic calibrates the detector.");
        var seeds = SeedList.Option("--seeds", "11,12,13", "Seeds scored (must differ from the calibration seeds; at least 3 for the report).");
        var scale = new Option<double>("--scale") { Description = "Population scale.", DefaultValueFactory = _ => 1 };
        var attackerScale = new Option<double>("--attacker-scale") { Description = "Attacker account multiplier in scored scenarios.", DefaultValueFactory = _ => 4 };
        var rareScale = new Option<double>("--rare-legit-scale") { Description = "Account multiplier for rare legitimate archetypes (researchers, batch jobs, …) in scored scenarios.", DefaultValueFactory = _ => 1 };
        var calibrationRareScale = new Option<double>("--calibration-rare-legit-scale") { Description = "Account multiplier for rare legitimate archetypes in calibration scenarios.", DefaultValueFactory = _ => 1 };
        var days = new Option<double>("--days") { Description = "Simulated days per seed.", DefaultValueFactory = _ => 7 };
        var review = new Option<double>("--review-hours") { Description = "Cost of extraction: hours from an attacker's first flag until a reviewer closes its account.", DefaultValueFactory = _ => 24 };
        var docs = new Option<string?>("--docs") { Description = "Write detection.md and images/detection-*.png into this docs directory." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var accounts = new Option<bool>("--accounts") { Description = "With --json: list every scored account's outcome (large)." };
        var command = new Command("evaluate", "Calibrate on some simulator seeds, score on others: detection and false-flag rates with 95 % intervals, TPR at FPR 1e-4/1e-3/1e-2, harvest before the flag.")
        {
            calibrationSeeds, seeds, scale, attackerScale, rareScale, calibrationRareScale, days, review, docs, json, accounts,
        };
        command.SetAction(parse =>
        {
            var asJson = parse.GetValue(json);
            var report = DetectionEvaluation.Run(new EvaluationOptions
            {
                CalibrationSeeds = SeedList.Parse(parse.GetValue(calibrationSeeds)!),
                EvaluationSeeds = SeedList.Parse(parse.GetValue(seeds)!),
                Scale = parse.GetValue(scale),
                AttackerScale = parse.GetValue(attackerScale),
                RareLegitimateScale = parse.GetValue(rareScale),
                CalibrationRareLegitimateScale = parse.GetValue(calibrationRareScale),
                Duration = TimeSpan.FromDays(parse.GetValue(days)),
                ReviewDelay = TimeSpan.FromHours(parse.GetValue(review)),
                Progress = asJson ? null : Console.Error.WriteLine,
                IncludeAccounts = asJson && parse.GetValue(accounts),
            });
            var commandLine = "distillguard evaluate " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).SkipWhile(a => a != "evaluate").Skip(1));
            var markdown = DetectionReportWriter.Markdown(report, commandLine.Trim());
            if (parse.GetValue(docs) is { } directory)
            {
                EvaluationCharts.Write(report, Path.Combine(directory, "images"));
                var path = Path.Combine(directory, "detection.md");
                var head = File.Exists(path) ? File.ReadAllText(path) : "# Detection\n\n";
                var marker = head.IndexOf("## Measured results", StringComparison.Ordinal);
                var tail = marker >= 0 && head.IndexOf("\n## ", marker + 5, StringComparison.Ordinal) is var next and >= 0 ? head[(next + 1)..] : "";
                File.WriteAllText(path, (marker >= 0 ? head[..marker] : head + "\n") + markdown + (tail.Length > 0 ? "\n" + tail : ""));
            }

            Console.WriteLine(asJson ? DetectionReportWriter.Json(report) : markdown);
            return 0;
        });
        return command;
    }
}
