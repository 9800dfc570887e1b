using System.Globalization;
using System.Text;
using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.Evaluation;
using DistillGuard.Lab.Simulation;
using DistillGuard.Policy.Configuration;
using DistillGuard.Policy.Ladder;

namespace DistillGuard.Lab.PolicyEvaluation;

/// <summary>One archetype's cost under the policy.</summary>
public sealed record ArchetypePolicyResult(
    string Archetype,
    bool IsAttacker,
    int Accounts,
    long Requests,
    long Degraded,
    long Throttled,
    long Refused,
    long TokensAsked,
    long TokensServed,
    int ReachedReview,
    int ReachedFriction,
    int Suspended,
    double? MedianRequestsAtFirstBand,
    int InFlaggedCampaign = 0)
{
    public double AffectedShare => Requests == 0 ? 0 : (double)(Degraded + Throttled + Refused) / Requests;

    /// <summary>How many times fewer tokens the archetype received than without the policy.</summary>
    public double Reduction => TokensServed == 0 ? double.PositiveInfinity : (double)TokensAsked / TokensServed;
}

/// <summary>The policy's measured cost to legitimate users and to distillers, over several simulated weeks.</summary>
public sealed record PolicyEvaluationResult(
    string Setting,
    IReadOnlyList<int> Seeds,
    IReadOnlyList<ArchetypePolicyResult> Archetypes,
    BinomialInterval LegitimateAffected,
    int LegitimateSuspended,
    int LegitimateQueued,
    int LegitimateAccounts,
    long AttackTokensAsked,
    long AttackTokensServed)
{
    public double AttackReduction => AttackTokensServed == 0 ? double.PositiveInfinity : (double)AttackTokensAsked / AttackTokensServed;
}

