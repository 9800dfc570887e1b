using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DistillGuard.Detection.Scoring;
using DistillGuard.Gateway.Hosting;
using DistillGuard.Gateway.Policy;
using DistillGuard.Lab.PolicyEvaluation;
using DistillGuard.Policy.Configuration;
using DistillGuard.Policy.Ladder;
using DistillGuard.Storage;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard policy replay|evaluate</c>: what the response ladder would do, and what it costs.</summary>
internal static class PolicyCommands
{
    public static Command Create() => new("policy", "The response ladder: replay it over recorded traffic, or measure its costs on simulated traffic.")
    {
        CreateReplay(),
        CreateEvaluate(),
    };

    private static Command CreateReplay()
    {
        var data = new Option<string>("--data") { Description = "Data directory whose usage.db and accounts.db to replay (default ./data).", DefaultValueFactory = _ => "./data" };
        var policy = new Option<FileInfo?>("--policy") { Description = "Policy file to try (default: the shipped policy)." };
        var json = new Option<bool>("--json") { Description = "Print the per-account results as JSON." };
        var command = new Command("replay", "Run a policy over recorded traffic and report what it would have done, without changing anything.") { data, policy, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (await LoadPolicyAsync(parse.GetValue(policy)) is not { } document)
            {
                return 2;
            }

            var directory = parse.GetValue(data)!;
            if (!File.Exists(Path.Combine(directory, "usage.db")))
            {
                await Console.Error.WriteLineAsync($"distillguard: no usage.db in {Path.GetFullPath(directory)}");
                return 1;
            }

            await using var storage = SqliteStorage.Open(directory, new StorageOptions(), TimeProvider.System, NullLoggerFactory.Instance);
            var accounts = (await storage.Accounts.ListAsync(cancellationToken)).ToDictionary(a => a.Id, StringComparer.Ordinal);
            var events = new List<UsageEvent>();
            await foreach (var e in storage.UsageEvents.ReadAsync(new UsageQuery(), cancellationToken))
            {
                events.Add(e);
            }

            var calibrationPath = Path.Combine(directory, DetectionCalibration.FileName);
            var calibration = File.Exists(calibrationPath) ? DetectionCalibration.Load(calibrationPath) : DetectionCalibration.LoadDefault() ?? new DetectionCalibration();
            var outcomes = PolicySimulation.Run(
                events,
                calibration,
                new PolicySimulationOptions { Policy = document, Allowlist = document.Allowlist.ToHashSet(StringComparer.Ordinal) },
                id => accounts.TryGetValue(id, out var a)
                    ? new ReplayAccount("recorded", false, a.Tier, a.Verified, a.Org, a.PaymentFingerprintHash, a.CreatedAt)
                    : new ReplayAccount("recorded", false, "standard", false));

            var rows = outcomes.Values.OrderByDescending(o => o.MaxBand).ThenByDescending(o => o.Requests).ToList();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(rows.Select(o => new
                {
                    accountId = o.AccountId,
                    maxBand = ActionLadder.Name(o.MaxBand),
                    requests = o.Requests,
                    requestsAtFirstBand = o.RequestsAtFirstBand,
                    degraded = o.Degraded,
                    throttled = o.Throttled,
                    refused = o.Refused,
                    wouldQueue = o.Queued,
                })));
                return 0;
            }

