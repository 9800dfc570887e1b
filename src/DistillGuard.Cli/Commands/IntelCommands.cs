using System.CommandLine;
using System.Text.Json;
using DistillGuard.Detection.Campaigns;
using DistillGuard.Detection.Scoring;
using DistillGuard.Storage;
using DistillGuard.Storage.Usage;
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
