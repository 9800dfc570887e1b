using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DistillGuard.Lab.Simulation;
using Spectre.Console;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard simulate</c>: generates labelled traffic as JSONL and/or replays it against a live gateway.</summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var seed = new Option<int>("--seed") { Description = "Scenario seed (default 1): the same seed gives the same traffic.", DefaultValueFactory = _ => 1 };
        var days = new Option<double>("--days") { Description = "Virtual days to simulate (default 7).", DefaultValueFactory = _ => 7 };
        var scale = new Option<double>("--scale") { Description = "Multiplies every archetype's account count (default 1).", DefaultValueFactory = _ => 1 };
        var output = new Option<FileInfo?>("--out") { Description = "Write the labelled events to this JSONL file." };
        var noAttackers = new Option<bool>("--benign-only") { Description = "Simulate legitimate archetypes only (for calibration)." };
        var resellerShare = new Option<double?>("--reseller-share") { Description = "Fix the resellers' distillation share (0-1; default 5/10/25/50 % by account)." };
        var live = new Option<string?>("--live") { Description = "Replay against a running gateway at this loopback URL (e.g. http://localhost:8080/)." };
        var adminToken = new Option<string?>("--admin-token") { Description = "Admin token for creating the accounts (default: DISTILLGUARD_ADMIN_TOKEN)." };
        var selfRegister = new Option<bool>("--self-register") { Description = "Use the gateway's self-registration instead of the admin API (serve --self-register)." };
        var maxRequests = new Option<int>("--max-requests") { Description = "Requests to replay live (default 1000).", DefaultValueFactory = _ => 1000 };
        var compression = new Option<double>("--time-compression") { Description = "Live replay pace in virtual seconds per second (default 0: as fast as allowed)." };
        var concurrency = new Option<int>("--concurrency") { Description = "Live requests in flight (default 4).", DefaultValueFactory = _ => 4 };
        var naturalLengths = new Option<bool>("--natural-lengths") { Description = "Live: let the gateway's model decide each answer's length (the built-in teacher plans it from the request), instead of asking for the simulated answer's length with min_tokens." };
        var maxTokensCap = new Option<int?>("--max-tokens-cap") { Description = "Live: cap max_tokens per request (keeps replays against a slow model short)." };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON." };
        var heldOut = new Option<bool>("--held-out") { Description = "Add the held-out families (attackers and legitimate archetypes no detector was developed or calibrated on)." };
        var phrasings = new Option<string>("--phrasings") { Description = "Where templated prompts come from: simulator (default), wordnet (synonym and clause rewrites) or heldout (the committed held-out set).", DefaultValueFactory = _ => "simulator" };
        var only = new Option<string?>("--only") { Description = "Comma-separated archetypes to simulate, each optionally with its account count before --scale (naive-harvester=1,card-fleet=20); every other archetype gets none." };

        var command = new Command("simulate", "Generate labelled attacker and legitimate API traffic (virtual time) and optionally replay it live.")
        {
            seed, days, scale, output, noAttackers, resellerShare, live, adminToken, selfRegister, maxRequests, compression, concurrency, maxTokensCap, naturalLengths, json,
            heldOut, phrasings, only,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            ScenarioOptions options;
            try
            {
                options = new ScenarioOptions
                {
                    Seed = parse.GetValue(seed),
                    Duration = TimeSpan.FromDays(parse.GetValue(days)),
                    Scale = parse.GetValue(scale),
                    IncludeAttackers = !parse.GetValue(noAttackers),
                    ResellerDistillationShare = parse.GetValue(resellerShare),
                    IncludeHeldOut = parse.GetValue(heldOut),
                    Phrasings = TrafficSimulator.ParsePhrasings(parse.GetValue(phrasings)!),
                };
                if (parse.GetValue(only) is { } names)
                {
                    options.AccountsPerArchetype = OnlyArchetypes(names, options.IncludeHeldOut);
                }
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"distillguard: {e.Message}");
                return 2;
            }

            Uri? liveUri = null;
            if (parse.GetValue(live) is { } liveText
                && (!Uri.TryCreate(liveText, UriKind.Absolute, out liveUri) || liveUri.Scheme is not ("http" or "https")))
            {
                await Console.Error.WriteLineAsync($"distillguard: --live must be an absolute http(s) URL of the gateway (e.g. http://localhost:8080/), not '{liveText}'.");
                return 2;
            }

            var token = parse.GetValue(adminToken) ?? Environment.GetEnvironmentVariable("DISTILLGUARD_ADMIN_TOKEN");
            if (liveUri is not null && token is null && !parse.GetValue(selfRegister))
            {
                await Console.Error.WriteLineAsync("distillguard: --live needs --admin-token (or DISTILLGUARD_ADMIN_TOKEN) or --self-register.");
                return 2;
            }

            Summary summary;
            try
            {
                summary = Summarise(options, parse.GetValue(output)?.FullName);
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"distillguard: {e.Message}");
                return 2;
            }
            catch (IOException e)
            {
                await Console.Error.WriteLineAsync($"distillguard: cannot write: {e.Message}");
                return 1;
            }

            LiveTrafficResult? replay = null;
            if (liveUri is not null)
            {
                try
                {
                    replay = await LiveTrafficDriver.RunAsync(TrafficSimulator.Generate(options), new LiveTrafficOptions
                    {
                        Gateway = liveUri,
                        AdminToken = parse.GetValue(selfRegister) ? null : token,
                        SelfRegister = parse.GetValue(selfRegister),
                        MaxRequests = parse.GetValue(maxRequests),
                        TimeCompression = parse.GetValue(compression),
                        Concurrency = parse.GetValue(concurrency),
                        KeySeed = options.Seed,
                        MaxTokensCap = parse.GetValue(maxTokensCap),
                        ReplayAnswerLengths = !parse.GetValue(naturalLengths),
                    }, cancellationToken);
                }
                catch (Exception e) when (e is ArgumentException or HttpRequestException)
                {
                    await Console.Error.WriteLineAsync($"distillguard: live replay failed: {e.Message}");
                    return 1;
                }
            }

            if (parse.GetValue(json))
            {
                WriteJson(summary, replay);
            }
            else
            {
                WriteTable(summary, replay);
            }

            return replay is null || replay.StatusCounts.GetValueOrDefault(0) < replay.Sent ? 0 : 1;
        });
        return command;
    }

    /// <summary>Account counts that keep only the named archetypes (<c>name</c> at its default count, or <c>name=count</c>).</summary>
    internal static Dictionary<string, int> OnlyArchetypes(string names, bool includeHeldOut)
    {
        var keep = new Dictionary<string, int?>(StringComparer.Ordinal);
        foreach (var item in names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split('=', 2, StringSplitOptions.TrimEntries);
            int? count = null;
            if (parts.Length == 2)
            {
                if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var c) || c < 1)
                {
                    throw new ArgumentException($"--only: '{item}' needs a positive whole number of accounts after '='.");
                }

                count = c;
            }

            keep[parts[0]] = count;
        }

        if (keep.Count == 0)
        {
            throw new ArgumentException("--only needs at least one archetype name.");
        }

        foreach (var name in keep.Keys)
        {
            if (!TrafficSimulator.Archetypes.Contains(name))
            {
                throw new ArgumentException($"Unknown archetype '{name}'; the archetypes are {string.Join(", ", TrafficSimulator.Archetypes)}.");
            }

            if (!includeHeldOut && TrafficSimulator.HeldOutArchetypes.Contains(name))
            {
                throw new ArgumentException($"'{name}' is a held-out family: add --held-out.");
            }
        }

        var counts = TrafficSimulator.Archetypes.Where(a => !keep.ContainsKey(a)).ToDictionary(a => a, _ => 0, StringComparer.Ordinal);
        foreach (var (name, count) in keep)
        {
            if (count is { } c)
            {
                counts[name] = c;
            }
        }

        return counts;
    }

    private sealed record ArchetypeRow(string Name, bool Attacker, int Accounts, long Requests, long AttackRequests, long TokensOut);

    private sealed record Summary(int Seed, double Days, double Scale, IReadOnlyList<ArchetypeRow> Rows, long Events, TimeSpan Elapsed, string? Output);

    private static Summary Summarise(ScenarioOptions options, string? path)
    {
        var clock = Stopwatch.StartNew();
        var requests = new Dictionary<string, (long Requests, long Attack, long Tokens)>();
        long total = 0;
        IEnumerable<LabelledEvent> Counted()
        {
            foreach (var e in TrafficSimulator.Generate(options))
            {
                var (r, a, t) = requests.GetValueOrDefault(e.Archetype);
                requests[e.Archetype] = (r + 1, a + (e.IsAttacker ? 1 : 0), t + e.Event.CompletionTokens);
                total++;
                yield return e;
            }
        }

        if (path is null)
        {
            foreach (var _ in Counted())
            {
            }
        }
        else
        {
            LabelledEventJsonl.Write(Counted(), path);
        }

        var rows = TrafficSimulator.Archetypes
            .Where(name => options.IncludeHeldOut || !TrafficSimulator.HeldOutArchetypes.Contains(name))
            .Select(name =>
            {
                var (r, a, t) = requests.GetValueOrDefault(name);
                return new ArchetypeRow(name, TrafficSimulator.AttackerArchetypes.Contains(name), TrafficSimulator.AccountCount(name, options), r, a, t);
            })
            .ToList();
        return new Summary(options.Seed, options.Duration.TotalDays, options.Scale, rows, total, clock.Elapsed, path);
    }

    private static void WriteTable(Summary summary, LiveTrafficResult? replay)
    {
        var table = new Table().Title($"seed {summary.Seed}, {summary.Days:0.##} days, scale {summary.Scale:0.##}");
        table.AddColumn("archetype").AddColumn("label").AddColumn(new TableColumn("accounts").RightAligned())
            .AddColumn(new TableColumn("requests").RightAligned()).AddColumn(new TableColumn("distillation").RightAligned())
            .AddColumn(new TableColumn("tokens out").RightAligned());
        foreach (var row in summary.Rows)
        {
            table.AddRow(row.Name, row.Attacker ? "[red]attacker[/]" : "legitimate", N(row.Accounts), N(row.Requests), N(row.AttackRequests), N(row.TokensOut));
        }

        table.AddRow("[bold]total[/]", "", N(summary.Rows.Sum(r => r.Accounts)), N(summary.Events), N(summary.Rows.Sum(r => r.AttackRequests)), N(summary.Rows.Sum(r => r.TokensOut)));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"generated {N(summary.Events)} events in {summary.Elapsed.TotalSeconds:0.0} s{(summary.Output is null ? "" : $" → {Markup.Escape(summary.Output)}")}");
        if (replay is not null)
        {
            AnsiConsole.MarkupLine($"live: sent {N(replay.Sent)} requests for {N(replay.RequestsPerAccount.Count)} accounts in {replay.Elapsed.TotalSeconds:0.0} s; " +
                string.Join(", ", replay.StatusCounts.OrderBy(s => s.Key).Select(s => $"{(s.Key == 0 ? "failed" : s.Key.ToString(CultureInfo.InvariantCulture))}: {N(s.Value)}")));
            if (replay.Verdicts.Count > 0)
            {
                var verdicts = new Table().Title("the gateway's verdicts (admin API, after the replay)").AddColumns("archetype", "kind", "accounts", "flagged", "highest risk score");
                foreach (var group in replay.Verdicts.GroupBy(v => (v.Archetype, v.IsAttacker, v.Authorised)).OrderBy(g => g.Key.IsAttacker).ThenBy(g => g.Key.Archetype, StringComparer.Ordinal))
                {
                    var kind = group.Key.IsAttacker ? "[red]attacker[/]" : group.Key.Authorised ? "authorised" : "legitimate";
                    verdicts.AddRow(group.Key.Archetype, kind, N(group.Count()), N(group.Count(v => v.Flagged)),
                        group.Max(v => v.RiskScore).ToString("0.000", CultureInfo.InvariantCulture));
                }

                AnsiConsole.Write(verdicts);
                var attackers = replay.Verdicts.Where(v => v.IsAttacker).ToList();
                var legitimate = replay.Verdicts.Where(v => !v.IsAttacker && !v.Authorised).ToList();
                AnsiConsole.MarkupLine($"flagged: {N(attackers.Count(v => v.Flagged))} of {N(attackers.Count)} attacker accounts, {N(legitimate.Count(v => v.Flagged))} of {N(legitimate.Count)} legitimate; " +
                    $"with campaigns in the review band: {N(attackers.Count(v => v.FlaggedWithCampaign))} and {N(legitimate.Count(v => v.FlaggedWithCampaign))} " +
                    "(authorised customers apart: cleared by contract). A short replay is not the evaluation (docs/detection.md); accounts with fewer than 10 requests cannot be flagged.");
                WriteFlagged(replay);
            }

            if (replay.Parity.Count > 0)
            {
                var parity = new Table().Title("offline against live: the same replayed events (offline: shipped calibration, virtual time, flagged at any tick; live: the gateway after the replay)")
                    .AddColumns("archetype", "kind", "held out", "accounts", "flagged offline", "flagged live", "both", "live, with campaigns");
                foreach (var row in replay.Parity)
                {
                    parity.AddRow(row.Archetype, row.Kind, row.HeldOut ? "yes" : "", N(row.Accounts), N(row.OfflineFlagged), N(row.LiveFlagged), N(row.Both), N(row.LiveWithCampaign));
                }

                AnsiConsole.Write(parity);
            }
        }
    }

    /// <summary>Every flagged account, and every attacker account that was not, with the gateway's reasons.</summary>
    private static void WriteFlagged(LiveTrafficResult replay)
    {
        // Plain lines, not a table: reasons are sentences an analyst reads, and a table column would wrap them to shreds.
        AnsiConsole.MarkupLine("[bold]accounts flagged live, and attackers missed[/] (reasons from the admin API, largest first):");
        foreach (var v in replay.Verdicts.Where(v => v.Flagged || v.IsAttacker).OrderBy(v => !v.Flagged).ThenBy(v => v.Archetype, StringComparer.Ordinal).ThenBy(v => v.AccountId, StringComparer.Ordinal))
        {
            var kind = v.IsAttacker ? "attacker" : v.Authorised ? "authorised" : "[red]legitimate[/]";
            var campaign = v.CampaignId is null ? "" : $", campaign {Markup.Escape(v.CampaignId)}";
            AnsiConsole.MarkupLine($"  {(v.Flagged ? "[bold]FLAGGED[/]" : "missed ")} {Markup.Escape(v.AccountId)} ({Markup.Escape(v.Archetype)}, {kind}): {Markup.Escape(v.RiskLevel)}, risk {v.RiskScore.ToString("0.000", CultureInfo.InvariantCulture)}, {N(replay.RequestsPerAccount.GetValueOrDefault(v.AccountId))} requests sent{campaign}");
            foreach (var reason in v.Reasons.Take(3))
            {
                AnsiConsole.MarkupLine($"      {Markup.Escape(reason)}");
            }
        }
    }

    private static void WriteJson(Summary summary, LiveTrafficResult? replay)
    {
        using var stdout = Console.OpenStandardOutput();
        using var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteNumber("seed", summary.Seed);
        writer.WriteNumber("days", summary.Days);
        writer.WriteNumber("scale", summary.Scale);
        writer.WriteNumber("events", summary.Events);
        writer.WriteNumber("seconds", Math.Round(summary.Elapsed.TotalSeconds, 3));
        if (summary.Output is not null)
        {
            writer.WriteString("out", summary.Output);
        }

        writer.WriteStartArray("archetypes");
        foreach (var row in summary.Rows)
        {
            writer.WriteStartObject();
            writer.WriteString("name", row.Name);
            writer.WriteBoolean("attacker", row.Attacker);
            writer.WriteNumber("accounts", row.Accounts);
            writer.WriteNumber("requests", row.Requests);
            writer.WriteNumber("distillationRequests", row.AttackRequests);
            writer.WriteNumber("tokensOut", row.TokensOut);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (replay is not null)
        {
            writer.WriteStartObject("live");
            writer.WriteNumber("sent", replay.Sent);
            writer.WriteNumber("accounts", replay.RequestsPerAccount.Count);
            writer.WriteNumber("seconds", Math.Round(replay.Elapsed.TotalSeconds, 3));
            writer.WriteStartObject("statuses");
            foreach (var (status, count) in replay.StatusCounts.OrderBy(s => s.Key))
            {
                writer.WriteNumber(status == 0 ? "failed" : status.ToString(CultureInfo.InvariantCulture), count);
            }

            writer.WriteEndObject();
            writer.WriteStartArray("verdicts");
            foreach (var v in replay.Verdicts)
            {
                writer.WriteStartObject();
                writer.WriteString("account", v.AccountId);
                writer.WriteString("gatewayAccount", v.GatewayAccountId);
                writer.WriteString("archetype", v.Archetype);
                writer.WriteBoolean("attacker", v.IsAttacker);
                writer.WriteBoolean("authorised", v.Authorised);
                writer.WriteString("riskLevel", v.RiskLevel);
                writer.WriteBoolean("flagged", v.Flagged);
                writer.WriteNumber("riskScore", v.RiskScore);
                if (v.CampaignId is not null)
                {
                    writer.WriteString("campaignId", v.CampaignId);
                    writer.WriteString("campaignLevel", v.CampaignLevel);
                    if (v.CampaignEvidence is { } evidence)
                    {
                        writer.WriteNumber("campaignEvidence", evidence);
                    }
                }

                writer.WriteBoolean("flaggedWithCampaign", v.FlaggedWithCampaign);

                writer.WriteStartArray("reasons");
                foreach (var reason in v.Reasons)
                {
                    writer.WriteStringValue(reason);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("parity");
            foreach (var row in replay.Parity)
            {
                writer.WriteStartObject();
                writer.WriteString("archetype", row.Archetype);
                writer.WriteString("kind", row.Kind);
                writer.WriteBoolean("heldOut", row.HeldOut);
                writer.WriteNumber("accounts", row.Accounts);
                writer.WriteNumber("offlineFlagged", row.OfflineFlagged);
                writer.WriteNumber("liveFlagged", row.LiveFlagged);
                writer.WriteNumber("both", row.Both);
                writer.WriteNumber("liveWithCampaign", row.LiveWithCampaign);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("offline");
            foreach (var o in replay.Offline)
            {
                writer.WriteStartObject();
                writer.WriteString("account", o.AccountId);
                writer.WriteString("archetype", o.Archetype);
                writer.WriteBoolean("attacker", o.IsAttacker);
                writer.WriteNumber("requests", o.Requests);
                writer.WriteBoolean("flagged", o.FlaggedEver);
                writer.WriteBoolean("flaggedAtEnd", o.FlaggedAtEnd);
                writer.WriteNumber("maxEvidence", o.MaxEvidence);
                writer.WriteStartArray("reasons");
                foreach (var reason in o.Reasons)
                {
                    writer.WriteStringValue(reason);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.Flush();
        stdout.WriteByte((byte)'\n');
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