            var table = new Table().AddColumns("account", "max band", "requests", "at first band", "degraded", "throttled", "refused", "review queue");
            foreach (var o in rows)
            {
                table.AddRow(o.AccountId, ActionLadder.Name(o.MaxBand), o.Requests.ToString("N0", CultureInfo.InvariantCulture),
                    o.RequestsAtFirstBand?.ToString("N0", CultureInfo.InvariantCulture) ?? "–", o.Degraded.ToString("N0", CultureInfo.InvariantCulture),
                    o.Throttled.ToString("N0", CultureInfo.InvariantCulture), o.Refused.ToString("N0", CultureInfo.InvariantCulture), o.Queued ? "yes" : "");
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"{events.Count:N0} recorded requests of {outcomes.Count:N0} accounts replayed; nothing was changed.");
            return 0;
        });
        return command;
    }

    /// <summary>The policy file, or the shipped policy without one; null (with the reason on stderr) when the file is refused.</summary>
    private static async Task<PolicyDocument?> LoadPolicyAsync(FileInfo? file)
    {
        try
        {
            return file is null ? new PolicyDocument() : PolicyFile.Load(file.FullName);
        }
        catch (JsonConfigException e)
        {
            await Console.Error.WriteLineAsync($"distillguard: policy error: {e.Message}");
            return null;
        }
    }

    private static Command CreateEvaluate()
    {
        var seeds = SeedList.Option("--seeds", "21,22,23", "Simulator seeds to score (keep them apart from the calibration's seeds 1,2,3).");
        var scale = new Option<double>("--scale") { Description = "Simulated population scale.", DefaultValueFactory = _ => 1 };
        var days = new Option<double>("--days") { Description = "Simulated days per seed.", DefaultValueFactory = _ => 7 };
        var review = new Option<double>("--review-hours") { Description = "Also measure a setting where a human works the review queue after this many hours.", DefaultValueFactory = _ => 24 };
        var cadence = new Option<double>("--decision-minutes") { Description = "How often an active account's band may change (minutes of virtual time).", DefaultValueFactory = _ => 60 };
        var milestones = new Option<bool>("--milestones") { Description = "Also decide when an account's request count reaches a milestone (10, 14, 20, …), as the gateway does; --milestones false for hourly decisions only.", DefaultValueFactory = _ => true };
        var docs = new Option<string?>("--docs") { Description = "Write policy.md into this directory (e.g. docs)." };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var policyFile = new Option<FileInfo?>("--policy") { Description = "Policy file to measure (default: the shipped policy)." };
        var command = new Command("evaluate", "Measure the shipped policy (or --policy FILE) on simulated weeks: cost to legitimate users and to distillers.") { seeds, scale, days, review, cadence, milestones, docs, json, policyFile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var calibration = DetectionCalibration.LoadDefault();
            if (calibration is null)
            {
                await Console.Error.WriteLineAsync("distillguard: no shipped detection calibration in this build.");
                return 1;
            }

            var seedList = SeedList.Parse(parse.GetValue(seeds)!);
            var duration = TimeSpan.FromDays(parse.GetValue(days));
            if (await LoadPolicyAsync(parse.GetValue(policyFile)) is not { } policy)
            {
                return 2;
            }

            var results = new List<PolicyEvaluationResult>
            {
                PolicyEvaluator.Evaluate("automatic ladder only", policy, calibration, seedList, parse.GetValue(scale), duration, null, TimeSpan.FromMinutes(parse.GetValue(cadence)), Console.Error.WriteLine, decideAtMilestones: parse.GetValue(milestones)),
                PolicyEvaluator.Evaluate($"ladder + human review after {parse.GetValue(review):0} h", policy, calibration, seedList, parse.GetValue(scale), duration, TimeSpan.FromHours(parse.GetValue(review)), TimeSpan.FromMinutes(parse.GetValue(cadence)), Console.Error.WriteLine, decideAtMilestones: parse.GetValue(milestones)),
                PolicyEvaluator.Evaluate($"for comparison: accounts only, no campaign linking, human review after {parse.GetValue(review):0} h", policy, calibration, seedList, parse.GetValue(scale), duration, TimeSpan.FromHours(parse.GetValue(review)), TimeSpan.FromMinutes(parse.GetValue(cadence)), Console.Error.WriteLine, linkCampaigns: false, decideAtMilestones: parse.GetValue(milestones)),
            };

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(results.Select(r => new
                {
                    setting = r.Setting,
                    legitimateAffectedShare = r.LegitimateAffected.Rate,
                    legitimateAffectedUpper95 = r.LegitimateAffected.Upper,
                    legitimateSuspended = r.LegitimateSuspended,
                    attackTokensAsked = r.AttackTokensAsked,
                    attackTokensServed = r.AttackTokensServed,
                })));
            }
            else
            {
                foreach (var r in results)
                {
                    Console.WriteLine($"{r.Setting}: legitimate affected {r.LegitimateAffected.Rate:P3} (95 % ≤ {r.LegitimateAffected.Upper:P3}), legitimate suspended {r.LegitimateSuspended}, distillation tokens {r.AttackTokensServed:N0} of {r.AttackTokensAsked:N0} ({r.AttackReduction:0.0}× fewer)");
                }
            }

            if (parse.GetValue(docs) is { } directory)
            {
                Directory.CreateDirectory(directory);
                var commandLine = $"distillguard policy evaluate --seeds {parse.GetValue(seeds)} --scale {parse.GetValue(scale)} --days {parse.GetValue(days)} --review-hours {parse.GetValue(review)} --decision-minutes {parse.GetValue(cadence)}{(parse.GetValue(milestones) ? "" : " --milestones false")}{(parse.GetValue(policyFile) is { } f ? " --policy " + f.Name : "")} --docs {directory}";
                await File.WriteAllTextAsync(Path.Combine(directory, "policy.md"), PolicyEvaluator.Markdown(results, commandLine, calibration.Source, DateTimeOffset.UtcNow), cancellationToken);
            }

            return 0;
        });
        return command;
    }
}
