using System.CommandLine;
using System.Text.Json;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Scoring;
using DistillGuard.Gateway.ThreatIntel;
using DistillGuard.Lab.Intel;
using DistillGuard.Storage;
using DistillGuard.Storage.ThreatIntel;
using DistillGuard.Storage.Usage;
using DistillGuard.ThreatIntel.Exchange;
using DistillGuard.ThreatIntel.Indicators;
using DistillGuard.ThreatIntel.Signing;
using DistillGuard.ThreatIntel.Stix;
using DistillGuard.Usage;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard intel export|import|pull</c>: share distillation indicators with partner providers (STIX 2.1 over TAXII 2.1).</summary>
internal static class IntelCommands
{
    public static Command Create() => new("intel", "Share distillation indicators with partner providers: STIX 2.1 bundles, signed, over TAXII 2.1.")
    {
        CreateExport(),
        CreateImport(),
        CreatePull(),
        CreateEvaluate(),
    };

    private static Command CreateExport()
    {
        var data = new Option<string>("--data") { Description = "Data directory whose usage.db and accounts.db to read (default ./data); keys live in <data>/intel/.", DefaultValueFactory = _ => "./data" };
        var output = new Option<string?>("--out") { Description = "Write the bundle here (canonical JSON) and its detached signature to <FILE>.sig; default: the bundle on stdout." };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary (bundle id, signature, counts) instead of text." };
        var tlp = new Option<string>("--tlp") { Description = "TLP 2.0 marking of the indicators: clear, green, amber, amber+strict, red.", DefaultValueFactory = _ => "amber" };
        var partner = new Option<string?>("--partner") { Description = "Pseudonymise ids for this partner, so that two partners cannot join their feeds on our identifiers." };
        var producer = new Option<string>("--producer") { Description = "The producer name in the identity object.", DefaultValueFactory = _ => "DistillGuard provider" };
        var command = new Command("export", "Turn the campaigns and flagged accounts of recorded traffic into a signed STIX 2.1 bundle (no prompt text, key, account id or address leaves).") { data, output, json, tlp, partner, producer };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var directory = parse.GetValue(data)!;
            if (!File.Exists(Path.Combine(directory, "usage.db")))
            {
                await Console.Error.WriteLineAsync($"distillguard: no usage.db in {Path.GetFullPath(directory)}");
                return 1;
            }

            var level = Tlp.Parse(parse.GetValue(tlp)!);
            var operators = await ReplayAsync(directory, cancellationToken);
            using var keys = ProducerKeys.LoadOrCreate(directory);
            var bundle = IndicatorExport.Build(operators, keys.Sharing, new IndicatorExportOptions
            {
                IdSecret = keys.IdSecret,
                Partner = parse.GetValue(partner),
                ProducerName = parse.GetValue(producer)!,
                Tlp = level,
            }, DateTimeOffset.UtcNow);
            var bytes = StixJson.Canonical(bundle);
            var signature = keys.Signing.SignDetached(bytes);
            var indicators = bundle.Objects.Count(o => o.TryGetProperty("type", out var t) && t.ValueEquals("indicator"));
            if (parse.GetValue(output) is { } path)
            {
                await File.WriteAllBytesAsync(path, bytes, cancellationToken);
                await File.WriteAllTextAsync(path + ".sig", signature + "\n", cancellationToken);
            }
            else if (!parse.GetValue(json))
            {
                await using var stdout = Console.OpenStandardOutput();
                await stdout.WriteAsync(bytes, cancellationToken);
                await stdout.FlushAsync(cancellationToken);
                Console.WriteLine();
                await Console.Error.WriteLineAsync($"signature: {signature}");
                return 0;
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["bundle"] = bundle.Id,
                    ["out"] = parse.GetValue(output),
                    ["signature"] = signature,
                    ["keyId"] = keys.Signing.KeyId,
                    ["sharingKeyId"] = keys.Sharing.KeyId,
                    ["objects"] = bundle.Objects.Count,
                    ["indicators"] = indicators,
                    ["tlp"] = Tlp.Name(level),
                }));
            }
            else
            {
                Console.WriteLine($"Wrote {parse.GetValue(output)} ({bytes.Length:N0} bytes, {bundle.Objects.Count} objects, {indicators} indicators, TLP:{Tlp.Name(level).ToUpperInvariant()}) and its signature (key {keys.Signing.KeyId}).");
            }

            return 0;
        });
        return command;
    }

    private static Command CreateImport()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "A STIX 2.1 bundle (JSON) signed by the partner." };
        var signature = new Option<FileInfo?>("--signature") { Description = "The detached signature (default FILE.sig)." };
        var key = new Option<FileInfo>("--key") { Description = "The partner's ECDSA P-256 public key (PEM).", Required = true };
        var partner = new Option<string>("--partner") { Description = "Our name for the partner (its trust level is that of the registered partner with this id, else medium).", Required = true };
        var data = new Option<string>("--data") { Description = "Data directory (default ./data).", DefaultValueFactory = _ => "./data" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("import", "Import a partner's signed STIX bundle; unsigned, badly signed or malformed bundles are refused and nothing is imported.") { file, signature, key, partner, data, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            var bytes = await File.ReadAllBytesAsync(path.FullName, cancellationToken);
            var sigPath = parse.GetValue(signature)?.FullName ?? path.FullName + ".sig";
            var sig = File.Exists(sigPath) ? (await File.ReadAllTextAsync(sigPath, cancellationToken)).Trim() : null;
            var partnerKey = VerificationKey.FromPem(await File.ReadAllTextAsync(parse.GetValue(key)!.FullName, cancellationToken));
            IReadOnlyList<ImportedObject> objects;
            try
            {
                objects = SignedContent.Verify(bytes, sig, partnerKey, "bundle");
            }
            catch (IntelRejectedException e)
            {
                await Console.Error.WriteLineAsync($"distillguard: refused ({e.Code}), nothing imported: {e.Message}");
                return 3;
            }

            await using var store = SqliteIntelStore.Open(parse.GetValue(data)!, TimeProvider.System, NullLogger.Instance);
            var added = await store.AddObjectsAsync(IntelCollections.Imported, parse.GetValue(partner)!, [.. objects.Select(o => (o.Id, o.Type, o.Version, o.Json))], cancellationToken);
            var indicators = objects.Count(o => o.Type == "indicator");
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["objects"] = objects.Count, ["indicators"] = indicators, ["newVersions"] = added.Count }));
            }
            else
            {
                Console.WriteLine($"Imported {objects.Count} objects ({indicators} indicators, {added.Count} new versions) from {parse.GetValue(partner)}.");
            }

            return 0;
        });
        return command;
    }

    private static Command CreatePull()
    {
        var url = new Option<Uri>("--url") { Description = "The partner's TAXII 2.1 collection URL (…/taxii2/api/collections/{id}/).", Required = true };
        var token = new Option<string?>("--token") { Description = "Our bearer token at the partner (default: environment variable DISTILLGUARD_PARTNER_TOKEN)." };
        var key = new Option<FileInfo>("--key") { Description = "The partner's ECDSA P-256 public key (PEM): every page must carry its signature.", Required = true };
        var partner = new Option<string>("--partner") { Description = "Our name for the partner.", Required = true };
        var limit = new Option<int>("--limit") { Description = "Objects per page.", DefaultValueFactory = _ => 500 };
        var data = new Option<string>("--data") { Description = "Data directory (default ./data).", DefaultValueFactory = _ => "./data" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var command = new Command("pull", "Poll a partner's TAXII 2.1 collection for what it added since the last pull (resumes where it stopped).") { url, token, key, partner, limit, data, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var bearer = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("DISTILLGUARD_PARTNER_TOKEN");
            if (string.IsNullOrEmpty(bearer))
            {
                await Console.Error.WriteLineAsync("distillguard: give --token or set DISTILLGUARD_PARTNER_TOKEN.");
                return 2;
            }

            var partnerKey = VerificationKey.FromPem(await File.ReadAllTextAsync(parse.GetValue(key)!.FullName, cancellationToken));
            await using var store = SqliteIntelStore.Open(parse.GetValue(data)!, TimeProvider.System, NullLogger.Instance);
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            PullResult result;
            try
            {
                result = await new TaxiiPuller(http, store).PullAsync(parse.GetValue(url)!, bearer, partnerKey, parse.GetValue(partner)!, parse.GetValue(limit), cancellationToken);
            }
            catch (Exception e) when (e is TaxiiPullException or HttpRequestException)
            {
                await Console.Error.WriteLineAsync($"distillguard: {e.Message}");
                return 3;
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["pages"] = result.Pages,
                    ["objects"] = result.Objects,
                    ["newVersions"] = result.NewVersions,
                    ["resumedFrom"] = result.AddedAfter?.ToString("O"),
                    ["cursor"] = result.Cursor?.ToString("O"),
                }));
            }
            else
            {
                Console.WriteLine($"Pulled {result.Objects} objects in {result.Pages} page(s), {result.NewVersions} new versions; next pull resumes after {result.Cursor?.ToString("O") ?? "the start"}.");
            }

            return 0;
        });
        return command;
    }

    private static Command CreateEvaluate()
    {
        var seeds = SeedList.Option("--seeds", "21,22,23", "Seeds of provider A's traffic (B's population is seed + 1000, the matcher's null seed + 2000; the detector's calibration is the shipped one, seeds 1-3).");
        var days = new Option<double>("--days") { Description = "Simulated days per provider.", DefaultValueFactory = _ => 3 };
        var scale = new Option<double>("--scale") { Description = "Simulated population scale.", DefaultValueFactory = _ => 0.5 };
        var campaign = new Option<string>("--campaign") { Description = "The simulated campaign that moves from A to B.", DefaultValueFactory = _ => "hydra-1" };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var command = new Command("evaluate", "Two providers in one run: how much sooner B flags an operator that moves from A, with A's indicators, and B's false matches.") { seeds, days, scale, campaign, json };
        command.SetAction(parse =>
        {
            var calibration = DetectionCalibration.LoadDefault() ?? new DetectionCalibration();
            var results = new List<ExchangeResult>();
            foreach (var seed in SeedList.Parse(parse.GetValue(seeds)!))
            {
                var result = IntelExchangeEvaluation.Run(new IntelExchangeOptions
                {
                    Seed = seed,
                    Duration = TimeSpan.FromDays(parse.GetValue(days)),
                    Scale = parse.GetValue(scale),
                    Campaign = parse.GetValue(campaign)!,
                }, calibration);
                results.Add(result);
                if (!parse.GetValue(json))
                {
                    Console.WriteLine(IntelExchangeEvaluation.Describe(result));
                }
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(results.Select(r => new Dictionary<string, object?>
                {
                    ["seed"] = r.Seed,
                    ["aFlaggedOperators"] = r.AFlaggedOperators,
                    ["indicators"] = r.Indicators,
                    ["bundleBytes"] = r.BundleBytes,
                    ["leaks"] = r.Leaks,
                    ["withoutRequests"] = r.Without.Requests,
                    ["withoutHours"] = r.Without.Hours,
                    ["withRequests"] = r.With.Requests,
                    ["withHours"] = r.With.Hours,
                    ["legitimateFlaggedWithout"] = r.Without.LegitimateFlagged,
                    ["legitimateFlaggedWith"] = r.With.LegitimateFlagged,
                    ["legitimateMatched"] = r.With.LegitimateMatched,
                    ["legitimateAccounts"] = r.With.LegitimateAccounts,
                })));
            }

            return 0;
        });
        return command;
    }

    /// <summary>The operators a replay of the data directory's traffic flags.</summary>
    private static async Task<IReadOnlyList<FlaggedOperator>> ReplayAsync(string directory, CancellationToken cancellationToken)
    {
        await using var storage = SqliteStorage.Open(directory, new StorageOptions(), TimeProvider.System, NullLoggerFactory.Instance);
        var identities = (await storage.Accounts.ListAsync(cancellationToken))
            .ToDictionary(a => a.Id, a => new CampaignIdentity(a.Id, a.Org, a.Tier, a.Verified, a.PaymentFingerprintHash, a.CreatedAt), StringComparer.Ordinal);
        var events = new List<UsageEvent>();
        await foreach (var e in storage.UsageEvents.ReadAsync(new UsageQuery(), cancellationToken))
        {
            events.Add(e);
        }

        events.Sort(static (a, b) => a.Timestamp.CompareTo(b.Timestamp));
        var calibrationPath = Path.Combine(directory, DetectionCalibration.FileName);
        var calibration = File.Exists(calibrationPath) ? DetectionCalibration.Load(calibrationPath) : DetectionCalibration.LoadDefault() ?? new DetectionCalibration();
        return DetectionReplay.FlaggedOperators(events, identities, calibration);
    }
}