/// <summary>Runs the policy over simulated weeks and writes <c>docs/policy.md</c>.</summary>
public static class PolicyEvaluator
{
    /// <summary>Evaluates <paramref name="policy"/> on scenarios of <paramref name="seeds"/> (keep them apart from the calibration's seeds).</summary>
    public static PolicyEvaluationResult Evaluate(string setting, PolicyDocument policy, DetectionCalibration calibration, IReadOnlyList<int> seeds, double scale, TimeSpan duration, TimeSpan? humanReviewDelay, TimeSpan decisionInterval, Action<string>? progress = null, bool linkCampaigns = true, bool decideAtMilestones = true)
    {
        var outcomes = new List<AccountOutcome>();
        foreach (var seed in seeds)
        {
            var scenario = new ScenarioOptions { Seed = seed, Scale = scale, Duration = duration };
            var run = PolicySimulation.RunScenario(scenario, calibration, new PolicySimulationOptions { Policy = policy, HumanReviewDelay = humanReviewDelay, DecisionInterval = decisionInterval, LinkCampaigns = linkCampaigns, DecideAtMilestones = decideAtMilestones });
            outcomes.AddRange(run.Values);
            progress?.Invoke($"{setting}: seed {seed}, {run.Count} accounts, {run.Values.Sum(o => o.Requests):N0} requests");
        }

        var archetypes = outcomes.GroupBy(o => o.Archetype).OrderBy(g => g.First().IsAttacker).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var attacker = g.First().IsAttacker;
            var reached = g.Where(o => o.RequestsAtFirstBand is not null).Select(o => (double)o.RequestsAtFirstBand!.Value).Order().ToList();
            return new ArchetypePolicyResult(
                g.Key,
                attacker,
                g.Count(),
                g.Sum(o => o.Requests),
                g.Sum(o => o.Degraded),
                g.Sum(o => o.Throttled),
                g.Sum(o => o.Refused),
                attacker ? g.Sum(o => o.AttackTokensAsked) : g.Sum(o => o.TokensAsked),
                attacker ? g.Sum(o => o.AttackTokensServed) : g.Sum(o => o.TokensServed),
                g.Count(o => o.MaxBand >= RiskBand.Review),
                g.Count(o => o.MaxBand >= RiskBand.Friction),
                g.Count(o => o.Suspended),
                reached.Count == 0 ? null : reached[reached.Count / 2],
                g.Count(o => o.InFlaggedCampaign));
        }).ToList();

        var legitimate = outcomes.Where(o => !o.IsAttacker).ToList();
        var affected = legitimate.Sum(o => o.Degraded + o.Throttled + o.Refused);
        var requests = legitimate.Sum(o => o.Requests);
        return new PolicyEvaluationResult(
            setting,
            seeds,
            archetypes,
            BinomialInterval.Of((int)affected, (int)requests),
            legitimate.Count(o => o.Suspended),
            legitimate.Count(o => o.Queued),
            legitimate.Count,
            outcomes.Where(o => o.IsAttacker).Sum(o => o.AttackTokensAsked),
            outcomes.Where(o => o.IsAttacker).Sum(o => o.AttackTokensServed));
    }

    /// <summary>The Markdown report for the results of one run.</summary>
    public static string Markdown(IReadOnlyList<PolicyEvaluationResult> results, string command, string calibrationSource, DateTimeOffset date)
    {
        var b = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        b.AppendLine("# Response policy: what it costs legitimate users and distillers");
        b.AppendLine();
        b.AppendLine(inv, $"Regenerated by `{command}` on {date:yyyy-MM-dd} (2-core reference machine). Every request of the simulated weeks is");
        b.AppendLine("replayed in virtual time through the same detector, ladder (`ActionLadder`) and token buckets the gateway runs;");
        b.AppendLine("decisions are taken at the top of each simulated hour (`--decision-minutes`) and as soon as an account's request count");
        b.AppendLine("reaches a milestone (10, 14, 20, 28, …; `--milestones`), as in the gateway. Refused requests");
        b.AppendLine("still reach the detector, as in the gateway. The licensed synthetic-data customer is allowlisted, as an analyst");
        b.AppendLine("would (its accounts still reach the review queue, so an analyst sees them). The shipped default policy is used: review band → watermark boost + reduced distillability");
        b.AppendLine("(answers capped at 512 tokens, reasoning stripped; logprobs and `n` kept) + review queue; friction band → also logprobs dropped, `n` capped at 1,");
        b.AppendLine("throttle and require verification; suspension only after a human approves. Accounts are linked into campaigns");
        b.AppendLine("([campaigns.md](campaigns.md)) and re-linked at each decision tick; a member's band is the higher of its own and its campaign's.");
        b.AppendLine();
        b.AppendLine(inv, $"Detector calibration: {calibrationSource}. Scored seeds: {string.Join(", ", results[0].Seeds)} — none of them used for calibration.");
        b.AppendLine();
        b.AppendLine("## Headline");
        b.AppendLine();
        b.AppendLine("| setting | legitimate requests affected (throttled, degraded or refused) | 95 % interval | legitimate accounts suspended | legitimate accounts sent to review | distillation tokens served / asked | reduction |");
        b.AppendLine("|---|---:|---|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            b.AppendLine(inv, $"| {r.Setting} | {r.LegitimateAffected.Successes:N0} / {r.LegitimateAffected.Trials:N0} = {Pct(r.LegitimateAffected.Rate)} | {Pct(r.LegitimateAffected.Lower)} – {Pct(r.LegitimateAffected.Upper)} | {r.LegitimateSuspended} | {r.LegitimateQueued} of {r.LegitimateAccounts:N0} | {r.AttackTokensServed:N0} / {r.AttackTokensAsked:N0} | {Times(r.AttackReduction)} |");
        }

        b.AppendLine();
        b.AppendLine("Targets: legitimate cost ≤ 0.1 % of requests and zero legitimate suspensions; ≥ 10× fewer tokens harvested than without policy.");
        foreach (var r in results)
        {
            b.AppendLine();
            b.AppendLine(inv, $"## Per archetype — {r.Setting}");
            b.AppendLine();
            b.AppendLine("| archetype | attacker | accounts | requests | degraded | throttled | refused | affected | reached review / friction | in a flagged campaign | suspended | median requests at first band | tokens served / asked | reduction |");
            b.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var a in r.Archetypes)
            {
                b.AppendLine(inv, $"| {a.Archetype} | {(a.IsAttacker ? "yes" : "no")} | {a.Accounts} | {a.Requests:N0} | {a.Degraded:N0} | {a.Throttled:N0} | {a.Refused:N0} | {Pct(a.AffectedShare)} | {a.ReachedReview} / {a.ReachedFriction} | {a.InFlaggedCampaign} | {a.Suspended} | {(a.MedianRequestsAtFirstBand is { } m ? m.ToString("N0", inv) : "–")} | {a.TokensServed:N0} / {a.TokensAsked:N0} | {Times(a.Reduction)} |");
            }
        }

        b.AppendLine();
        b.AppendLine("For attackers, tokens are the distillation requests' completion tokens only (a reseller's real customers are not");
        b.AppendLine("counted as harvest); for legitimate archetypes, all completion tokens. \"Degraded\" counts requests the reduction");
        b.AppendLine("actually changed (logprobs dropped, choices cut, or a choice's length capped), not every request of a reduced account.");
        b.AppendLine("\"In a flagged campaign\" counts accounts whose campaign's pooled traffic reached a band at some tick (for a");
        b.AppendLine("legitimate archetype, false links that mattered).");
        b.AppendLine();
        b.AppendLine("## Reading the results");
        b.AppendLine();
        b.AppendLine("- A legitimate request counts as affected when the ladder throttled it, refused it, or changed it (logprobs dropped,");
        b.AppendLine("  choices cut, length capped). Suspension is never automatic: in the \"human review\" setting an analyst works the");
        b.AppendLine("  queue after the delay and suspends attackers, clears legitimate accounts.");
        b.AppendLine("- Decisions are taken at the top of each simulated hour and at request-count milestones, exactly when the");
        b.AppendLine("  calibration took its snapshots (ADR 3, ADR 6). Looking at other moments inflates false flags, as three earlier");
        b.AppendLine("  versions showed (before the calibration looked at milestones too): a decision every minute degraded,");
        b.AppendLine("  throttled or refused 9.4 % of legitimate requests (2-day run of seed 21); an extra look as soon as an account had");
        b.AppendLine("  enough traffic to be scored, 5.1 % (seeds 21-23); hourly looks counted from each account's first request, 0 %");
        b.AppendLine("  (seeds 21-23) — a phase that merely happened to miss the eval researchers' bursts. The aligned cadence follows from");
        b.AppendLine("  how the thresholds were fitted, not from those runs.");
        b.AppendLine("- Legitimate cost, where there is any, comes from legitimate accounts the detector flags (the false-flag rates per");
        b.AppendLine("  archetype are in [detection.md](detection.md)): the review band only caps long answers and strips reasoning;");
        b.AppendLine("  logprobs and extra choices are dropped, and verification asked, only in the friction band (ADR 5); suspension");
        b.AppendLine("  needs a human.");
        b.AppendLine("- The reseller's accounts are attackers at the account level, so the refusals of their real customers' requests");
        b.AppendLine("  are not in the legitimate column; they are the collateral cost of suspending a reseller, visible in its row.");
        b.AppendLine("- Hydra fleets and resellers' account pools are caught as campaigns: linked by a shared card, a shared /24 with one");
        b.AppendLine("  template, or one template, client and sign-up burst, their pooled traffic is scored like one heavy account, and");
        b.AppendLine("  every member inherits the campaign's band (ADR 4). The comparison setting runs the same policy with linking off.");
        b.AppendLine("  A human reviews a campaign as a whole: approving suspends its core members; fringe members (tied by one kind of");
        b.AppendLine("  artifact only) get the campaign's band one lower and are never suspended with it.");
        b.AppendLine("- Single-account harvesters that reach the bands late (low-and-slow, timing-mimic, paraphrasing) harvest most of");
        b.AppendLine("  what they get before their first band or during the review delay; campaigns cannot help them (one account each).");
        b.AppendLine("- The request-path cost of the decisions (target ≤ 20 µs at p99) is measured by BenchmarkDotNet, not by this");
        b.AppendLine("  replay: see [benchmarks.md](benchmarks.md#per-call-percentiles) (`--filter '*PolicyPercentileBenchmarks*'`).");
        return b.ToString();
    }

    private static string Pct(double rate) => (rate * 100).ToString(rate < 0.01 ? "0.000" : "0.0", CultureInfo.InvariantCulture) + " %";

    private static string Times(double ratio) => double.IsPositiveInfinity(ratio) ? "∞ (nothing served)" : ratio.ToString("0.0", CultureInfo.InvariantCulture) + "×";
}
